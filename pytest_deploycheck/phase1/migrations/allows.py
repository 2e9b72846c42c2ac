"""Allow comments applied to the lint's issues: those they accept are dropped, and allow
comments that accept nothing, or cannot be read, become findings of their own."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_deploycheck.core.findings import Finding, Severity

from .applying import AppliedMigration
from .lint import Issue
from .settings import RULES


def apply_allows(
    applied: AppliedMigration, issues: Sequence[Issue]
) -> tuple[list[Issue], list[Finding]]:
    """Drop the issues an allow comment accepts; report the allow comments nothing used."""
    parsed = applied.parsed
    by_line = {statement.line: statement for statement in parsed.statements}
    used: set[tuple[int, str]] = set()
    kept: list[Issue] = []
    for issue in issues:
        accepted = False
        for allow in parsed.file_allows:
            if issue.rule in allow.rules:
                used.add((allow.line, issue.rule))
                accepted = True
        for line in issue.lines:
            statement = by_line.get(line)
            for allow in statement.allows if statement else ():
                if issue.rule in allow.rules:
                    used.add((allow.line, issue.rule))
                    accepted = True
        if not accepted:
            kept.append(issue)
    unused: list[Finding] = []
    migration = applied.migration
    every = [*parsed.file_allows, *(a for s in parsed.statements for a in s.allows)]
    for allow in sorted(every, key=lambda a: a.line):
        for rule in allow.rules:
            if rule not in RULES:
                message = (
                    f"allow comment names {rule!r}, which is not a rule of this check "
                    f"(rules look like migration-drop-column)"
                )
            elif (allow.line, rule) not in used:
                covers = "the file" if allow in parsed.file_allows else "the statement below it"
                message = (
                    f"allow comment for {rule} accepts nothing: {covers} does not trigger "
                    f"{rule}; remove the comment"
                )
            else:
                continue
            unused.append(
                Finding(
                    "migration-unused-allow", message, Severity.WARNING, migration.at(allow.line)
                )
            )
    for allow in parsed.stray:
        unused.append(
            Finding(
                "migration-unused-allow",
                f"allow comment for {', '.join(allow.rules)} is not followed by a statement; "
                f"put it on the line before the statement it accepts",
                Severity.WARNING,
                migration.at(allow.line),
            )
        )
    for line, body in parsed.unreadable:
        unused.append(
            Finding(
                "migration-unused-allow",
                f"cannot read {body!r}; write -- deploycheck: allow <rule> (reason)",
                Severity.WARNING,
                migration.at(line),
            )
        )
    return kept, unused

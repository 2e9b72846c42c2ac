"""The ``migrations`` check that ties discovery, applying, lint and the lock together.

A migrations folder holds ``NNNN_name.sql`` files that Cloudflare D1 (``wrangler d1
migrations apply``) runs in file-name order, each file as one batch. D1 itself checks none of
the following, so this check does, without an account and in milliseconds:

- every file in the folder is a migration, numbered from ``start`` with no gap or duplicate;
- every migration applies, statement by statement, to a fresh in-memory SQLite database with
  foreign keys on and each file in its own transaction, as on D1;
- no migration drops, renames or tightens what the deployed code relies on. This is decided
  by comparing the schema before and after each statement and each file (so D1's table
  rebuild, create-copy-drop-rename, is judged by its net effect), not by regexes.
  ``-- deploycheck: allow <rule> (reason)`` on the line before a statement accepts one
  knowingly; at the top of the file, followed by a blank line, it covers the whole file;
- no migration recorded in ``migrations.lock`` was edited, removed or preceded by a new one.

Pure functions do the work (``parse_sql``, ``check_numbering``, ``lint_migration``,
``compare_lock``); ``discover_migrations``, ``read_lock`` and ``write_lock`` touch files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.findings import Finding, Severity, apply_severities

from .allows import apply_allows
from .applying import MigrationRun, apply_migrations
from .discovery import Migration, check_numbering, discover_migrations
from .lint import lint_migration
from .lock import compare_lock, normalized_checksum, read_lock
from .settings import RULES, MigrationError, MigrationSettings


def check_migrations(section: Mapping[str, Any], root: Path) -> list[Finding]:
    """Run every migration rule over the project's migrations folder.

    ``section`` is the validated ``migrations`` section (defaults not filled in) and ``root``
    the folder of deployment-config.json. Migrations recorded unchanged in the lock file are
    in production already, so they are applied but not linted: what they change has happened.
    """
    settings = MigrationSettings.from_section(section, root)
    migrations, findings = discover_migrations(settings)
    if any(finding.rule == "migration-folder-missing" for finding in findings):
        return apply_severities(findings, settings.severities)
    if not migrations:
        where = settings.display(settings.folder)
        findings.append(
            Finding("migration-empty", f"no migrations in {where!r}", Severity.WARNING, where)
        )
    findings.extend(check_numbering(migrations, settings.start, settings.numbering))
    locked, lock_findings = _lock_state(settings, migrations)
    run = apply_migrations(
        migrations,
        foreign_keys=settings.foreign_keys,
        statement_timeout=settings.statement_timeout,
    )
    try:
        findings.extend(_lint_run(run, locked))
    finally:
        run.connection.close()
    if run.failure is not None:
        failure = run.failure
        if failure.statement is None:
            findings.append(
                Finding(
                    "migration-encoding",
                    failure.describe(),
                    Severity.ERROR,
                    failure.migration.location,
                )
            )
        else:
            findings.append(
                Finding(
                    "migration-apply",
                    f"{failure.describe()}; later migrations were not applied",
                    Severity.ERROR,
                    failure.migration.at(failure.statement.line),
                )
            )
    findings.extend(lock_findings)
    return apply_severities(findings, settings.severities)


def _lock_state(
    settings: MigrationSettings, migrations: Sequence[Migration]
) -> tuple[Mapping[str, str] | None, list[Finding]]:
    """The locked checksums (None without a usable lock file) and the lock's findings."""
    location = settings.display(settings.lock_file)
    try:
        locked = read_lock(settings.lock_file)
    except MigrationError as exc:
        return None, [Finding("migration-lock-invalid", str(exc), Severity.ERROR, location)]
    if locked is None:
        return None, [
            Finding(
                "migration-lock-missing",
                f"no {location}: edits to migrations that already reached production go "
                f"unnoticed; run `deploycheck migrations lock` and commit the file",
                Severity.INFO,
                location,
            )
        ]
    return locked, compare_lock(locked, migrations, location)


def _lint_run(run: MigrationRun, locked: Mapping[str, str] | None) -> list[Finding]:
    """Lint every applied migration that is not locked unchanged, then apply allow comments.

    With a lock file, only the tables that exist after the last locked migration hold
    production data; without one, every table that exists before a migration does.
    """
    findings: list[Finding] = []
    deployed: frozenset[str] | None = None if locked is None else frozenset()
    for applied in run.applied:
        migration = applied.migration
        if not applied.parsed.statements:
            findings.append(
                Finding(
                    "migration-empty",
                    f"{migration.name} holds no SQL statement; D1 records it as applied "
                    f"anyway, so fill it in before it is deployed",
                    Severity.WARNING,
                    migration.location,
                )
            )
        if locked is not None and locked.get(migration.name) == normalized_checksum(
            migration.content
        ):
            deployed = frozenset(applied.after)
            continue
        kept, unused = apply_allows(applied, lint_migration(applied, deployed))
        findings.extend(issue.finding(migration, RULES[issue.rule]) for issue in kept)
        findings.extend(unused)
    return findings

"""The entry points: ``diff_specs``, ``changelog`` and ``check_breaking``.

``diff_specs(base, head)`` walks both documents operation by operation and returns
:class:`Change` records with oasdiff-like rule ids (``api-removed-without-deprecation``,
``request-parameter-became-required``, ``response-property-became-nullable``, ...).
``changelog(base, head)`` returns the non-breaking changes, all INFO. Both come from one walk.
``check_breaking`` turns the changes into findings for the ``breaking`` config section.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.spec import Spec

from .base_spec import load_base
from .changes import Change
from .operations import _Differ
from .rules import RULES, Level

DEFAULT_FAIL_ON: Level = "ERR"
DEFAULT_CHANGELOG = False


def diff_specs(base: Spec, head: Spec, *, today: date | None = None) -> list[Change]:
    """The changes from ``base`` to ``head`` that may break clients, plus reviewer notes.

    ``today`` decides whether a deprecated operation's sunset date has passed.
    """
    changes = _Differ(base, head, today or date.today()).run()
    return [change for change in changes if not RULES[change.rule].changelog]


def changelog(base: Spec, head: Spec) -> list[Change]:
    """The non-breaking changes from ``base`` to ``head``, all INFO."""
    changes = _Differ(base, head, date.today()).run()
    return [change for change in changes if RULES[change.rule].changelog]


def check_breaking(
    head: Spec, section: Mapping[str, Any], root: Path, *, today: date | None = None
) -> list[Finding]:
    """Findings for the ``breaking`` config section: the head spec against its base.

    ERR changes are errors; WARN changes are warnings, or errors when ``fail_on`` is
    ``"WARN"``; INFO changes are info. ``rules`` sets a rule's level or turns it ``"off"``;
    a changelog rule named there is reported even when ``changelog`` is false. Raises
    SpecError when the base cannot be read and ConfigError for an unknown rule id.
    """
    overrides = _rule_overrides(section.get("rules") or {})
    ref = section.get("base")
    if not ref:
        message = (
            "no base spec to compare with, so no breaking change can be found: set "
            "breaking.base to a spec file or a git revision such as "
            "'origin/main:specs/openapi.yaml'"
        )
        return [Finding("breaking-no-base", message, Severity.INFO)]
    fail_on = str(section.get("fail_on", DEFAULT_FAIL_ON))
    with_changelog = bool(section.get("changelog", DEFAULT_CHANGELOG))
    base = load_base(str(ref), root)
    names = {"base": _display_name(base, root), "head": _display_name(head, root)}
    findings = []
    for change in _Differ(base, head, today or date.today()).run():
        level = overrides.get(change.rule, change.level)
        if level == "off":
            continue
        if RULES[change.rule].changelog and not with_changelog and change.rule not in overrides:
            continue
        message = f"{change.operation}: {change.message}" if change.operation else change.message
        location = f"{names[change.side]}{change.location}" if change.location else None
        findings.append(Finding(change.rule, message, _severity(level, fail_on), location))
    return findings


def _severity(level: str, fail_on: str) -> Severity:
    if level == "ERR" or (level == "WARN" and fail_on == "WARN"):
        return Severity.ERROR
    return Severity.WARNING if level == "WARN" else Severity.INFO


def _rule_overrides(rules: Mapping[str, Any]) -> dict[str, str]:
    problems = []
    for rule_id, level in rules.items():
        if rule_id not in RULES:
            close = difflib.get_close_matches(rule_id, list(RULES), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "see RULES in pytest_deploycheck.phase1.breaking"
            )
            problems.append(f"breaking.rules: unknown rule {rule_id!r}; {hint}")
        elif level not in ("ERR", "WARN", "INFO", "off"):
            problems.append(
                f"breaking.rules.{rule_id}: must be 'ERR', 'WARN', 'INFO' or 'off' (got {level!r})"
            )
    if problems:
        raise ConfigError(problems)
    return {str(rule_id): str(level) for rule_id, level in rules.items()}


def _display_name(spec: Spec, root: Path) -> str:
    """The spec's file relative to ``root``; a git base keeps its ``REV:PATH`` name."""
    if spec.source is None or not spec.source.is_file():
        return spec.name
    try:
        return spec.source.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return spec.name

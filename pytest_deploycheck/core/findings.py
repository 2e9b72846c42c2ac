"""What a check reports: findings with a rule id, a severity, a message and a location."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Finding", "Severity", "apply_severities", "failures", "format_findings"]


class Severity(StrEnum):
    """How much a finding matters. Only errors fail a check."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a check.

    ``rule`` is a stable id users can switch off or grep for (``operation-operationId``,
    ``migration-drop-column``). ``location`` points at the cause: ``specs/api.yaml:42``,
    ``migrations/0003_x.sql:7``, ``#/paths/~1users/get`` or an operation label.
    """

    rule: str
    message: str
    severity: Severity = Severity.ERROR
    location: str | None = None

    def redacted(self, redact: Callable[[str], str]) -> Finding:
        """A copy with ``redact`` applied to every text field: the location (an operation
        label, a served path) can quote a secret as well as the message can."""
        location = None if self.location is None else redact(self.location)
        return Finding(redact(self.rule), redact(self.message), self.severity, location)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity.value} [{self.rule}] {self.message}"


def failures(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that fail a check: those of severity error."""
    return [finding for finding in findings if finding.severity is Severity.ERROR]


def apply_severities(findings: Iterable[Finding], severities: Mapping[str, str]) -> list[Finding]:
    """Apply a family's ``rules`` setting: a new severity per rule id, or "off" to drop it."""
    result = []
    for finding in findings:
        override = severities.get(finding.rule)
        if override == "off":
            continue
        if override is not None:
            finding = Finding(finding.rule, finding.message, Severity(override), finding.location)
        result.append(finding)
    return result


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per finding, errors first, in a stable order."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    ranked = sorted(findings, key=lambda f: (order[f.severity], _natural(f.location), f.rule))
    return "\n".join(str(finding) for finding in ranked)


def _natural(location: str | None) -> tuple[str | int, ...]:
    """``api.yaml:50`` before ``api.yaml:427``: numbers compare as numbers."""
    parts = re.split(r"(\d+)", location or "")
    return tuple(int(part) if part.isdigit() else part for part in parts)

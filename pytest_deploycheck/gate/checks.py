"""A check, what running it produces, and the samples the score is made of.

``planners.plan_checks`` builds the list of ``Check``s for a config and a spec; the pytest
items and ``deploycheck pre-deploy`` both run that one list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_deploycheck.core.errors import CheckSkipped
from pytest_deploycheck.core.findings import Finding, Severity

if TYPE_CHECKING:
    from .session import DeployCheckSession

__all__ = ["Check", "Kind", "Outcome", "Sample", "skip_when_nothing_checked"]

# what the markers of a check's item are made of: (phase, round or None, family)
Kind = tuple[str, str | None, str]


def skip_when_nothing_checked(findings: list[Finding], rule: str) -> list[Finding]:
    """``findings``, unless their only one is the info ``rule`` saying there was nothing to
    check: then CheckSkipped with its message."""
    if len(findings) == 1 and findings[0].rule == rule and findings[0].severity is Severity.INFO:
        raise CheckSkipped(findings[0].message)
    return findings


@dataclass(frozen=True, slots=True)
class Sample:
    """One probe of an operation, the input of the deployment score: whether it succeeded,
    and its latency when an answer came (None for a timeout or a refused connection)."""

    label: str
    ok: bool
    latency_ms: float | None


@dataclass
class Outcome:
    """What running one check produced."""

    findings: list[Finding] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: a family, an optional parameter (an operation, a table...), and its runner."""

    family: str
    phase: str
    run: Callable[[DeployCheckSession], Outcome]
    param: str | None = None
    round: str | None = None

    @property
    def kind(self) -> Kind:
        return (self.phase, self.round, self.family)

    @property
    def name(self) -> str:
        return f"{self.family}[{self.param}]" if self.param else self.family

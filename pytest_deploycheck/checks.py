"""The check families and how a config and a spec expand into individual checks.

``plan_checks`` is the catalogue: for every family it decides, from the config and the spec,
which checks exist (one per operation, table, model, command, flow...), in which phase and
round they run, and what function runs them. The pytest items and ``deploycheck pre-deploy``
are both built from this one list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .findings import Finding

if TYPE_CHECKING:
    from .session import DeployCheckSession

__all__ = ["FAMILIES", "PHASES", "ROUNDS", "Check", "Outcome", "Sample", "plan_checks"]

PHASES = {
    "phase1": "before the deploy: static checks and the locally started service",
    "phase2": "after the deploy: health, availability, drift and TLS",
    "phase3": "after the deploy: contract, negative, stateful, smoke and performance",
}
ROUNDS = {
    "round1": "phase1 round 1: code quality and static analysis",
    "round2": "phase1 round 2: spec compliance and schema validation",
    "round3": "phase1 round 3: contract verification against the local service",
}
FAMILIES = {
    "static_analysis": "configured static analysis commands (ruff, mypy, tsc...)",
    "env": "required environment variables and their types",
    "bundle": "build artifact sizes",
    "openapi": "OpenAPI validity and lint rules",
    "breaking": "breaking changes against a base version of the spec",
    "migrations": "numbered SQL migrations: order, application, destructive changes, checksums",
    "database": "the migrated database schema against the spec's component schemas",
    "models": "code models (Pydantic, JSON Schema) against the spec's component schemas",
    "health": "the health endpoint: status, body and latency",
    "availability": "every operation answers without a 5xx, a timeout or a connection error",
    "drift": "the spec the service serves against the repository's spec",
    "tls": "the target's TLS certificate",
    "contract": "generated tests: responses conform to the spec",
    "negative": "generated invalid requests are rejected with a 4xx",
    "stateful": "link-driven sequences of requests",
    "smoke": "request flows declared in the config",
    "performance": "latency percentiles against thresholds",
}


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


@dataclass(frozen=True)
class Check:
    """One check: a family, an optional parameter (an operation, a table...), and its runner."""

    family: str
    phase: str
    run: Callable[[DeployCheckSession], Outcome]
    param: str | None = None
    round: str | None = None

    @property
    def name(self) -> str:
        return f"{self.family}[{self.param}]" if self.param else self.family


def plan_checks(session: DeployCheckSession) -> list[Check]:
    """Every check the config asks for, in phase and round order."""
    from . import families

    planned: list[Check] = []
    for planner in families.PLANNERS:
        planned.extend(planner(session))
    order = {phase: index for index, phase in enumerate(PHASES)}
    rounds = {name: index for index, name in enumerate(ROUNDS)}
    planned.sort(key=lambda c: (order[c.phase], rounds.get(c.round or "", 0)))
    return unique(iter(planned))


def unique(checks: Iterator[Check]) -> list[Check]:
    """Checks with distinct names per phase (parameters that collide get a numeric suffix)."""
    seen: dict[tuple[str, str], int] = {}
    result = []
    for check in checks:
        key = (check.phase, check.name)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            check = Check(
                check.family, check.phase, check.run, f"{check.param}#{count + 1}", check.round
            )
        result.append(check)
    return result

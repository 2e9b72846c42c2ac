"""Running checks outside pytest: ``deploycheck pre-deploy`` and ``deploycheck self-test``.

The same ``Check`` list that becomes pytest items runs here directly, round by round, with
events for a progress display.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pytest_deploycheck.core.errors import CheckSkipped, DeployCheckError
from pytest_deploycheck.core.findings import Finding, Severity, failures

from .checks import Check, Outcome

__all__ = ["CheckResult", "RoundResult", "run_checks", "run_rounds"]


@dataclass
class CheckResult:
    """A check that ran: its outcome, or the error that stopped it, and its duration."""

    check: Check
    outcome: Outcome
    seconds: float

    @property
    def errors(self) -> list[Finding]:
        return failures(self.outcome.findings)

    @property
    def passed(self) -> bool:
        return not self.errors


@dataclass
class RoundResult:
    """The checks of one round of phase1."""

    name: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)


def run_check(check: Check, session: object, clock: Callable[[], float]) -> CheckResult:
    """Run one check; a DeployCheckError becomes a failing finding, never a crash."""
    started = clock()
    try:
        outcome = check.run(session)  # type: ignore[arg-type]
    except DeployCheckError as exc:
        outcome = Outcome(findings=[Finding(f"{check.family}-error", str(exc))])
    except CheckSkipped as exc:
        outcome = Outcome(findings=[Finding(f"{check.family}-skipped", str(exc), Severity.INFO)])
    return CheckResult(check, outcome, clock() - started)


def run_checks(
    checks: Iterable[Check],
    session: object,
    *,
    on_start: Callable[[Check], None] = lambda _: None,
    on_done: Callable[[CheckResult], None] = lambda _: None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[CheckResult]:
    """Run checks one after another, reporting each start and end."""
    results = []
    for check in checks:
        on_start(check)
        result = run_check(check, session, clock)
        on_done(result)
        results.append(result)
    return results


def run_rounds(
    checks: Iterable[Check],
    session: object,
    *,
    stop_on_failure: bool = True,
    on_start: Callable[[Check], None] = lambda _: None,
    on_done: Callable[[CheckResult], None] = lambda _: None,
) -> list[RoundResult]:
    """Run phase1 round by round, stopping after the first round that fails."""
    by_round: dict[str, list[Check]] = {}
    for check in checks:
        if check.phase == "phase1":
            by_round.setdefault(check.round or "round1", []).append(check)
    rounds = []
    for name in sorted(by_round):
        round_result = RoundResult(
            name, run_checks(by_round[name], session, on_start=on_start, on_done=on_done)
        )
        rounds.append(round_result)
        if stop_on_failure and not round_result.passed:
            break
    return rounds

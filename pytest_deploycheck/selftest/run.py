"""A self-test run: the fixtures of the chosen families run through their checks and judged.

Each check family runs against fixtures shipped in ``fixtures/``: a known-good one,
on which it must pass, and one or more known-bad ones, on which it must fail *with the rule
that names the fault* (a bad fixture failing for another reason has not been caught). The
check functions are called directly, offline, with no config of the user's and no process
environment (the env family reads only its fixture's dotenv file).
"""

from __future__ import annotations

import contextlib
import difflib
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.families import FAMILIES
from pytest_deploycheck.core.findings import Finding, Severity, failures

from .catalogue import FIXTURES, _fixtures
from .model import Case, Got, _Context, _Fixture
from .service import _serve, _StockService

_DETAIL_LENGTH = 160


def _short(finding: Finding) -> str:
    first = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
    text = f"[{finding.rule}] {first}"
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 3] + "..."


def _judge(fixture: _Fixture, findings: Sequence[Finding]) -> tuple[Got, bool, str]:
    """What the check got on ``fixture``, whether that is right, and a one-line reason."""
    errors = failures(findings)
    got: Got = "fail" if errors else "pass"
    if fixture.expected == "pass":
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return got, False, f"fails on its good fixture: {_short(errors[0])}{more}"
        warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
        noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        return got, True, f"no error{noted}"
    wanted = ", ".join(fixture.rules)
    if not errors:
        return got, False, f"not caught: expected {wanted}, the check found no error"
    found = {f.rule for f in errors}
    missing = [rule for rule in fixture.rules if rule not in found]
    if missing:
        return (
            got,
            False,
            f"failed for another reason: expected {', '.join(missing)}, got {_short(errors[0])}",
        )
    caught = next(f for f in errors if f.rule in fixture.rules)
    return got, True, f"caught: {_short(caught)}"


def _run_one(fixture: _Fixture, ctx: _Context, clock: Callable[[], float]) -> Case:
    started = clock()
    try:
        findings = fixture.run(ctx)
    # a check that crashes no longer works: that is a FAIL row, never a crashed self-test
    except Exception as exc:  # noqa: BLE001
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        return Case(
            fixture.family,
            fixture.name,
            fixture.expected,
            "error",
            f"the check raised {reason}"[:_DETAIL_LENGTH],
            False,
            clock() - started,
        )
    got, passed, detail = _judge(fixture, findings)
    return Case(
        fixture.family, fixture.name, fixture.expected, got, detail, passed, clock() - started
    )


def _selected(families: Collection[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    unknown = [name for name in families if name not in FAMILIES]
    if unknown:
        problems = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(FAMILIES), n=1)
            hint = f" -> did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"--family {name!r} is not a check family{hint} Families: {', '.join(FAMILIES)}"
            )
        raise ConfigError(problems, source="deploycheck self-test")
    return [name for name in FAMILIES if name in families]


def run_self_test(
    families: Collection[str] | None = None,
    *,
    clock: Callable[[], float] = time.perf_counter,
    fixtures: Path = FIXTURES,
) -> list[Case]:
    """Run every fixture of ``families`` (default: all) through its check, in family order.

    ``clock`` times each case. A family without any fixture is a failing case, so a new
    family cannot go unchecked unnoticed. Raises ConfigError for an unknown family name.
    """
    chosen = _selected(families)
    plan = [fixture for fixture in _fixtures() if fixture.family in chosen]
    ctx = _Context(fixtures)
    cases: list[Case] = []
    with contextlib.ExitStack() as stack:
        if any(fixture.live for fixture in plan):
            service = _StockService(ctx.spec.document, time.sleep)
            ctx.base_url = stack.enter_context(_serve(service))
        by_family: dict[str, list[Case]] = {name: [] for name in chosen}
        for fixture in plan:
            by_family[fixture.family].append(_run_one(fixture, ctx, clock))
    for name in chosen:
        cases.extend(
            by_family[name]
            or [
                Case(
                    name,
                    "(none)",
                    "fail",
                    "error",
                    "no self-test fixture for this family: add a good and a bad one",
                    False,
                )
            ]
        )
    return cases


def self_test_passed(cases: Sequence[Case]) -> bool:
    """True when every case came out as expected (and there was at least one)."""
    return bool(cases) and all(case.passed for case in cases)

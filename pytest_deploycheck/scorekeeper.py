"""Turning the reports of phase2/phase3 items into a scored, stored deployment run.

The plugin feeds every test report to ``ScoreKeeper.add`` (on the xdist controller too: the
samples travel in the reports' user properties), then calls ``finish`` once. Failed items of
every phase are kept: the verdict names them, and the history stores them with the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.score.results import FailedItem, RunResult

from .items import CHECK_PROPERTY, FAILURES_PROPERTY, SAMPLES_PROPERTY

if TYPE_CHECKING:
    from pytest_deploycheck.score.analysis import Analysis

__all__ = ["CHECK_PROPERTY", "SAMPLES_PROPERTY", "ScoreKeeper", "ScoredRun"]

SCORED_PHASES = frozenset({"phase2", "phase3"})


@dataclass
class ScoredRun:
    """The run as recorded, with the analysis against the stored history."""

    run: RunResult
    analysis: Analysis | None
    stored: bool


@dataclass
class ScoreKeeper:
    """Collects samples and failed families from item reports of one pytest run."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _run: RunResult | None = None
    phases: set[str] = field(default_factory=set)
    _failed: set[str] = field(default_factory=set)
    failed_items: list[FailedItem] = field(default_factory=list)

    def add(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        properties: Iterable[Any],
        longrepr: str = "",
    ) -> None:
        """Record one report (setup, call or teardown) of a deploycheck item; ``longrepr`` is
        the report's text, the reason of a failure that is not a check's finding."""
        props = {p[0]: p[1] for p in properties if isinstance(p, tuple | list) and len(p) == 2}
        check = props.get(CHECK_PROPERTY)
        if not isinstance(check, str):
            return
        phase, _, family = check.partition(":")
        # a failing call and a failing teardown are one failed check
        newly_failed = outcome == "failed" and nodeid not in self._failed
        if newly_failed:
            self._failed.add(nodeid)
            self.failed_items.append(_failed_item(nodeid, family, props, longrepr))
        if phase not in SCORED_PHASES:
            return
        run = self._current()
        self.phases.add(phase)
        if when == "call" or outcome == "failed":
            for label, ok, latency in json.loads(props.get(SAMPLES_PROPERTY, "[]")):
                run.record(str(label), bool(ok), None if latency is None else float(latency))
        if newly_failed:
            run.fail_check(family)
            if family == "health":
                run.health_ok = False
            run.items.failed += 1
        elif when == "call" and outcome == "passed":
            run.items.passed += 1
            if family == "health" and run.health_ok is None:
                run.health_ok = True

    def _current(self) -> RunResult:
        if self._run is None:
            self._run = RunResult("pending", "pending", self.started_at, self.started_at)
        return self._run

    @property
    def has_results(self) -> bool:
        # a run that measured nothing (drift or contract alone) has no score to give
        return self._run is not None and (
            bool(self._run.operations) or self._run.health_ok is not None
        )

    def finish(self, session: DeployCheckSession, *, store_results: bool = True) -> ScoredRun:
        """Score the run, store it in the history, and analyse it against the past."""
        # imported here: scipy and SQLAlchemy cost every pytest start half a second
        from pytest_deploycheck.score.analysis import analyse, analyse_store, score_deployment
        from pytest_deploycheck.score.history import Deployment
        from pytest_deploycheck.score.scoring import ScoringSettings, score_run

        run = self._current()
        run.deploy_id = session.deployment_id
        redact = session.redactor.redact
        for item in self.failed_items:
            run.fail_item(
                FailedItem(redact(item.node_id), item.family, item.rule, redact(item.message))
            )
        run.phase = "+".join(sorted(self.phases)) or "phase2"
        run.finished_at = datetime.now(UTC)
        settings = ScoringSettings.from_config(session.section("scoring"))
        if not session.section("health").get("key", True):
            # health.key false: a failing health check is one failed check among others
            run.health_ok = None if run.health_ok is False else run.health_ok
            run.key_checks_failed = [f for f in run.key_checks_failed if f != "health"]
        if not store_results:
            deployment = Deployment(id=run.deploy_id, created_at=run.started_at)
            scored = score_deployment(deployment, run, settings)
            return ScoredRun(run, analyse([scored], settings), stored=False)
        store = session.history()
        run_score = score_run(run, settings)
        run_id = store.save_run(run, run_score, session.deployment_record())
        analysis = analyse_store(store, settings, deploy_id=run.deploy_id)
        if analysis.score.verdict is not run_score.verdict:
            # a regression against the previous deployment is known only once stored
            store.set_verdict(run_id, analysis.score.verdict.value)
        return ScoredRun(run, analysis, stored=True)


def _failed_item(nodeid: str, family: str, props: dict[str, Any], longrepr: str) -> FailedItem:
    """What a failed report says: the finding the item raised, else its report's first line."""
    found = props.get(FAILURES_PROPERTY)
    if isinstance(found, str):
        rule, message = json.loads(found)
        return FailedItem(nodeid, family, str(rule), str(message))
    lines = [line.strip() for line in longrepr.splitlines() if line.strip()]
    # a traceback's last line names the exception; a message has its point on the first
    first = next((line for line in reversed(lines) if line.startswith("E ")), None)
    message = (first[1:].strip() if first else lines[0] if lines else "failed")[:300]
    return FailedItem(nodeid, family, "error", message)

"""The three analyses of ``deploycheck report``.

1. This deployment: its components, score, band, verdict and worst operations.
2. Against the previous deployment, Kayenta-style: per operation a one-sided Mann-Whitney U
   test on the latency samples; a regression when p < ``scoring.regression_p`` and the median
   grew by more than ``scoring.regression_tolerance``. Plus score and component deltas. A
   regression fails the verdict (``scoring.fail_on_regression``).
3. The trend over the last 10 deployments: score and components per deployment, and a
   direction from the least-squares slope of the score, with a dead band.

Past deployments are scored again with today's settings, so a changed threshold does not
show up as a regression. Everything here is pure except :func:`analyse_store`, the one edge
that reads the history store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.core.stats import percentile

from .history import Deployment, HistoryStore
from .results import RunResult
from .scoring import (
    DEFAULT_SETTINGS,
    Band,
    Components,
    OperationScore,
    Score,
    ScoringSettings,
    Verdict,
    fail_on_regressions,
    score_run,
)

__all__ = [
    "TREND_DEAD_BAND",
    "TREND_WINDOW",
    "Analysis",
    "Change",
    "Comparison",
    "Direction",
    "OperationComparison",
    "ScoredDeployment",
    "Trend",
    "TrendPoint",
    "analyse",
    "analyse_store",
    "compare",
    "compare_latencies",
    "score_deployment",
    "trend",
    "worst_operations",
]

TREND_WINDOW = 10
# Score points per deployment under which the trend counts as stable: noise, not a change.
TREND_DEAD_BAND = 1.0
_WORST = 5


class Direction(StrEnum):
    """Where the score is heading over the trend window."""

    IMPROVING = "improving"
    STABLE = "stable"
    DEGRADING = "degrading"
    UNKNOWN = "unknown"  # fewer than 3 deployments: no line worth drawing


class Change(StrEnum):
    """What happened to one operation's latency since the previous deployment."""

    REGRESSION = "regression"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    TOO_FEW_SAMPLES = "too few samples"
    NEW = "new"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ScoredDeployment:
    """A deployment, everything measured for it, and its score."""

    deployment: Deployment
    result: RunResult
    score: Score


@dataclass(frozen=True, slots=True)
class OperationComparison:
    """One operation, this deployment against the previous one."""

    label: str
    change: Change
    current_samples: int
    previous_samples: int
    current_p50_ms: float | None
    current_p95_ms: float | None
    previous_p50_ms: float | None
    previous_p95_ms: float | None
    median_change: float | None  # fraction: 0.25 is 25 % slower
    p_value: float | None  # of the one-sided test; None when no test was needed

    @property
    def regression(self) -> bool:
        return self.change is Change.REGRESSION


@dataclass(frozen=True, slots=True)
class Comparison:
    """This deployment against the previous one."""

    previous_id: str
    score_delta: float
    availability_delta: float | None
    performance_delta: float | None
    stability_delta: float | None
    operations: tuple[OperationComparison, ...]

    @property
    def regressions(self) -> tuple[OperationComparison, ...]:
        return tuple(op for op in self.operations if op.regression)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One deployment in the trend."""

    deploy_id: str
    created_at: datetime
    score: float
    components: Components
    band: Band
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Trend:
    """The last deployments, oldest first, and where the score is heading."""

    points: tuple[TrendPoint, ...]
    slope: float | None  # score points per deployment
    direction: Direction


@dataclass(frozen=True, slots=True)
class Analysis:
    """The three analyses of one deployment."""

    deployment: Deployment
    score: Score
    worst: tuple[OperationScore, ...]
    comparison: Comparison | None
    trend: Trend
    settings: ScoringSettings


def score_deployment(
    deployment: Deployment, result: RunResult, settings: ScoringSettings = DEFAULT_SETTINGS
) -> ScoredDeployment:
    """Score ``result`` (all runs of ``deployment`` merged)."""
    return ScoredDeployment(deployment, result, score_run(result, settings))


def worst_operations(score: Score, limit: int = _WORST) -> tuple[OperationScore, ...]:
    """Up to ``limit`` operations that lost points, worst first: failing ones, then by
    performance, then by stability. Operations that lost nothing are left out."""

    def lost_points(op: OperationScore) -> bool:
        return not op.ok or (op.performance or 100.0) < 100.0 or (op.stability or 100.0) < 100.0

    ranked = sorted(
        (op for op in score.operations if lost_points(op)),
        key=lambda op: (
            op.ok,
            -op.failed_probes,
            100.0 if op.performance is None else op.performance,
            100.0 if op.stability is None else op.stability,
            op.label,
        ),
    )
    return tuple(ranked[:limit])


def compare_latencies(
    label: str,
    current: Sequence[float],
    previous: Sequence[float],
    settings: ScoringSettings = DEFAULT_SETTINGS,
) -> OperationComparison:
    """Compare one operation's latency samples with the previous deployment's."""
    if not current:
        change, p_value, median_change = Change.REMOVED, None, None
    elif not previous:
        change, p_value, median_change = Change.NEW, None, None
    else:
        change, p_value, median_change = _classify(current, previous, settings)
    return OperationComparison(
        label=label,
        change=change,
        current_samples=len(current),
        previous_samples=len(previous),
        current_p50_ms=percentile(current, 50) if current else None,
        current_p95_ms=percentile(current, 95) if current else None,
        previous_p50_ms=percentile(previous, 50) if previous else None,
        previous_p95_ms=percentile(previous, 95) if previous else None,
        median_change=median_change,
        p_value=p_value,
    )


def compare(
    current: ScoredDeployment,
    previous: ScoredDeployment,
    settings: ScoringSettings = DEFAULT_SETTINGS,
) -> Comparison:
    """This deployment against ``previous``: per-operation tests and component deltas."""
    labels = sorted(set(current.result.operations) | set(previous.result.operations))
    operations = tuple(
        compare_latencies(
            label,
            _latencies(current.result, label),
            _latencies(previous.result, label),
            settings,
        )
        for label in labels
    )
    now, before = current.score.components, previous.score.components
    return Comparison(
        previous_id=previous.deployment.id,
        score_delta=round(current.score.score - previous.score.score, 1),
        availability_delta=_delta(now.availability, before.availability),
        performance_delta=_delta(now.performance, before.performance),
        stability_delta=_delta(now.stability, before.stability),
        operations=operations,
    )


def trend(deployments: Sequence[ScoredDeployment]) -> Trend:
    """The trend of ``deployments`` given oldest first (at most the last 10 are used)."""
    window = list(deployments)[-TREND_WINDOW:]
    points = tuple(
        TrendPoint(
            deploy_id=item.deployment.id,
            created_at=item.deployment.created_at,
            score=item.score.score,
            components=item.score.components,
            band=item.score.band,
            verdict=item.score.verdict,
        )
        for item in window
    )
    if len(points) < 3:
        return Trend(points, None, Direction.UNKNOWN)
    slope = _slope([point.score for point in points])
    if slope > TREND_DEAD_BAND:
        direction = Direction.IMPROVING
    elif slope < -TREND_DEAD_BAND:
        direction = Direction.DEGRADING
    else:
        direction = Direction.STABLE
    return Trend(points, slope, direction)


def analyse(
    deployments: Sequence[ScoredDeployment], settings: ScoringSettings = DEFAULT_SETTINGS
) -> Analysis:
    """The three analyses. ``deployments`` is newest first: this one, then older ones."""
    if not deployments:
        raise ValueError("analyse() needs at least the current deployment")
    current = deployments[0]
    previous = deployments[1] if len(deployments) > 1 else None
    comparison = None if previous is None else compare(current, previous, settings)
    if comparison is not None:
        # a regression against the previous deployment is known only here, so this is
        # where it fails the verdict; the trend shows the same verdict as the headline
        regressions = [op.label for op in comparison.regressions]
        judged = fail_on_regressions(current.score, regressions, settings)
        current = ScoredDeployment(current.deployment, current.result, judged)
    return Analysis(
        deployment=current.deployment,
        score=current.score,
        worst=worst_operations(current.score),
        comparison=comparison,
        trend=trend([*reversed(deployments[1:TREND_WINDOW]), current]),
        settings=settings,
    )


def analyse_store(
    store: HistoryStore,
    settings: ScoringSettings = DEFAULT_SETTINGS,
    *,
    deploy_id: str | None = None,
    service: str | None = None,
) -> Analysis:
    """Read the current deployment (``deploy_id``, else the latest with a run) and up to 9
    before it that have runs (in its environment when it has one), and analyse them.

    ``service`` keeps to one service's deployments where the store holds several (by
    default the current deployment's service)."""
    if deploy_id is None:
        latest = store.deployments(1, with_runs=True, service=service)
        if not latest:
            of = f" of service {service!r}" if service is not None else ""
            raise HistoryError(
                f"history store {store.url} holds no deployment{of} with a run yet; run "
                "`pytest -m phase2 --deploycheck-base-url URL` or `deploycheck collect` first"
            )
        current = latest[0]
    else:
        current = store.deployment(deploy_id)
    older = store.deployments(
        TREND_WINDOW - 1,
        before=current.id,
        environment=current.environment,
        with_runs=True,
        service=service or current.service,
    )
    chosen = [current, *older]
    results = store.load_results([deployment.id for deployment in chosen])
    if current.id not in results:
        store.load_result(current.id)  # raises the "no run recorded yet" error
    scored = [score_deployment(d, results[d.id], settings) for d in chosen if d.id in results]
    return analyse(scored, settings)


def _classify(
    current: Sequence[float], previous: Sequence[float], settings: ScoringSettings
) -> tuple[Change, float | None, float | None]:
    """The change, its p-value and the relative change of the median, both samples given."""
    now, before = percentile(current, 50), percentile(previous, 50)
    median_change = (now - before) / before if before else None
    # The smallest p-value the exact test can reach: when even that is above the level, no
    # data could be significant, and "unchanged" would be a claim the test cannot make.
    if 1 / math.comb(len(current) + len(previous), len(current)) >= settings.regression_p:
        return Change.TOO_FEW_SAMPLES, None, median_change
    # Both conditions must hold, so the test runs only where the median moved beyond the
    # tolerance: a median within it is unchanged whatever the p-value (left as None).
    tolerance = settings.regression_tolerance
    if now > before * (1 + tolerance) and now - before >= settings.regression_min_ms:
        slower = _mann_whitney(current, previous, "greater")
        change = Change.REGRESSION if slower < settings.regression_p else Change.UNCHANGED
        return change, slower, median_change
    if now < before * (1 - tolerance):
        faster = _mann_whitney(current, previous, "less")
        change = Change.IMPROVED if faster < settings.regression_p else Change.UNCHANGED
        return change, faster, median_change
    return Change.UNCHANGED, None, median_change


def _latencies(result: RunResult, label: str) -> list[float]:
    samples = result.operations.get(label)
    return [] if samples is None else samples.latencies_ms


def _mann_whitney(current: Sequence[float], previous: Sequence[float], side: str) -> float:
    # scipy is imported here, not at module import: it costs a second and most commands never
    # compare deployments.
    from scipy.stats import mannwhitneyu

    p_value = float(mannwhitneyu(current, previous, alternative=side).pvalue)
    return 1.0 if math.isnan(p_value) else p_value


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _slope(values: Sequence[float]) -> float:
    xs = range(len(values))
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(values)
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True))
    denominator = sum((x - mean_x) ** 2 for x in xs)
    return numerator / denominator

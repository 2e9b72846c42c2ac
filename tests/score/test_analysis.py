"""The three analyses: this deployment, against the previous one, and the trend."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score.analysis import (
    TREND_WINDOW,
    Change,
    Direction,
    ScoredDeployment,
    analyse,
    analyse_store,
    compare_latencies,
    score_deployment,
    trend,
    worst_operations,
)
from pytest_deploycheck.score.history import Deployment, HistoryStore
from pytest_deploycheck.score.results import RunResult
from pytest_deploycheck.score.scoring import ScoringSettings, Thresholds, score_run

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def noisy(center: float, count: int = 30, seed: int = 1, spread: float = 0.05) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(center, center * spread) for _ in range(count)]


def run_with(deploy_id: str, latencies: dict[str, list[float]], failed: int = 0) -> RunResult:
    run = RunResult(deploy_id, "phase3", T0, T0, health_ok=True)
    for label, values in latencies.items():
        for index, value in enumerate(values):
            run.record(label, index >= failed, value)
    return run


def scored(
    deploy_id: str, latencies: dict[str, list[float]], hours: int = 0, failed: int = 0
) -> ScoredDeployment:
    deployment = Deployment(deploy_id, T0 + timedelta(hours=hours))
    return score_deployment(deployment, run_with(deploy_id, latencies, failed))


# -- against the previous deployment ------------------------------------------------------------


def test_a_significantly_slower_operation_is_a_regression_with_scipys_p_value() -> None:
    current, previous = noisy(150, seed=1), noisy(100, seed=2)
    result = compare_latencies("GET /a", current, previous)
    expected = mannwhitneyu(current, previous, alternative="greater").pvalue
    assert result.change is Change.REGRESSION
    assert result.regression
    assert result.p_value is not None
    assert result.p_value == pytest.approx(float(expected))
    assert result.p_value < 0.01
    assert result.median_change == pytest.approx(0.5, abs=0.05)
    assert (result.current_samples, result.previous_samples) == (30, 30)


def test_a_significant_change_within_the_tolerance_is_not_a_regression() -> None:
    current, previous = noisy(105, spread=0.005, seed=3), noisy(100, spread=0.005, seed=4)
    assert mannwhitneyu(current, previous, alternative="greater").pvalue < 1e-6
    result = compare_latencies("GET /a", current, previous)
    assert result.change is Change.UNCHANGED
    loose = compare_latencies(
        "GET /a",
        current,
        previous,
        ScoringSettings(regression_tolerance=0.02, regression_min_ms=2.0),
    )
    assert loose.change is Change.REGRESSION


def test_a_large_but_insignificant_change_is_not_a_regression() -> None:
    current = [100.0, 400.0, 90.0, 500.0, 95.0, 130.0]  # median 115 against 101
    previous = [100.0, 105.0, 98.0, 350.0, 102.0, 99.0]
    result = compare_latencies("GET /a", current, previous, ScoringSettings(regression_min_ms=2.0))
    assert result.median_change == pytest.approx((115 - 101) / 101)
    assert result.p_value is not None
    assert result.p_value == pytest.approx(
        mannwhitneyu(current, previous, alternative="greater").pvalue
    )
    assert result.p_value >= 0.01
    assert result.change is Change.UNCHANGED


def test_no_test_runs_while_the_median_stays_within_the_tolerance() -> None:
    result = compare_latencies("GET /a", noisy(104, seed=5), noisy(100, seed=6))
    assert (result.change, result.p_value) == (Change.UNCHANGED, None)


def test_faster_new_removed_and_too_few_samples() -> None:
    assert compare_latencies("a", noisy(50), noisy(100)).change is Change.IMPROVED
    assert compare_latencies("a", [100.0], []).change is Change.NEW
    assert compare_latencies("a", [], [100.0]).change is Change.REMOVED
    # 3 against 3: the exact test cannot go under 1/20, so no verdict at 0.01.
    few = compare_latencies("a", [900.0, 901.0, 902.0], [1.0, 2.0, 3.0])
    assert few.change is Change.TOO_FEW_SAMPLES
    assert few.median_change == pytest.approx((901 - 2) / 2)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(1, 1000), min_size=4, max_size=25),
    st.lists(st.floats(1, 1000), min_size=4, max_size=25),
)
def test_a_regression_always_means_a_median_beyond_the_tolerance(
    current: list[float], previous: list[float]
) -> None:
    result = compare_latencies("GET /a", current, previous)
    if result.regression:
        assert result.current_p50_ms is not None
        assert result.previous_p50_ms is not None
        assert result.current_p50_ms > result.previous_p50_ms * 1.1
        assert result.p_value is not None
        assert result.p_value < 0.01


def test_comparison_deltas() -> None:
    previous = scored("d1", {"GET /a": noisy(100), "GET /b": noisy(100)})
    current = scored("d2", {"GET /a": noisy(200), "GET /b": noisy(100, seed=9)}, failed=1)
    analysis = analyse([current, previous])
    comparison = analysis.comparison
    assert comparison is not None
    assert comparison.previous_id == "d1"
    assert [op.label for op in comparison.regressions] == ["GET /a"]
    assert comparison.availability_delta == pytest.approx(-100.0)
    assert comparison.score_delta == pytest.approx(
        current.score.score - previous.score.score, abs=0.05
    )


# -- this deployment -----------------------------------------------------------------------------


def test_worst_operations_put_failures_first_and_skip_perfect_ones() -> None:
    run = run_with(
        "d1",
        {
            "GET /ok": [10.0] * 4,
            "GET /slow": [1500.0] * 4,
            "GET /broken": [10.0] * 4,
            "GET /slower": [1900.0] * 4,
        },
    )
    run.operations["GET /broken"].outcomes[0] = False
    worst = worst_operations(score_run(run))
    assert [op.label for op in worst] == ["GET /broken", "GET /slower", "GET /slow"]
    assert worst_operations(score_run(run), limit=1)[0].label == "GET /broken"


def test_a_single_deployment_has_no_comparison_and_no_direction() -> None:
    analysis = analyse([scored("only", {"GET /a": [10.0, 11.0]})])
    assert analysis.comparison is None
    assert analysis.trend.direction is Direction.UNKNOWN
    assert [p.deploy_id for p in analysis.trend.points] == ["only"]


# -- the trend ----------------------------------------------------------------------------------


def deployments_scoring(scores: list[float]) -> list[ScoredDeployment]:
    """Deployments (oldest first) whose score is set through availability alone."""
    made = []
    for index, target in enumerate(scores):
        # 10 operations: the share that answers sets availability; latency is perfect.
        ok = round(target / 10)
        run = RunResult(f"d{index}", "phase3", T0, T0, health_ok=True)
        for op in range(10):
            run.record(f"GET /{op}", op < ok, 10.0)
            run.record(f"GET /{op}", True, 10.0)
        weights = ScoringSettings.from_config(
            {"weights": {"availability": 100, "performance": 0.001, "stability": 0.001}}
        )
        made.append(
            score_deployment(Deployment(f"d{index}", T0 + timedelta(hours=index)), run, weights)
        )
    return made


@pytest.mark.parametrize(
    ("scores", "direction"),
    [
        ([50, 60, 70, 80, 90], Direction.IMPROVING),
        ([90, 80, 70, 60, 50], Direction.DEGRADING),
        ([80, 80, 90, 80, 80, 80], Direction.STABLE),
        ([80, 90], Direction.UNKNOWN),
    ],
)
def test_trend_direction(scores: list[float], direction: Direction) -> None:
    result = trend(deployments_scoring(scores))
    assert result.direction is direction
    assert [p.score for p in result.points] == pytest.approx(scores, abs=0.1)


def test_the_trend_uses_the_last_ten_with_a_least_squares_slope() -> None:
    scores = [10.0] * 5 + [20, 30, 40, 50, 60, 70, 80, 90, 100]
    result = trend(deployments_scoring(scores))
    assert len(result.points) == TREND_WINDOW
    assert result.points[0].deploy_id == "d4"
    assert result.slope == pytest.approx(10.0 * 0.9, abs=1.5)  # a nearly straight climb


# -- from the store -----------------------------------------------------------------------------


def test_analyse_store_reads_the_latest_deployment_and_its_environment(tmp_path: Path) -> None:
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        with pytest.raises(HistoryError, match="holds no deployment with a run yet"):
            analyse_store(store)
        for index in range(12):
            deployment = Deployment(f"p{index}", T0 + timedelta(hours=index), environment="prod")
            store.save_run(
                run_with(f"p{index}", {"GET /a": noisy(100 + 100 * (index == 11), seed=index)}),
                deployment=deployment,
            )
        store.save_run(
            run_with("s1", {"GET /a": noisy(100)}),
            deployment=Deployment("s1", T0, environment="staging"),
        )
        store.record_deployment(Deployment("p-empty", T0, environment="prod"))

        with pytest.raises(HistoryError, match="'p-empty' has no run recorded yet"):
            analyse_store(store, deploy_id="p-empty")
        staging = analyse_store(store)
        assert staging.deployment.id == "s1"
        assert staging.comparison is None

        analysis = analyse_store(store, deploy_id="p11")
        assert analysis.deployment.id == "p11"
        assert analysis.comparison is not None
        assert analysis.comparison.previous_id == "p10"
        assert [op.label for op in analysis.comparison.regressions] == ["GET /a"]
        assert [p.deploy_id for p in analysis.trend.points] == [f"p{i}" for i in range(2, 12)]

        # Past deployments are re-scored with today's thresholds.
        strict = ScoringSettings(thresholds=Thresholds(10.0, 50.0))
        assert all(
            p.components.performance == 0.0
            for p in analyse_store(store, strict, deploy_id="p11").trend.points
        )


def test_a_significant_but_tiny_absolute_slowdown_is_noise() -> None:
    # 3 ms -> 4.5 ms: +50 % and significant, but a millisecond and a half is machine noise
    current, previous = [4.5 + i / 100 for i in range(30)], [3.0 + i / 100 for i in range(30)]
    assert compare_latencies("GET /fast", current, previous).change is Change.UNCHANGED
    strict = ScoringSettings(regression_min_ms=0.0)
    assert compare_latencies("GET /fast", current, previous, strict).change is Change.REGRESSION

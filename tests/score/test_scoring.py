"""The deployment score: DESIGN.md's definition, its settings, and its properties."""

from __future__ import annotations

import json
import random
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.score.results import FailedItem, OperationSamples, RunResult, merge_runs
from pytest_deploycheck.score.scoring import (
    Band,
    ScoringSettings,
    Thresholds,
    Verdict,
    Weights,
    band_for,
    fail_on_regressions,
    percentile,
    performance_points,
    score_run,
    split_windows,
    stability_points,
    window_medians,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SECTIONS = Path(__file__).resolve().parents[2] / "pytest_deploycheck" / "schemas" / "sections"


def run_of(
    operations: dict[str, tuple[list[bool], list[float]]], health_ok: bool | None = True
) -> RunResult:
    run = RunResult("d1", "phase3", T0, T0, health_ok=health_ok)
    for label, (outcomes, latencies) in operations.items():
        run.operations[label] = OperationSamples(label, list(outcomes), list(latencies))
    return run


# -- the definition ---------------------------------------------------------------------------


def steady(count: int = 9, latency: float = 100.0) -> tuple[list[bool], list[float]]:
    """``count`` successful probes all taking ``latency`` ms."""
    return [True] * count, [latency] * count


def failed_item(family: str, node: str = "cfg::phase3::x") -> FailedItem:
    return FailedItem(node, family, f"{family}-rule", "it broke")


def test_a_worked_example_matches_the_definition() -> None:
    run = run_of(
        {
            # all succeeded; p95 under target: 100 performance; flat windows: 100 stability
            "GET /a": steady(),
            # one probe failed; p95 1150 ms: half-way between 300 ms and 2 s
            "GET /b": ([True, False, True], [1150.0, 1150.0]),
        }
    )
    score = score_run(run)

    assert score.components.availability == 50.0
    assert score.components.performance == pytest.approx(75.0)
    assert score.components.stability == 100.0  # GET /b has too few samples to count
    assert score.score == round((40 * 50 + 40 * 75 + 20 * 100) / 100, 1) == 70.0
    assert score.band is Band.GOOD
    assert score.verdict is Verdict.PASS
    [a, b] = score.operations
    assert (a.label, a.ok, b.ok, b.failed_probes) == ("GET /a", True, False, 1)
    assert b.performance == pytest.approx(50.0)
    assert (a.window_medians_ms, b.window_medians_ms) == ((100.0, 100.0, 100.0), ())


def test_only_successful_answers_have_latency_samples() -> None:
    samples = OperationSamples("GET /a")
    samples.record(True, 10.0)
    samples.record(False, 2.0, "500")  # a fast error says nothing about speed
    samples.record(False, None, "timeout")
    assert (samples.outcomes, samples.latencies_ms) == ([True, False, False], [10.0])


def test_an_operation_with_no_successful_answer_scores_no_performance() -> None:
    storm = run_of({"GET /a": ([False] * 50, []), "GET /b": steady()})
    score = score_run(storm)
    by_label = {op.label: op for op in score.operations}
    assert by_label["GET /a"].performance == 0.0
    assert score.components.performance == 50.0
    assert score.components.availability == 50.0


def test_a_failing_health_check_zeroes_availability_and_fails_the_verdict() -> None:
    score = score_run(run_of({"GET /a": steady()}, health_ok=False))
    assert score.components.availability == 0.0
    assert score.verdict is Verdict.FAIL
    assert "key check failed: health" in score.reasons
    # With health no longer a key check, the same run is judged on its score (60, fair).
    lenient = ScoringSettings(key_checks=())
    judged = score_run(run_of({"GET /a": steady()}, False), lenient)
    assert (judged.score, judged.verdict) == (60.0, Verdict.WARN)
    assert judged.reasons[0] == "the score is fair (issues detected)"


def test_a_failed_key_check_fails_whatever_the_score() -> None:
    run = run_of({"GET /a": steady()})
    run.failed_items.append(failed_item("availability"))
    failed = score_run(run)
    assert failed.score == 100.0
    assert failed.verdict is Verdict.FAIL
    assert failed.reasons == ("key check failed: availability",)
    assert failed.failed_items == (failed_item("availability"),)


def test_another_failed_item_warns_and_can_be_made_a_key_check() -> None:
    run = run_of({"GET /a": steady()})
    run.failed_items.append(failed_item("contract"))
    run.fail_check("contract")
    warned = score_run(run)
    assert (warned.score, warned.verdict) == (100.0, Verdict.WARN)
    assert warned.reasons == ("1 other gate item(s) failed (contract)",)
    strict = ScoringSettings(key_checks=("health", "contract"))
    assert score_run(run, strict).verdict is Verdict.FAIL


def test_the_verdict_fails_under_fail_below_and_warns_on_a_fair_or_poor_band() -> None:
    slow = run_of({"GET /a": ([True, False, False], [5000.0] * 3)})
    score = score_run(slow)  # availability 0, performance 0, stability not measured
    assert score.score == 0.0
    assert score.band is Band.POOR
    assert score.verdict is Verdict.FAIL
    assert "score 0.0 is below scoring.fail_below (50)" in score.reasons
    lenient = score_run(slow, ScoringSettings(fail_below=0))
    assert lenient.verdict is Verdict.WARN
    assert "the score is poor (consider rollback)" in lenient.reasons


def test_a_regression_fails_the_verdict_unless_turned_off() -> None:
    score = score_run(run_of({"GET /a": steady()}))
    failed = fail_on_regressions(score, ["GET /a"])
    assert failed.verdict is Verdict.FAIL
    assert failed.reasons[0] == "latency regression against the previous deployment: GET /a"
    off = ScoringSettings(fail_on_regression=False)
    assert fail_on_regressions(score, ["GET /a"], off) is score
    assert fail_on_regressions(score, []) is score


def test_per_operation_thresholds_override_the_global_ones() -> None:
    run = run_of({"GET /slow": ([True], [900.0]), "GET /fast": ([True], [900.0])})
    settings = ScoringSettings.from_config(
        {
            "thresholds": {"target": "100ms", "max": "1s"},
            "operations": {"GET /slow": {"target": "1s", "max": "5s"}},
        }
    )
    by_label = {op.label: op for op in score_run(run, settings).operations}
    assert by_label["GET /slow"].performance == 100.0
    assert by_label["GET /fast"].performance == pytest.approx(100 * (1000 - 900) / 900)


# -- stability: the spread of the median latency between time windows ------------------------


def stability_of(latencies: list[float], **overrides: Any) -> float | None:
    run = run_of({"GET /a": ([True] * len(latencies), latencies)})
    return score_run(run, ScoringSettings(**overrides)).components.stability


def test_a_flat_series_is_fully_stable() -> None:
    assert stability_of([20.0] * 60) == 100.0


def test_a_noisy_but_stable_series_is_fully_stable() -> None:
    # a 5 ms service on a loaded machine: single requests from 3 to 60 ms, the same
    # distribution all along
    rng = random.Random(7)
    noisy = [rng.choice([3.0, 4.0, 5.0, 6.0, 8.0, 15.0, 60.0]) for _ in range(150)]
    assert stability_of(noisy) == 100.0


def test_a_climbing_series_loses_its_stability() -> None:
    climbing = [10.0 + 2.0 * index for index in range(60)]  # +2 ms per request
    windows = [statistics.median(climbing[i : i + 20]) for i in (0, 20, 40)]
    spread = max(windows) - min(windows)
    expected = 100 * max(0.0, 1 - (spread - 25.0) / (min(windows) + 25.0))
    assert stability_of(climbing) == pytest.approx(expected)
    assert stability_of(climbing) == 0.0  # 29 -> 109 ms: the median more than doubled


def test_a_stall_loses_its_stability() -> None:
    stall = [8.0] * 20 + [400.0] * 20 + [8.0] * 20
    assert stability_of(stall) == 0.0
    short_hiccup = [8.0] * 29 + [400.0] * 2 + [8.0] * 29  # two slow requests: the median holds
    assert stability_of(short_hiccup) == 100.0


def test_a_spread_within_the_floor_costs_nothing_and_beyond_it_is_linear() -> None:
    assert stability_points([100.0, 120.0], floor_ms=25.0) == 100.0
    # 75 ms over the floor above a lowest median of 100 ms: 1 - 75 / 125
    assert stability_points([100.0, 200.0], floor_ms=25.0) == pytest.approx(40.0)
    assert stability_points([100.0], floor_ms=25.0) is None


def test_windows_split_in_arrival_order_and_small_windows_are_left_out() -> None:
    assert split_windows([1, 2, 3, 4, 5, 6, 7], 3) == [[1, 2, 3], [4, 5], [6, 7]]
    assert window_medians([[1.0, 2.0, 3.0], [4.0, 5.0]], min_samples=3) == (2.0,)
    # six samples in three windows of 2: no window has the 3 samples a median needs
    assert stability_of([10.0] * 6) is None
    assert stability_of([10.0] * 6, stability_min_samples=2) == 100.0
    assert stability_of([10.0] * 6, stability_windows=2) == 100.0


def test_collect_rounds_are_the_windows_when_there_are_two_or_more() -> None:
    rounds = []
    for number, latency in enumerate([100.0, 300.0], start=1):
        rounds.append(run_of({"GET /a": steady(3, latency)}))
        rounds[-1].round = number
    # each round alone is flat; between the rounds the median tripled
    assert all(score_run(r).components.stability is None for r in rounds)  # 3 samples
    merged = score_run(merge_runs(rounds))
    assert merged.operations[0].window_medians_ms == (100.0, 300.0)
    assert merged.components.stability == pytest.approx(100 * max(0, 1 - 175 / 125))
    one_round = rounds[0]
    assert score_run(merge_runs([one_round])).operations[0].window_medians_ms == ()


def test_unmeasured_components_hand_their_weight_to_the_others() -> None:
    no_latency = run_of({"GET /a": ([False, False], [])})
    score = score_run(no_latency)
    assert score.components.stability is None
    assert score.components.performance == 0.0
    assert any("stability was not measured" in reason for reason in score.reasons)
    only_health = score_run(run_of({}, health_ok=True))
    assert (only_health.score, only_health.verdict) == (100.0, Verdict.PASS)


def test_nothing_measured_fails() -> None:
    score = score_run(run_of({}, health_ok=None))
    assert (score.score, score.verdict) == (0.0, Verdict.FAIL)
    assert score.reasons[0].startswith("nothing was measured")


# -- the verdict, as properties ----------------------------------------------------------------

families = st.sampled_from(["health", "availability", "smoke", "contract", "performance", "drift"])


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 100),
    st.floats(0, 100),
    st.floats(0, 100),
    st.lists(families, max_size=4),
    st.sets(families, max_size=3),
    st.floats(0, 100),
)
def test_the_verdict_rules(
    availability: float,
    performance: float,
    stability: float,
    failed: list[str],
    key_checks: set[str],
    fail_below: float,
) -> None:
    settings = ScoringSettings(key_checks=tuple(sorted(key_checks)), fail_below=fail_below)
    run = run_of(
        {
            # one operation per component, sized so each lands where asked
            **{f"GET /up{i}": steady(1, 1.0) for i in range(100) if i < availability},
            **{f"GET /down{i}": ([False], []) for i in range(100) if i >= availability},
        },
        health_ok=None,
    )
    for index, family in enumerate(failed):
        run.failed_items.append(failed_item(family, f"cfg::phase3::item{index}"))
    score = score_run(run, settings)
    key_failed = any(family in key_checks for family in failed)
    below = score.score < fail_below
    if key_failed or below:
        assert score.verdict is Verdict.FAIL
    elif failed or score.band in (Band.FAIR, Band.POOR):
        assert score.verdict is Verdict.WARN
    else:
        assert score.verdict is Verdict.PASS
    # every verdict other than pass says why, and names what failed
    assert (score.verdict is Verdict.PASS) == (
        not any(r for r in score.reasons if "measured" not in r)
    )
    assert len(score.failed_items) == len(failed)
    # a regression only ever makes it worse
    assert fail_on_regressions(score, ["GET /up0"]).verdict is Verdict.FAIL


@settings(max_examples=100, deadline=None)
@given(st.lists(families, max_size=5), st.lists(families, max_size=3))
def test_more_failed_items_never_improve_the_verdict(first: list[str], more: list[str]) -> None:
    run = run_of({"GET /a": steady()})
    run.failed_items.extend(failed_item(f, f"cfg::a{i}") for i, f in enumerate(first))
    before = score_run(run).verdict
    run.failed_items.extend(failed_item(f, f"cfg::b{i}") for i, f in enumerate(more))
    assert score_run(run).verdict.at_least(before)


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, Band.EXCELLENT), (90, Band.EXCELLENT), (89.9, Band.GOOD), (70, Band.GOOD),
     (69.9, Band.FAIR), (50, Band.FAIR), (49.9, Band.POOR), (0, Band.POOR)],
)  # fmt: skip
def test_bands(score: float, band: Band) -> None:
    assert band_for(score) is band


def test_performance_points_are_linear_between_target_and_max() -> None:
    thresholds = Thresholds(300.0, 2000.0)
    assert performance_points(300.0, thresholds) == 100.0
    assert performance_points(2000.0, thresholds) == 0.0
    assert performance_points(1150.0, thresholds) == pytest.approx(50.0)
    assert performance_points(2500.0, thresholds) == 0.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_agrees_with_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(
        float(np.percentile(values, q)), rel=1e-9, abs=1e-9
    )


# -- properties --------------------------------------------------------------------------------

latencies = st.lists(st.floats(0, 10_000, allow_nan=False), min_size=0, max_size=12)
operation = st.tuples(st.lists(st.booleans(), min_size=1, max_size=12), latencies)
operations = st.dictionaries(
    st.sampled_from(["GET /a", "GET /b", "POST /c", "DELETE /d"]), operation, max_size=4
)
weights = st.builds(
    Weights, st.floats(0.1, 100), st.floats(0.1, 100), st.floats(0.1, 100)
)  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(operations, st.sampled_from([True, False, None]), weights)
def test_scores_and_components_stay_within_0_and_100(
    ops: dict[str, tuple[list[bool], list[float]]], health: bool | None, w: Weights
) -> None:
    score = score_run(run_of(ops, health), ScoringSettings(weights=w))
    assert 0.0 <= score.score <= 100.0
    for value in score.components.as_dict().values():
        assert value is None or 0.0 <= value <= 100.0
    assert score.band is band_for(score.score)


@settings(max_examples=50, deadline=None)
@given(operations, st.data())
def test_more_failures_never_raise_availability(
    ops: dict[str, tuple[list[bool], list[float]]], data: st.DataObject
) -> None:
    before = score_run(run_of(ops)).components.availability
    worse = {}
    for label, (outcomes, lat) in ops.items():
        flips = data.draw(st.lists(st.booleans(), min_size=len(outcomes), max_size=len(outcomes)))
        worse[label] = ([ok and not flip for ok, flip in zip(outcomes, flips, strict=True)], lat)
    after = score_run(run_of(worse)).components.availability
    assert (before is None and after is None) or (
        after is not None and before is not None and after <= before
    )


@settings(max_examples=50, deadline=None)
@given(operations, st.data())
def test_higher_latency_never_raises_performance(
    ops: dict[str, tuple[list[bool], list[float]]], data: st.DataObject
) -> None:
    before = score_run(run_of(ops))
    slower = {}
    for label, (outcomes, lat) in ops.items():
        extra = data.draw(st.lists(st.floats(0, 5000), min_size=len(lat), max_size=len(lat)))
        slower[label] = (outcomes, [v + e for v, e in zip(lat, extra, strict=True)])
    after = score_run(run_of(slower))
    for old, new in zip(before.operations, after.operations, strict=True):
        assert old.performance is None or new.performance is not None
        if old.performance is not None and new.performance is not None:
            assert new.performance <= old.performance + 1e-9


@settings(max_examples=50, deadline=None)
@given(operations, weights, st.floats(0.01, 1000))
def test_only_the_ratio_of_the_weights_matters(
    ops: dict[str, tuple[list[bool], list[float]]], w: Weights, factor: float
) -> None:
    scaled = Weights(w.availability * factor, w.performance * factor, w.stability * factor)
    one = score_run(run_of(ops), ScoringSettings(weights=w)).score
    other = score_run(run_of(ops), ScoringSettings(weights=scaled)).score
    assert one == pytest.approx(other, abs=0.11)  # both are rounded to one decimal


@settings(max_examples=50, deadline=None)
@given(operations, weights)
def test_the_score_lies_between_its_lowest_and_highest_component(
    ops: dict[str, tuple[list[bool], list[float]]], w: Weights
) -> None:
    score = score_run(run_of(ops), ScoringSettings(weights=w))
    measured = [v for v in score.components.as_dict().values() if v is not None]
    if measured:
        assert min(measured) - 0.05 <= score.score <= max(measured) + 0.05


def test_a_heavier_weight_pulls_the_score_towards_its_component() -> None:
    run = run_of({"GET /a": ([True, False, True] * 3, [100.0] * 9)})  # availability 0, rest 100
    light = score_run(run, ScoringSettings(weights=Weights(1, 1, 1))).score
    heavy = score_run(run, ScoringSettings(weights=Weights(10, 1, 1))).score
    assert heavy < light
    assert light == pytest.approx(66.7)


# -- settings ------------------------------------------------------------------------------------


def test_an_empty_section_gives_the_documented_defaults() -> None:
    assert ScoringSettings.from_config({}) == ScoringSettings()
    assert ScoringSettings.from_config(None) == ScoringSettings(
        weights=Weights(40, 40, 20),
        thresholds=Thresholds(300.0, 2000.0),
        stability_windows=3,
        stability_min_samples=3,
        stability_floor_ms=25.0,
        fail_below=50.0,
        fail_on_regression=True,
        key_checks=("health", "availability", "smoke"),
        regression_tolerance=0.10,
        regression_p=0.01,
    )


def test_the_example_section_parses() -> None:
    settings = ScoringSettings.from_config(
        {
            "weights": {"availability": 50, "performance": 30, "stability": 20},
            "thresholds": {"target": "250ms", "max": "1.5s"},
            "operations": {"GET /slow": {"target": "1s"}},
            "stability_windows": 4,
            "stability_floor": "40ms",
            "fail_below": 60,
            "fail_on_regression": False,
            "key_checks": ["health", "contract"],
            "regression_tolerance": "5%",
            "regression_p": 0.05,
        }
    )
    assert settings.weights == Weights(50, 30, 20)
    assert settings.thresholds == Thresholds(250.0, 1500.0)
    assert settings.thresholds_for("GET /slow") == Thresholds(1000.0, 1500.0)
    assert settings.thresholds_for("GET /other") == Thresholds(250.0, 1500.0)
    assert (settings.stability_windows, settings.stability_floor_ms) == (4, 40.0)
    assert (settings.fail_below, settings.regression_p) == (60.0, 0.05)
    assert settings.fail_on_regression is False
    assert settings.key_checks == ("health", "contract")
    assert settings.regression_tolerance == pytest.approx(0.05)


def test_every_problem_in_the_section_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        ScoringSettings.from_config(
            {
                "weights": {"availability": 0, "performnce": 3},
                "thresholds": {"target": "3s", "max": "1s"},
                "operations": {"GET /x": {"target": "fast"}},
                "cv_max": 0,
                "stability_windows": 1,
                "fail_below": 120,
                "key_checks": ["helth"],
                "regression_tolerance": "ten",
                "failbelow": 1,
            }
        )
    problems = "\n".join(caught.value.problems)
    assert "scoring.failbelow: is not a known key; did you mean 'fail_below'?" in problems
    assert "scoring.weights.availability: must be a positive number (got 0)" in problems
    assert "scoring.weights.performnce: is not a component; did you mean 'performance'?" in problems
    assert "scoring.thresholds: target (3000ms) must be below max (1000ms)" in problems
    assert "scoring.operations.GET /x.target: expected a duration" in problems
    assert "scoring.cv_max: is no longer used: stability is now the spread" in problems
    assert "scoring.stability_windows: must be a whole number from 2 to 100 (got 1)" in problems
    assert "scoring.fail_below: must be a number >= 0 and <= 100 (got 120)" in problems
    assert "'helth' is not a check family; did you mean 'health'?" in problems
    assert "scoring.regression_tolerance: expected a percentage" in problems
    assert len(caught.value.problems) == 10


# -- the section's JSON Schema -----------------------------------------------------------------


def validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry()
    for path in SECTIONS.glob("*.json"):
        registry = registry.with_resource(
            path.name, Resource.from_contents(json.loads(path.read_text()))
        )
    schema = json.loads((SECTIONS / "scoring.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def test_the_schema_accepts_the_documented_example_and_rejects_typos() -> None:
    check = validator()
    example = {
        "weights": {"availability": 40, "performance": 40, "stability": 20},
        "thresholds": {"target": "300ms", "max": "2s"},
        "operations": {"GET /slow": {"target": "1s", "max": "5s"}},
        "stability_windows": 3,
        "stability_floor": "25ms",
        "fail_below": 50,
        "fail_on_regression": True,
        "key_checks": ["health"],
        "regression_tolerance": "10%",
        "regression_p": 0.01,
    }
    assert list(check.iter_errors(example)) == []
    assert list(check.iter_errors({"failbelow": 50}))
    assert list(check.iter_errors({"weights": {"availability": 0}}))
    assert list(check.iter_errors({"operations": {"/slow": {"target": "1s"}}}))
    assert list(check.iter_errors({"thresholds": {"target": "fast"}}))
    assert list(check.iter_errors({"regression_tolerance": 0.1}))


def test_the_schema_defaults_are_the_code_defaults() -> None:
    schema = json.loads((SECTIONS / "scoring.json").read_text())
    props = schema["properties"]
    defaults = {key: prop["default"] for key, prop in props.items()}
    assert ScoringSettings.from_config(defaults) == ScoringSettings()
    assert all("description" in prop for prop in props.values())
    assert schema["additionalProperties"] is False


# -- run results: merging and the JSON that xdist workers send ------------------------------------


def test_a_run_round_trips_through_json() -> None:
    run = RunResult("d1", "phase3", T0, T0.replace(minute=5), health_ok=False, round=2)
    run.record("GET /a", True, 12.5)
    run.record("GET /a", False, None, "timeout after 5s")
    run.fail_check("health")
    run.items.failed = 2
    copy = RunResult.from_dict(json.loads(json.dumps(run.to_dict())))
    assert copy == run


def test_runs_from_several_workers_merge_into_one() -> None:
    first = RunResult("d1", "phase3", T0.replace(minute=2), T0.replace(minute=3), health_ok=True)
    first.record("GET /a", True, 10.0)
    first.items.passed = 3
    second = RunResult("d1", "phase3", T0.replace(minute=1), T0.replace(minute=9), health_ok=False)
    second.record("GET /a", False, None, "502")
    second.record("GET /b", True, 20.0)
    second.fail_check("health")
    second.items.passed = 1

    first.merge(second)
    assert (first.started_at, first.finished_at) == (T0.replace(minute=1), T0.replace(minute=9))
    assert first.health_ok is False
    assert first.operations["GET /a"].outcomes == [True, False]
    assert first.operations["GET /a"].failures == ["502"]
    assert first.operations["GET /b"].latencies_ms == [20.0]
    assert first.key_checks_failed == ["health"]
    assert first.items.passed == 4
    with pytest.raises(ValueError, match="cannot merge a run of deployment 'other'"):
        first.merge(RunResult("other", "phase3", T0, T0))


@settings(max_examples=50, deadline=None)
@given(st.lists(operations, min_size=1, max_size=4))
def test_scoring_merged_runs_equals_scoring_all_their_samples(
    parts: list[dict[str, tuple[list[bool], list[float]]]],
) -> None:
    together: dict[str, tuple[list[bool], list[float]]] = {}
    for part in parts:
        for label, (outcomes, lat) in part.items():
            known = together.setdefault(label, ([], []))
            known[0].extend(outcomes)
            known[1].extend(lat)
    assert score_run(merge_runs(run_of(part) for part in parts)) == score_run(run_of(together))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"phase": "phase3"}, "non-empty 'deploy_id'"),
        ({"deploy_id": "d", "phase": "p", "started_at": "yesterday"}, "'started_at' must be"),
        (
            {"deploy_id": "d", "phase": "p", "started_at": "2025-01-01T00:00:00",
             "finished_at": "2025-01-01T00:00:00",
             "operations": [{"label": "GET /a", "latencies_ms": [-1]}]},
            "latency must be finite and >= 0",
        ),
        (
            {"deploy_id": "d", "phase": "p", "started_at": "2025-01-01T00:00:00",
             "finished_at": "2025-01-01T00:00:00", "health_ok": "yes"},
            "'health_ok' must be true, false or null",
        ),
    ],
)  # fmt: skip
def test_malformed_run_documents_are_rejected_with_the_field_named(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RunResult.from_dict(document)


def test_naive_timestamps_in_documents_are_taken_as_utc() -> None:
    run = RunResult.from_dict(
        {"deploy_id": "d", "phase": "p", "started_at": "2025-01-01T00:00:00",
         "finished_at": "2025-01-01T00:00:01+00:00"}
    )  # fmt: skip
    assert run.started_at == T0
    assert run.finished_at.tzinfo is not None


def test_the_schema_lists_every_check_family_as_a_possible_key_check() -> None:
    from pytest_deploycheck.score.scoring import CHECK_FAMILIES

    schema = json.loads((SECTIONS / "scoring.json").read_text())
    assert sorted(schema["properties"]["key_checks"]["items"]["enum"]) == sorted(CHECK_FAMILIES)

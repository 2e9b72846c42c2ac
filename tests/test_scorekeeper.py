"""The score keeper: what it takes from item reports, and the failed items the verdict names."""

from __future__ import annotations

import json

from pytest_deploycheck.items import CHECK_PROPERTY, FAILURES_PROPERTY, SAMPLES_PROPERTY
from pytest_deploycheck.scorekeeper import ScoreKeeper

NODE = "deployment-config.json::phase2::availability[GET /a]"


def props(check: str, samples: list[list[object]] | None = None, **extra: str) -> list[object]:
    found: list[object] = [(CHECK_PROPERTY, check)]
    if samples is not None:
        found.append((SAMPLES_PROPERTY, json.dumps(samples)))
    found.extend(extra.items())
    return found


def test_samples_and_outcomes_of_scored_phases_are_recorded() -> None:
    keeper = ScoreKeeper()
    keeper.add(NODE, "call", "passed", props("phase2:availability", [["GET /a", True, 5.0]]))
    keeper.add("x::phase2::health", "call", "passed", props("phase2:health"))
    run = keeper._current()
    assert run.operations["GET /a"].latencies_ms == [5.0]
    assert (run.health_ok, run.items.passed, keeper.has_results) == (True, 2, True)
    assert keeper.failed_items == []


def test_a_failed_item_of_any_phase_is_kept_once_with_its_rule_and_first_line() -> None:
    keeper = ScoreKeeper()
    failure = json.dumps(["availability-server-error", "GET /a answered 500"])
    failing = props("phase2:availability", [["GET /a", False, 3.0]], **{FAILURES_PROPERTY: failure})
    keeper.add(NODE, "call", "failed", failing)
    keeper.add(NODE, "teardown", "failed", failing)  # one failed check, not two
    lint = "deployment-config.json::phase1::openapi[lint]"
    keeper.add(lint, "call", "failed", props("phase1:openapi"), "E   ValueError: boom\nmore")
    [first, second] = keeper.failed_items
    assert (first.node_id, first.family, first.rule) == (
        NODE,
        "availability",
        "availability-server-error",
    )
    assert first.message == "GET /a answered 500"
    assert (second.family, second.rule, second.message) == ("openapi", "error", "ValueError: boom")
    run = keeper._current()
    assert run.key_checks_failed == ["availability"]
    assert run.items.failed == 1  # phase1 items are not part of the scored run
    assert run.operations["GET /a"].latencies_ms == []  # a failed probe has no latency


def test_a_report_without_a_traceback_gives_its_first_line() -> None:
    keeper = ScoreKeeper()
    keeper.add(NODE, "setup", "failed", props("phase2:smoke"), "\nthe target did not start\n")
    [item] = keeper.failed_items
    assert (item.rule, item.message) == ("error", "the target did not start")


def test_reports_of_other_tests_are_ignored() -> None:
    keeper = ScoreKeeper()
    keeper.add("tests/test_x.py::test_y", "call", "failed", [], "E assert 0")
    assert keeper.failed_items == []
    assert not keeper.has_results

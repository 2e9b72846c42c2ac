"""``deploycheck self-test``: the real checks pass it, and a sabotaged check fails it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_deploycheck import selftest
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.families import FAMILIES
from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.spec import load_spec
from pytest_deploycheck.live import health, performance
from pytest_deploycheck.live.health import HealthResult
from pytest_deploycheck.phase1 import bundle, migrations
from pytest_deploycheck.selftest import (
    Case,
    render_json,
    render_self_test,
    run_self_test,
    self_test_passed,
)
from pytest_deploycheck.selftest.service import _serve, _StockService


@pytest.fixture(scope="module")
def all_cases() -> list[Case]:
    return run_self_test()


def _by_family(cases: list[Case], family: str) -> list[Case]:
    return [case for case in cases if case.family == family]


# -- the real checks -----------------------------------------------------------------------------


def test_the_real_checks_pass_the_self_test(all_cases: list[Case]) -> None:
    assert [case for case in all_cases if not case.passed] == []
    assert self_test_passed(all_cases)


def test_every_family_has_a_good_and_a_bad_fixture_in_family_order(all_cases: list[Case]) -> None:
    for family in FAMILIES:
        assert {case.expected for case in _by_family(all_cases, family)} == {"pass", "fail"}
    assert list(dict.fromkeys(case.family for case in all_cases)) == list(FAMILIES)


def test_bad_fixtures_are_caught_by_the_rule_that_names_their_fault(
    all_cases: list[Case],
) -> None:
    for case in all_cases:
        if case.expected == "fail":
            assert case.got == "fail", case
            assert case.detail.startswith("caught: ["), case
        else:
            assert case.got == "pass", case
    contract = {case.fixture: case.detail for case in _by_family(all_cases, "contract")}
    assert "[contract-response-schema-conformance]" in contract["response breaks its schema"]
    stateful = {case.fixture: case.detail for case in _by_family(all_cases, "stateful")}
    assert "[stateful-ensure-resource-availability]" in stateful["created item cannot be read"]


def test_the_table_lists_every_family_and_the_verdict(all_cases: list[Case]) -> None:
    text = render_self_test(all_cases, width=200)
    first_cells = [line.split("│")[0].strip() for line in text.splitlines() if "│" in line]
    for family in FAMILIES:
        assert family in first_cells, family
    assert "tls: logic only" in text
    assert "FAIL" not in text
    assert f"self-test passed: {len(all_cases)} cases over {len(FAMILIES)} families" in text


def test_the_json_document_holds_every_case(all_cases: list[Case]) -> None:
    document = json.loads(render_json(all_cases))
    assert document["passed"] is True
    assert len(document["cases"]) == len(all_cases)
    first = document["cases"][0]
    assert set(first) == {"family", "fixture", "expected", "got", "detail", "passed", "seconds"}
    assert {case["family"] for case in document["cases"]} == set(FAMILIES)


# -- sabotaged checks ----------------------------------------------------------------------------


def test_a_check_that_finds_nothing_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "check_migrations", lambda section, root: [])
    cases = run_self_test(["migrations"])
    bad = [case for case in cases if case.expected == "fail"]
    assert len(bad) == 2
    for case in bad:
        assert (case.got, case.passed) == ("pass", False)
        assert case.detail.startswith("not caught: expected migration-")
    assert [case.passed for case in cases if case.expected == "pass"] == [True]
    assert not self_test_passed(cases)
    text = render_self_test(cases, width=200)
    assert "FAIL" in text
    assert "self-test FAILED: 2 of 3 cases (migrations)" in text
    assert json.loads(render_json(cases))["passed"] is False


def test_a_check_that_always_fails_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    def always_down(client: httpx.Client, section: Any, **_: Any) -> HealthResult:
        return HealthResult([Finding("health-status", "GET /health answered 503")], 503, 1.0, 1)

    monkeypatch.setattr(health, "check_health", always_down)
    good, bad = run_self_test(["health"])
    assert (good.expected, good.got, good.passed) == ("pass", "fail", False)
    assert good.detail.startswith("fails on its good fixture: [health-status]")
    # failing for another reason than the fault is not catching the fault
    assert (bad.expected, bad.got, bad.passed) == ("fail", "fail", False)
    assert bad.detail.startswith("failed for another reason: expected health-body")


def test_a_live_check_that_stops_catching_slow_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(performance, "judge_latencies", lambda label, latencies, limits: ({}, []))
    fast, slow = run_self_test(["performance"])
    assert fast.passed
    assert (slow.got, slow.passed) == ("pass", False)
    assert "performance-p95" in slow.detail
    assert not self_test_passed([fast, slow])


def test_a_crashing_check_is_a_failing_case(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("sabotaged\nsecond line")

    monkeypatch.setattr(bundle, "check_bundle", crash)
    cases = run_self_test(["bundle"])
    assert [(case.got, case.passed) for case in cases] == [("error", False)] * 3
    assert cases[0].detail == "the check raised RuntimeError: sabotaged"


def test_a_family_without_fixtures_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FAMILIES, "grpc", "gRPC services against their proto files")
    cases = run_self_test(["tls", "grpc"])
    assert [case.family for case in cases] == ["tls", "tls", "tls", "grpc"]
    missing = cases[-1]
    assert (missing.fixture, missing.got, missing.passed) == ("(none)", "error", False)
    assert not self_test_passed(cases)
    assert not self_test_passed([])


# -- inputs and isolation ------------------------------------------------------------------------


def test_an_unknown_family_is_a_usage_error_with_a_suggestion() -> None:
    with pytest.raises(
        ConfigError, match=r"'helth' is not a check family -> did you mean 'health'"
    ):
        run_self_test(["helth"])


def test_the_process_environment_does_not_reach_the_env_fixtures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("STOCK_API_TOKEN", "")
    cases = run_self_test(["env"])
    assert len(cases) == 4
    assert all(case.passed for case in cases)


def test_the_injected_clock_times_each_case() -> None:
    ticks = itertools.count()
    cases = run_self_test(["tls"], clock=lambda: float(next(ticks)))
    assert [case.seconds for case in cases] == [1.0, 1.0, 1.0]


@pytest.fixture
def service_url() -> Iterator[str]:
    spec = load_spec(selftest.FIXTURES / "service.openapi.yaml")
    service = _StockService(spec.document, time.sleep)
    with _serve(service) as url:
        yield url


def test_the_fixture_service_breaks_one_thing_per_mode(service_url: str) -> None:
    with httpx.Client(base_url=service_url, trust_env=False, timeout=5) as client:
        assert client.get("/good/health").json() == {"status": "ok"}
        assert client.get("/unhealthy/health").json() == {"status": "degraded"}
        assert client.get("/good/items/1").status_code == 200
        assert client.get("/server-error/items/1").status_code == 500
        assert client.post("/good/items", json={"name": ""}).status_code == 400
        assert client.post("/accepts-invalid/items", json={"name": ""}).status_code == 201
        created = client.post("/forgetful/items", json={"name": "nut", "quantity": 1}).json()
        assert client.get(f"/forgetful/items/{created['id']}").status_code == 404
        served = client.get("/drifted/openapi.json").json()
        assert served["components"]["schemas"]["Item"]["properties"]["quantity"]["type"] == (
            "string"
        )
        # any method gets an answer, never the standard library's 501
        assert client.request("TRACE", "/good/items").status_code == 405
        assert client.get("/nowhere/health").status_code == 404
        # a restock looks its item up first; only restocks-anything then takes any body
        invalid = {"item_id": 1, "quantity": 0}
        assert client.post("/good/restocks", json=invalid).status_code == 400
        assert client.post("/restocks-anything/restocks", json=invalid).status_code == 200
        assert client.delete("/restocks-anything/items/1").status_code == 204
        assert client.post("/restocks-anything/restocks", json=invalid).status_code == 404
        assert client.delete("/restocks-anything/items/1").status_code == 404


def test_the_fixture_service_stops_with_its_context() -> None:
    spec = load_spec(selftest.FIXTURES / "service.openapi.yaml")
    service = _StockService(spec.document, time.sleep)
    with _serve(service) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/good/health", trust_env=False).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/good/health", trust_env=False, timeout=2)

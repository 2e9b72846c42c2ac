"""Performance: percentiles, bounded concurrency, timing and thresholds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.core.stats import percentile
from pytest_deploycheck.live.performance import (
    judge_latencies,
    measure,
    performance_operations,
    performance_settings,
    run_performance,
)
from pytest_deploycheck.live.probes import ProbeRequest
from tests.fakes import FakeClock, TracingTransport
from tests.live_server import REPO_ROOT, serve_app, serve_booking_api

SPEC = Spec(
    {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/fast": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/slow": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/items/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "example": 7, "schema": {}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                },
                "delete": {"responses": {"204": {"description": "gone"}}},
            },
            "/items": {
                "post": {
                    "requestBody": {"required": True, "content": {"application/json": {}}},
                    "responses": {"201": {"description": "ok"}},
                }
            },
        },
    }
)

values = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200)


@given(values, st.floats(0, 1))
def test_percentile_is_numpys_linear_method(latencies: list[float], q: float) -> None:
    expected = float(numpy.percentile(latencies, q * 100, method="linear"))
    assert percentile(latencies, q * 100) == pytest.approx(expected, rel=1e-9, abs=1e-6)


@given(values, st.floats(0, 1), st.floats(0, 1))
def test_percentile_is_monotonic_and_within_the_range(
    latencies: list[float], a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert (
        min(latencies)
        <= percentile(latencies, low * 100)
        <= percentile(latencies, high * 100)
        <= max(latencies)
    )


def test_percentile_rejects_empty_input_and_bad_quantiles() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"within 0\.\.100"):
        percentile([1.0], 150)


def test_per_operation_thresholds_override_the_global_ones() -> None:
    section = {
        "samples": 10,
        "thresholds": {"p95": "300ms"},
        "operations": {"GET /slow": {"p95": "800ms", "p99": "2s"}},
    }
    slow = performance_settings(section, "GET /slow")
    assert slow.thresholds == {"p50": 0.2, "p95": 0.8, "p99": 2.0}
    fast = performance_settings(section, "GET /fast")
    assert fast.thresholds == {"p50": 0.2, "p95": 0.3, "p99": 1.0}
    assert (fast.samples, fast.concurrency, fast.warmup, fast.max_time) == (10, 5, 3, 120.0)


def test_default_operations_are_safe_ones_without_a_required_body() -> None:
    assert performance_operations(SPEC, {}) == ["GET /fast", "GET /slow", "GET /items/{id}"]
    chosen = performance_operations(
        SPEC, {"include": ["POST /items", "GET /slow"], "exclude": ["GET /slow"]}
    )
    assert chosen == ["POST /items"]
    with pytest.raises(ConfigError) as error:
        performance_operations(SPEC, {"exclude": ["GET /nope"], "operations": {"GET /gone": {}}})
    assert error.value.problems == [
        "performance.exclude: 'GET /nope' is not an operation of <spec>",
        "performance.operations: 'GET /gone' is not an operation of <spec>",
    ]


def test_latencies_come_from_the_injected_clock_and_warmup_is_not_recorded() -> None:
    now = [0.0]
    delays = iter([0.5] * 2 + [0.010, 0.020, 0.030, 0.040])
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        now[0] += next(delays)
        return httpx.Response(200)

    async def go() -> Any:
        return await measure(
            httpx.MockTransport(handler),
            lambda: httpx.Request("GET", "http://svc/fast"),
            samples=4,
            concurrency=1,
            warmup=2,
            clock=lambda: now[0],
        )

    result = asyncio.run(go())
    assert len(sent) == 6
    assert result.latencies_ms == pytest.approx([10, 20, 30, 40])
    assert result.outcomes == [True] * 4
    assert result.errors == []


def test_no_more_than_concurrency_requests_are_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return httpx.Response(200)

    async def go() -> Any:
        return await measure(
            httpx.MockTransport(handler),
            lambda: httpx.Request("GET", "http://svc/"),
            samples=30,
            concurrency=4,
        )

    result = asyncio.run(go())
    assert peak == 4
    assert len(result.latencies_ms) == 30


def test_server_errors_and_timeouts_are_failed_outcomes() -> None:
    answers = iter([200, 503, "timeout", 200, "refused"])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if answer == "refused":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(int(answer))

    transport = httpx.MockTransport(handler)
    section = {
        "samples": 5,
        "concurrency": 1,
        "warmup": 0,
        "thresholds": {"p50": "10s", "p95": "10s", "p99": "10s"},
    }
    result = run_performance("http://svc", SPEC, "GET /fast", section, transport=transport)
    assert result.outcomes == [True, False, False, True, False]
    assert len(result.latencies_ms) == 3  # the two answers and the 503
    [finding] = result.findings
    assert finding.rule == "performance-errors"
    assert (
        finding.message
        == "GET /fast: 3 of 5 requests failed (503 x1, timeout x1, could not connect: refused x1)"
    )


def test_client_errors_are_named_and_do_not_count_as_successes() -> None:
    answers = iter([200, 404, 404, 200])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    section = {"samples": 4, "concurrency": 1, "warmup": 0, "thresholds": {}}
    result = run_performance("http://svc", SPEC, "GET /fast", section, transport=transport)
    assert result.outcomes == [True, False, False, True]
    assert len(result.latencies_ms) == 4
    [finding] = result.findings
    assert finding.rule == "performance-client-error"
    assert finding.message.startswith(
        "GET /fast: 2 of 4 answers were client errors (404 x2), so the latency is that of an "
        "error answer;"
    )


def test_a_documented_client_error_is_a_success() -> None:
    documented = Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/items/{id}": {
                    "get": {
                        "parameters": [
                            {"name": "id", "in": "path", "required": True, "example": 7}
                        ],
                        "responses": {
                            "200": {"description": "ok"},
                            "404": {"description": "no such item"},
                            "4XX": {"description": "any other refusal"},
                        },
                    }
                }
            },
        }
    )
    answers = iter([200, 404, 409, 500])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    section = {"samples": 4, "concurrency": 1, "warmup": 0, "thresholds": {}}
    label = "GET /items/{id}"
    result = run_performance("http://svc", documented, label, section, transport=transport)
    # 404 is documented, 409 falls in the documented 4XX range; only the 500 failed
    assert result.outcomes == [True, True, True, False]
    assert [f.rule for f in result.findings] == ["performance-errors"]


def test_an_undocumented_redirect_is_not_the_operations_answer() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(302, headers={"Location": str(request.url)})
    )
    section = {"samples": 3, "concurrency": 1, "warmup": 0, "thresholds": {}}
    result = run_performance("http://svc", SPEC, "GET /fast", section, transport=transport)
    assert result.outcomes == [False, False, False]
    [finding] = result.findings
    assert finding.rule == "performance-redirect"
    assert finding.message.startswith(
        "GET /fast: 3 of 3 answers were redirects (302 x3), which are followed only up to "
        "target.max_redirects"
    )
    documented = Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/go": {"get": {"responses": {"302": {"description": "elsewhere"}}}}},
        }
    )
    moved = run_performance("http://svc", documented, "GET /go", section, transport=transport)
    assert moved.outcomes == [True, True, True]
    assert moved.passed


def test_an_answer_over_max_body_is_a_failed_request() -> None:
    from pytest_deploycheck.core.bounds import Bounds

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 5000))
    section = {"samples": 2, "concurrency": 1, "warmup": 0, "thresholds": {}}
    result = run_performance(
        "http://svc", SPEC, "GET /fast", section, transport=transport, bounds=Bounds(5, 1000)
    )
    assert result.outcomes == [False, False]
    assert any(
        "2 of 2 requests failed (answer over target.max_body x2)" in f.message
        for f in result.findings
    )


def test_thresholds_are_judged_on_each_percentile() -> None:
    latencies = [float(n) for n in range(1, 101)]
    percentiles, findings = judge_latencies(
        "GET /x", latencies, {"p50": 0.1, "p95": 0.09, "p99": 0.5}
    )
    assert percentiles == pytest.approx({"p50": 50.5, "p95": 95.05, "p99": 99.01})
    [finding] = findings
    assert finding.rule == "performance-p95"
    assert finding.message.startswith("GET /x: p95 is 95ms, over the 90ms threshold (100 samples;")
    assert judge_latencies("GET /x", latencies, {}) == (percentiles, [])
    assert judge_latencies("GET /x", [], {"p50": 1})[1][0].rule == "performance-no-samples"


# -- a real server -------------------------------------------------------------------------------


def make_app() -> Starlette:
    async def fast(request: Request) -> Response:
        return JSONResponse({"auth": request.headers.get("authorization", "")})

    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return JSONResponse({})

    async def item(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    return Starlette(
        routes=[Route("/fast", fast), Route("/slow", slow), Route("/items/{id}", item)]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_app(make_app()) as url:
        yield url


def test_a_slow_operation_fails_its_threshold_against_a_real_server(base_url: str) -> None:
    section = {"samples": 10, "concurrency": 5, "warmup": 1, "thresholds": {"p50": "20ms"}}
    result = run_performance(
        base_url, SPEC, "GET /slow", section, headers={"Authorization": "Bearer tkn-1234"}
    )
    assert len(result.latencies_ms) == 10
    assert all(latency >= 50 for latency in result.latencies_ms)
    assert result.percentiles["p50"] >= 50
    assert [f.rule for f in result.findings] == ["performance-p50"]
    relaxed = {**section, "operations": {"GET /slow": {"p50": "1s", "p95": "2s", "p99": "2s"}}}
    assert run_performance(base_url, SPEC, "GET /slow", relaxed).passed


def test_requests_are_built_by_the_given_builder(base_url: str) -> None:
    built: list[str] = []

    def builder(operation: Any) -> ProbeRequest:
        built.append(operation.label)
        return ProbeRequest("GET", "/items/42")

    section = {"samples": 3, "warmup": 0, "thresholds": {"p50": "5s"}}
    result = run_performance(base_url, SPEC, "GET /items/{id}", section, build_request=builder)
    assert built == ["GET /items/{id}"]
    assert result.passed
    default = run_performance(base_url, SPEC, "GET /items/{id}", section)
    assert default.passed, default.findings  # the path example, 7, fills the template


def test_max_time_stops_the_measurement_with_a_timeout_finding(base_url: str) -> None:
    section = {
        "samples": 1000,
        "concurrency": 1,
        "warmup": 0,
        "max_time": "300ms",
        "thresholds": {},
    }
    started = time.monotonic()
    result = run_performance(base_url, SPEC, "GET /slow", section)
    assert time.monotonic() - started < 2
    assert 0 < len(result.latencies_ms) < 1000
    assert [f.rule for f in result.findings] == ["performance-timeout"]
    assert "did not finish within 300ms (performance.max_time)" in result.findings[0].message


def test_an_unknown_operation_is_a_config_error(base_url: str) -> None:
    with pytest.raises(ConfigError, match="'GET /nope' is not an operation"):
        run_performance(base_url, SPEC, "GET /nope", {})


# -- the reference booking service -----------------------------------------------------------

BOOKING_SPEC = REPO_ROOT / "specs" / "booking.openapi.yaml"
QUICK = {"samples": 5, "concurrency": 5, "warmup": 1, "thresholds": {"p95": "500ms"}}


def test_the_healthy_reference_service_meets_the_thresholds() -> None:
    spec = load_spec(BOOKING_SPEC)
    labels = performance_operations(spec, {})
    assert "GET /providers/{provider_id}/slots" in labels
    assert all(label.startswith("GET ") for label in labels)
    with serve_booking_api() as url:
        for label in labels:
            result = run_performance(url, spec, label, QUICK)
            assert result.passed, [f.message for f in result.findings]
            assert len(result.latencies_ms) == 5


def test_the_slow_fault_is_caught_by_performance() -> None:
    spec = load_spec(BOOKING_SPEC)
    with serve_booking_api(["slow"], BOOKING_SLOW_MS="600") as url:
        result = run_performance(url, spec, "GET /providers/{provider_id}/slots", QUICK)
        # p50 fails too: its default threshold, 200ms, still applies.
        assert [f.rule for f in result.findings] == ["performance-p50", "performance-p95"]
        assert result.percentiles["p50"] >= 600
        assert run_performance(url, spec, "GET /providers", QUICK).passed


def test_latency_runs_from_the_wire_events_when_the_transport_reports_them() -> None:
    clock = FakeClock()
    transport = TracingTransport(clock, before=0.005, wire=0.020, after=0.003)

    async def go() -> Any:
        return await measure(
            transport,
            lambda: httpx.Request("GET", "http://svc/"),
            samples=3,
            concurrency=1,
            clock=clock,
        )

    assert asyncio.run(go()).latencies_ms == pytest.approx([20, 20, 20])


# -- the performance section of deployment-config.json ----------------------------------------


def test_the_schema_defaults_are_the_defaults_in_code() -> None:
    schema = json.loads(
        (REPO_ROOT / "pytest_deploycheck/schemas/sections/performance.json").read_text()
    )
    explicit = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    assert performance_settings(explicit, "GET /x") == performance_settings({}, "GET /x")


def test_the_documented_example_section_is_valid_and_typos_are_explained() -> None:
    example = {
        "samples": 50,
        "concurrency": 5,
        "warmup": 3,
        "thresholds": {"p50": "200ms", "p95": "500ms", "p99": "1s"},
        "operations": {"GET /providers/{provider_id}/slots": {"p95": "800ms"}},
        "include": ["GET /providers"],
        "exclude": [],
    }
    assert validate({"performance": example}) == []
    [problem] = validate({"performance": {"thresholds": {"p90": "1s"}}})
    assert str(problem) == "performance.thresholds.p90: unknown key 'p90' -> did you mean 'p99'?"

"""Smoke flows: captures, placeholders, expectations, and runs against a real server."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.live.smoke import (
    check_flows,
    evaluate_path,
    match_body,
    parse_path,
    run_flow,
    substitute,
)
from tests.live_server import serve_app, serve_booking_api

TOKEN = "flow-secret-token"


def make_app() -> Starlette:
    """Appointments: book (201 with Location), read, cancel; and an endpoint echoing headers."""
    appointments: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def book(request: Request) -> Response:
        body = json.loads(await request.body())
        if not isinstance(body.get("slot"), int):
            return JSONResponse({"detail": "slot must be an integer"}, status_code=422)
        appointment = {"id": next(ids), "slot": body["slot"], "status": "booked"}
        appointments[appointment["id"]] = appointment
        location = f"/appointments/{appointment['id']}"
        return JSONResponse(appointment, status_code=201, headers={"Location": location})

    async def read(request: Request) -> Response:
        appointment = appointments.get(int(request.path_params["id"]))
        if appointment is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(appointment)

    async def cancel(request: Request) -> Response:
        appointment = appointments.get(int(request.path_params["id"]))
        if appointment is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        appointment["status"] = "cancelled"
        return JSONResponse(appointment)

    async def echo(request: Request) -> Response:
        return JSONResponse({"headers": dict(request.headers), "query": dict(request.query_params)})

    async def hang(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/appointments", book, methods=["POST"]),
            Route("/appointments/{id}", read, methods=["GET"]),
            Route("/appointments/{id}/cancel", cancel, methods=["POST"]),
            Route("/echo", echo),
            Route("/hang", hang),
        ]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_app(make_app()) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        yield client


BOOK_AND_CANCEL: dict[str, Any] = {
    "name": "book and cancel",
    "steps": [
        {
            "name": "book",
            "request": {"method": "POST", "path": "/appointments", "json": {"slot": 42}},
            "expect": {
                "status": 201,
                "json": {"status": "booked", "id": "~^[0-9]+$"},
                "headers": {"location": "/appointments/[0-9]+$"},
                "max_latency": "2s",
            },
            "capture": {"id": "$.id", "slot": "$.slot"},
        },
        {
            "name": "read",
            "request": {"path": "/appointments/{id}"},
            "expect": {"status": [200, 203], "json": {"$.slot": "{slot}", "status": "booked"}},
        },
        {
            "name": "cancel",
            "request": {"method": "POST", "path": "/appointments/{id}/cancel"},
            "expect": {"json": {"status": "cancelled"}},
        },
    ],
}


# -- JSONPath subset ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def document_and_path(draw: st.DrawFn) -> tuple[Any, str, Any]:
    """A JSON document, a JSONPath to some node in it, and that node."""
    document = draw(json_values)
    node, expression = document, "$"
    while draw(st.booleans()):
        if isinstance(node, list) and node:
            index = draw(st.integers(-len(node), len(node) - 1))
            node, expression = node[index], f"{expression}[{index}]"
        elif isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            escaped = key.replace("\\", "\\\\").replace("'", "\\'")
            node, expression = node[key], f"{expression}['{escaped}']"
        else:
            break
    return document, expression, node


@given(document_and_path())
def test_a_jsonpath_built_from_a_document_finds_its_node(case: tuple[Any, str, Any]) -> None:
    document, expression, node = case
    assert evaluate_path(document, expression) == node


def test_jsonpath_supports_dots_indexes_and_quotes_and_rejects_the_rest() -> None:
    body = {"items": [{"id": 1}, {"id": 2}], "a b": {"c": True}}
    assert parse_path("$.items[-1].id") == ["items", -1, "id"]
    assert evaluate_path(body, "$.items[-1].id") == 2
    assert evaluate_path(body, "$['a b'].c") is True
    assert evaluate_path(body, '$["a b"]') == {"c": True}
    with pytest.raises(KeyError):
        evaluate_path(body, "$.items[5]")
    for unsupported in ("items", "$.items[*]", "$..id", "$.items[?(@.id)]"):
        with pytest.raises(ValueError, match="JSONPath"):
            parse_path(unsupported)


# -- placeholders ------------------------------------------------------------------------------


def test_placeholders_keep_json_types_quote_paths_and_escape_braces() -> None:
    values = {"id": 7, "name": "a b/c", "tags": ["x"]}
    assert substitute({"id": "{id}", "tags": "{tags}"}, values) == {"id": 7, "tags": ["x"]}
    assert substitute("/things/{id}/{name}", values, quote_values=True) == "/things/7/a%20b%2Fc"
    assert substitute(["{{literal}}", "n={name}"], values) == ["{literal}", "n=a b/c"]
    with pytest.raises(KeyError, match="missing"):
        substitute("{missing}", values)


# -- expectations ------------------------------------------------------------------------------


def test_body_matching_is_a_subset_with_regexes_and_strict_json_types() -> None:
    body = {"id": 12, "status": "booked", "when": {"day": "2030-01-02"}, "ok": True, "tag": "~x"}
    assert match_body({"status": "booked", "when": {"day": "~^2030-"}}, body) == []
    assert match_body({"$.when.day": "2030-01-02", "tag": "~~x", "ok": True}, body) == []
    assert match_body({"id": "~^[0-9]+$"}, body) == []
    problems = match_body(
        {"status": "cancelled", "ok": 1, "when": {"day": "~^2031"}, "nope": None}, body
    )
    assert problems == [
        '$.status is "booked", expected "cancelled"',
        "$.ok is true, expected 1",
        '$.when.day is "2030-01-02", which does not match /^2031/',
        "$.nope is missing (expected null)",
    ]


def test_flow_validation_lists_every_problem_at_once() -> None:
    section = {
        "flows": [
            {"name": "a", "steps": [{"request": {"path": "/x/{id}"}}]},
            {
                "name": "a",
                "steps": [
                    {
                        "request": {"path": "/x"},
                        "expect": {"headers": {"location": "("}, "json": {"$.a[*]": 1}},
                        "capture": {"id": "$..id"},
                    }
                ],
            },
        ]
    }
    with pytest.raises(ConfigError) as error:
        check_flows(section)
    problems = error.value.problems
    assert len(problems) == 5
    assert "{id} is not captured by an earlier step" in problems[0]
    assert "'a' is used by two flows" in problems[1]
    assert "expect.headers.location: invalid regular expression" in problems[2]
    assert "expect.json: unsupported JSONPath '$.a[*]'" in problems[3]
    assert "capture.id: unsupported JSONPath '$..id'" in problems[4]
    check_flows({"flows": [BOOK_AND_CANCEL]})


# -- runs against a real server ----------------------------------------------------------------


def test_a_flow_captures_values_and_passes_them_on(client: httpx.Client) -> None:
    result = run_flow(client, BOOK_AND_CANCEL)
    assert result.passed, [f.message for f in result.findings]
    assert [step.name for step in result.steps] == ["book", "read", "cancel"]
    assert [step.status for step in result.steps] == [201, 200, 200]
    booked_id = result.steps[0].captured["id"]
    assert result.steps[1].url.endswith(f"/appointments/{booked_id}")
    assert len(result.latencies_ms) == 3
    assert all(latency > 0 for latency in result.latencies_ms)


def test_the_first_failing_step_ends_the_flow_and_says_why(client: httpx.Client) -> None:
    flow = {
        "name": "bad booking",
        "steps": [
            {
                "name": "book",
                "request": {"method": "POST", "path": "/appointments", "json": {"slot": "x"}},
                "expect": {"status": 201},
                "capture": {"id": "$.id"},
            },
            {"request": {"path": "/appointments/{id}"}},
        ],
    }
    result = run_flow(client, flow)
    assert not result.passed
    assert len(result.steps) == 1
    assert result.skipped_steps == ["step 2 (GET /appointments/{id})"]
    [finding] = result.findings
    assert finding.rule == "smoke-status"
    assert finding.location == "bad booking"
    assert finding.message.startswith(
        "flow 'bad booking', step 'book' (POST /appointments): expected 201, got 422"
    )
    assert "slot must be an integer" in finding.message


def test_default_expectation_is_a_2xx_status(client: httpx.Client) -> None:
    flow = {"name": "missing", "steps": [{"request": {"path": "/appointments/999999"}}]}
    result = run_flow(client, flow)
    assert [f.rule for f in result.findings] == ["smoke-status"]
    assert "expected a 2xx status, got 404" in result.findings[0].message


def test_header_body_and_capture_mismatches_are_findings(client: httpx.Client) -> None:
    flow = {
        "name": "mismatches",
        "steps": [
            {
                "request": {"method": "POST", "path": "/appointments", "json": {"slot": 1}},
                "expect": {
                    "headers": {"location": "^/bookings/", "x-missing": "."},
                    "json": {"status": "pending"},
                },
            }
        ],
    }
    result = run_flow(client, flow)
    assert sorted(f.rule for f in result.findings) == ["smoke-body", "smoke-header", "smoke-header"]
    text = "\n".join(f.message for f in result.findings)
    assert '$.status is "booked", expected "pending"' in text
    pattern = r"header 'location' is '/appointments/\d+', which does not match /\^/bookings//"
    assert re.search(pattern, text)
    assert "header 'x-missing' is missing" in text
    capture = {
        "name": "capture",
        "steps": [{"request": {"path": "/echo"}, "capture": {"id": "$.id"}}],
    }
    [finding] = run_flow(client, capture).findings
    assert finding.rule == "smoke-capture"
    assert "cannot capture 'id': $.id is not in the body" in finding.message


def test_secrets_in_headers_never_reach_messages(base_url: str) -> None:
    flow = {
        "name": "echo",
        "steps": [
            {
                "request": {"path": "/echo", "headers": {"X-Session-Key": "step-secret-value"}},
                "expect": {"json": {"query": {"never": "there"}}},
            }
        ],
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=2.0) as client:
        result = run_flow(client, flow)
    assert not result.passed
    text = "\n".join(f.message for f in result.findings)
    assert "query" in text
    assert TOKEN not in text
    assert "step-secret-value" not in text


def test_a_hanging_step_fails_with_a_timeout_in_bounded_time(base_url: str) -> None:
    flow = {
        "name": "slow",
        "steps": [{"request": {"path": "/hang"}}, {"request": {"path": "/echo"}}],
    }
    with httpx.Client(base_url=base_url, timeout=0.3) as client:
        result = run_flow(client, flow)
    [finding] = result.findings
    assert finding.rule == "smoke-timeout"
    assert "no complete answer within 300ms" in finding.message
    assert result.skipped_steps == ["step 2 (GET /echo)"]


def test_latency_is_measured_with_the_injected_clock() -> None:
    ticks = iter([10.0, 10.75, 20.0, 20.1])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    flow = {
        "name": "timed",
        "steps": [
            {"request": {"path": "/a"}, "expect": {"max_latency": "500ms"}},
        ],
    }
    transport = httpx.MockTransport(handler)
    with httpx.Client(base_url="http://svc", transport=transport) as client:
        result = run_flow(client, flow, clock=lambda: next(ticks))
        assert result.steps[0].latency_ms == pytest.approx(750)
        [finding] = result.findings
        assert finding.rule == "smoke-latency"
        assert "took 750ms, more than max_latency 500ms" in finding.message
        fast = run_flow(client, flow, clock=lambda: next(ticks))
        assert fast.passed
        assert fast.latencies_ms == [pytest.approx(100)]


def test_connection_errors_are_findings_not_exceptions() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(base_url="http://svc", transport=httpx.MockTransport(handler)) as client:
        result = run_flow(client, {"name": "down", "steps": [{"request": {"path": "/a"}}]})
    [finding] = result.findings
    assert finding.rule == "smoke-error"
    assert "request failed: connection refused" in finding.message


# -- the reference booking service -----------------------------------------------------------

BOOK_READ_CANCEL: dict[str, Any] = {
    "name": "book, read and cancel",
    "steps": [
        {
            "name": "book",
            "request": {
                "method": "POST",
                "path": "/appointments",
                "json": {
                    "provider_id": "3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13",
                    "patient_name": "Alan Turing",
                    "patient_email": "alan@example.com",
                    "starts_at": "2030-01-07T09:30:00Z",
                },
            },
            "expect": {
                "status": 201,
                "json": {"status": "booked"},
                "headers": {"location": "/appointments/{{0,1}}[0-9a-f-]+$"},
            },
            "capture": {"id": "$.id"},
        },
        {
            "name": "read",
            "request": {"path": "/appointments/{id}"},
            "expect": {"status": 200, "json": {"id": "{id}", "status": "booked"}},
        },
        {
            "name": "cancel",
            "request": {"method": "POST", "path": "/appointments/{id}/cancel"},
            "expect": {"status": 200, "json": {"status": "cancelled"}},
        },
    ],
}


def test_the_healthy_reference_service_passes_a_booking_flow() -> None:
    with serve_booking_api() as url, httpx.Client(base_url=url, timeout=5) as client:
        result = run_flow(client, BOOK_READ_CANCEL)
    assert result.passed, [f.message for f in result.findings]
    assert [step.status for step in result.steps] == [201, 200, 200]


def test_the_lose_created_fault_fails_the_booking_flow_at_the_read() -> None:
    with (
        serve_booking_api(["lose_created"]) as url,
        httpx.Client(base_url=url, timeout=5) as client,
    ):
        result = run_flow(client, BOOK_READ_CANCEL)
    [finding] = result.findings
    assert finding.rule == "smoke-status"
    assert "step 'read'" in finding.message
    assert "expected 200, got 404" in finding.message
    assert result.skipped_steps == ["cancel"]


# -- the smoke section of deployment-config.json ----------------------------------------------


def test_the_documented_flows_are_valid_and_mistakes_are_explained() -> None:
    assert validate({"smoke": {"flows": [BOOK_AND_CANCEL, BOOK_READ_CANCEL]}}) == []
    bad = {
        "flows": [{"name": "x", "steps": [{"request": {"path": "x"}, "expect": {"status": 999}}]}]
    }
    assert [str(p) for p in validate({"smoke": bad})] == [
        'smoke.flows[0].steps[0].request.path: must be a URL path starting with "/", '
        'such as "/appointments/{id}" (got "x")',
        "smoke.flows[0].steps[0].expect.status: must be an integer from 100 to 599 (got 999)",
    ]


def test_a_secret_crossing_the_body_preview_cut_is_masked_whole() -> None:
    # the preview keeps 300 characters: cut first, the token's first characters would stay
    body = "<html>" + "x" * 288 + TOKEN + "</html>"

    def serve(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=body, headers={"X-Echo": "z" * 298 + TOKEN})

    flows = [
        {"name": "status", "steps": [{"request": {"path": "/"}}]},
        {
            "name": "json",
            "steps": [{"request": {"path": "/"}, "expect": {"status": 500, "json": {}}}],
        },
        {
            "name": "header",
            "steps": [
                {"request": {"path": "/"}, "expect": {"status": 500, "headers": {"X-Echo": "^a"}}}
            ],
        },
    ]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(
        transport=httpx.MockTransport(serve), base_url="http://svc", headers=headers
    ) as client:
        for flow in flows:
            [finding] = run_flow(client, flow).findings
            assert "***" in finding.message
            assert TOKEN[:6] not in finding.message


def test_a_redirect_fails_a_step_that_expects_no_particular_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/login"})

    with httpx.Client(base_url="http://svc", transport=httpx.MockTransport(handler)) as client:
        result = run_flow(client, {"name": "moved", "steps": [{"request": {"path": "/a"}}]})
    [finding] = result.findings
    assert finding.rule == "smoke-status"
    assert "expected a 2xx status, got 302, a redirect to /login" in finding.message
    assert "target.max_redirects" in finding.message


def test_a_body_nested_too_deep_is_a_finding_in_checks_and_captures() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" * 50_000 + b"]" * 50_000)

    steps = [
        {"request": {"path": "/a"}, "expect": {"json": {"$[0]": 1}}},
        {"request": {"path": "/a"}, "capture": {"first": "$[0]"}},
    ]
    with httpx.Client(base_url="http://svc", transport=httpx.MockTransport(handler)) as client:
        checked = run_flow(client, {"name": "deep", "steps": steps[:1]})
        captured = run_flow(client, {"name": "deep", "steps": steps[1:]})
    assert [f.rule for f in checked.findings] == ["smoke-body"]
    assert "body nested deeper than 100 levels" in checked.findings[0].message
    assert [f.rule for f in captured.findings] == ["smoke-capture"]
    assert (
        "cannot capture first: body nested deeper than 100 levels" in captured.findings[0].message
    )

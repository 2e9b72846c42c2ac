"""Contract, negative and stateful runs against a real server with known faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_deploycheck.core.bounds import Bounds
from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.errors import ConfigError, SpecError
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.live.contract import (
    DEFAULT_CHECKS,
    contract_operations,
    contract_settings,
    run_contract,
    run_stateful,
)
from tests.live_server import REPO_ROOT, free_port, serve_app, serve_booking_api

TOKEN = "s3cr3t-token-value"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = {"max_examples": 5, "seed": 7}

THING = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "additionalProperties": False,
}
NEW_THING = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 20}},
    "additionalProperties": False,
}
ERROR = {"application/json": {"schema": {"type": "object"}}}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "things", "version": "1"},
    "paths": {
        "/things": {
            "get": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10},
                    }
                ],
                "responses": {"200": _json({"type": "array", "items": THING})},
            },
            "post": {
                "operationId": "createThing",
                "requestBody": _body(NEW_THING),
                "responses": {
                    "201": {
                        **_json(THING, "created"),
                        "links": {
                            "GetThing": {
                                "operationId": "getThing",
                                "parameters": {"thing_id": "$response.body#/id"},
                            }
                        },
                    },
                    "422": {"description": "invalid", "content": ERROR},
                },
            },
        },
        "/things/{thing_id}": {
            "get": {
                "operationId": "getThing",
                "parameters": [
                    {
                        "name": "thing_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": _json(THING),
                    "404": {"description": "missing", "content": ERROR},
                },
            }
        },
        "/broken": {"get": {"responses": {"200": _json(THING)}}},
        "/bad-body": {"get": {"responses": {"200": _json(THING)}}},
        "/hang": {"get": {"responses": {"200": _json(THING)}}},
        "/lenient": {
            "post": {
                "requestBody": _body(NEW_THING),
                "responses": {
                    "201": _json(THING, "created"),
                    "422": {"description": "invalid", "content": ERROR},
                },
            }
        },
        "/examples": {
            "get": {
                "parameters": [
                    {
                        "name": "color",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "enum": ["red", "green", "blue"]},
                        "examples": {"r": {"value": "red"}, "g": {"value": "green"}},
                    }
                ],
                "responses": {"200": _json(THING)},
            }
        },
    },
}


def make_app(*, lose_created: bool = False, seen: list[str] | None = None) -> Starlette:
    """A small service implementing DOCUMENT, with faults on the endpoints named after them."""
    things: dict[int, dict[str, Any]] = {}

    def valid(body: Any) -> bool:
        return (
            isinstance(body, dict)
            and set(body) == {"name"}
            and isinstance(body["name"], str)
            and 1 <= len(body["name"]) <= 20
        )

    async def read_json(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    async def list_things(request: Request) -> Response:
        if seen is not None:
            seen.append(str(request.url.query))
        limit = request.query_params.get("limit", "10")
        if not limit.isdigit() or not 1 <= int(limit) <= 10:
            return JSONResponse({"detail": "bad limit"}, status_code=422)
        return JSONResponse(list(things.values())[: int(limit)])

    async def create_thing(request: Request) -> Response:
        body = await read_json(request)
        if not valid(body):
            return JSONResponse({"detail": "invalid"}, status_code=422)
        thing = {"id": len(things) + 1, "name": body["name"]}
        if not lose_created:
            things[thing["id"]] = thing
        return JSONResponse(thing, status_code=201)

    async def get_thing(request: Request) -> Response:
        raw = request.path_params["thing_id"]
        if not raw.lstrip("-").isdigit():
            return JSONResponse({"detail": "invalid"}, status_code=404)
        thing = things.get(int(raw))
        if thing is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(thing)

    async def broken(request: Request) -> Response:
        return Response("Internal Server Error", status_code=500)

    async def bad_body(request: Request) -> Response:
        return JSONResponse({"id": "not-a-number", "name": 5})

    async def hang(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({"id": 1, "name": "late"})

    async def lenient(request: Request) -> Response:
        return JSONResponse({"id": 1, "name": "anything"}, status_code=201)

    async def examples(request: Request) -> Response:
        color = request.query_params.get("color")
        if color not in ("red", "green", "blue"):
            return JSONResponse({"detail": "bad color"}, status_code=422)
        return JSONResponse({"id": 1, "name": color})

    return Starlette(
        routes=[
            Route("/things", list_things, methods=["GET"]),
            Route("/things", create_thing, methods=["POST"]),
            Route("/things/{thing_id}", get_thing, methods=["GET"]),
            Route("/broken", broken),
            Route("/bad-body", bad_body),
            Route("/hang", hang),
            Route("/lenient", lenient, methods=["POST"]),
            Route("/examples", examples),
        ]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_app(make_app()) as url:
        yield url


# -- settings ----------------------------------------------------------------------------------


def test_settings_apply_defaults_then_section_then_mode_then_operation() -> None:
    section = {
        "max_examples": 40,
        "deadline": "2s",
        "negative": {"max_examples": 30},
        "operations": {"POST /things": {"max_examples": 20, "checks": {"use_after_free": True}}},
        "checks": {"response_headers_conformance": False},
    }
    default = contract_settings({})
    assert (default.max_examples, default.deadline, default.max_time) == (50, 5.0, 120.0)
    assert default.checks == DEFAULT_CHECKS["positive"]
    positive = contract_settings(section, "GET /things")
    assert positive.max_examples == 40
    assert positive.deadline == 2.0
    assert "response_headers_conformance" not in positive.checks
    negative = contract_settings(section, "GET /things", "negative")
    assert negative.max_examples == 30
    assert negative.family == "negative"
    assert "negative_data_rejection" in negative.checks
    specific = contract_settings(section, "POST /things", "negative")
    assert specific.max_examples == 20
    assert "use_after_free" in specific.checks
    stateful = contract_settings({"stateful": {"max_steps": 4, "enabled": False}}, None, "stateful")
    assert (stateful.max_examples, stateful.max_steps, stateful.enabled) == (20, 4, False)
    assert "ensure_resource_availability" in stateful.checks


def test_operations_leave_out_excluded_ones_and_reject_unknown_labels() -> None:
    spec = Spec(DOCUMENT)
    labels = contract_operations(spec, {"exclude": ["GET /hang"]})
    assert "GET /hang" not in labels
    assert "GET /things/{thing_id}" in labels
    assert len(labels) == len(spec.operations) - 1
    with pytest.raises(ConfigError) as error:
        contract_operations(spec, {"exclude": ["GET /thing"], "operations": {"GET /nope": {}}})
    assert "contract.exclude: 'GET /thing'" in str(error.value)
    assert "did you mean 'GET /things'?" in str(error.value)
    assert "contract.operations: 'GET /nope'" in str(error.value)


def test_an_unknown_operation_label_is_a_spec_error(base_url: str) -> None:
    with pytest.raises(SpecError, match=r"'GET /thingz' is not an operation.*did you mean"):
        run_contract(Spec(DOCUMENT), base_url, "GET /thingz", FAST)


# -- positive ------------------------------------------------------------------------------


def test_a_conforming_operation_passes_and_reports_its_requests(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "GET /things", FAST, headers=AUTH)
    assert result.passed, [f.message for f in result.findings]
    assert result.findings == []
    assert result.cases >= 5
    assert len(result.latencies_ms) == result.cases == len(result.outcomes)
    assert all(0 < latency < 5000 for latency in result.latencies_ms)
    assert result.seed == 7
    assert result.family == "contract"
    assert not result.timed_out


def test_a_server_error_names_operation_check_and_a_redacted_curl(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "GET /broken", FAST, headers=AUTH)
    assert not result.passed
    by_rule = {finding.rule: finding for finding in result.findings}
    finding = by_rule["contract-not-a-server-error"]
    assert finding.location == "GET /broken"
    assert finding.message.startswith("GET /broken: not_a_server_error failed")
    assert "Response: 500" in finding.message
    assert f"curl -X GET -H 'Authorization: ***' {base_url}/broken" in finding.message
    assert "(seed 7)" in finding.message
    assert all(TOKEN not in f.message for f in result.findings)


def test_a_body_that_breaks_its_schema_fails_response_schema_conformance(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "GET /bad-body", FAST)
    rules = {finding.rule for finding in result.findings}
    assert "contract-response-schema-conformance" in rules
    assert "contract-not-a-server-error" not in rules


def test_switching_a_check_off_in_config_silences_it(base_url: str) -> None:
    settings = {**FAST, "checks": {"response_schema_conformance": False}}
    result = run_contract(Spec(DOCUMENT), base_url, "GET /bad-body", settings)
    assert result.passed, [f.message for f in result.findings]


def test_the_examples_phase_alone_sends_the_spec_examples(base_url: str) -> None:
    settings = {"phases": ["examples"], "seed": 1}
    result = run_contract(Spec(DOCUMENT), base_url, "GET /examples", settings)
    assert result.passed
    assert result.cases == 2  # one request per example: red and green


def test_the_same_seed_sends_the_same_requests() -> None:
    seen: list[str] = []
    with serve_app(make_app(seen=seen)) as url:
        settings = {"max_examples": 8, "seed": 12345, "phases": ["fuzzing"]}
        run_contract(Spec(DOCUMENT), url, "GET /things", settings)
        first = list(seen)
        seen.clear()
        run_contract(Spec(DOCUMENT), url, "GET /things", settings)
        assert seen == first
        assert len(first) >= 2
        seen.clear()
        run_contract(Spec(DOCUMENT), url, "GET /things", {**settings, "seed": 54321})
        assert seen != first


def test_a_path_to_the_spec_file_works_like_a_document(base_url: str, tmp_path: Any) -> None:
    path = tmp_path / "things.json"
    path.write_text(json.dumps(DOCUMENT))
    result = run_contract(path, base_url, "GET /broken", FAST)
    assert "contract-not-a-server-error" in {f.rule for f in result.findings}


# -- timeouts ------------------------------------------------------------------------------


def test_a_hanging_operation_fails_with_a_timeout_in_bounded_time(base_url: str) -> None:
    started = time.monotonic()
    result = run_contract(Spec(DOCUMENT), base_url, "GET /hang", {**FAST, "deadline": "300ms"})
    elapsed = time.monotonic() - started
    assert not result.passed
    assert any("no complete answer within 300ms" in f.message for f in result.findings)
    assert elapsed < 3


def test_the_target_timeout_applies_when_shorter_than_the_deadline(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "GET /hang", FAST, timeout=0.2)
    assert any("no complete answer within 200ms" in f.message for f in result.findings)


def test_an_unreachable_target_fails_with_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_contract(Spec(DOCUMENT), url, "GET /things", FAST, headers=AUTH)
    assert time.monotonic() - started < 10
    assert not result.passed
    assert {f.rule for f in result.findings} == {"contract-error"}
    assert "GET /things: network error" in result.findings[0].message
    assert "connection refused: nothing listens" in result.findings[0].message
    assert all(TOKEN not in f.message for f in result.findings)


def test_max_time_stops_a_slow_run_and_fails_the_item(base_url: str) -> None:
    started = time.monotonic()
    settings = {"max_examples": 50, "seed": 1, "max_time": "1s", "deadline": "1500ms"}
    result = run_contract(Spec(DOCUMENT), base_url, "GET /hang", settings)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert "contract-timeout" in {f.rule for f in result.findings}
    assert "did not finish within 1s (contract.max_time)" in result.findings[-1].message
    # Stopped at the limit, plus at most one deadline for the request in flight.
    assert elapsed < 1 + 1.5 + 1.5


# -- negative ------------------------------------------------------------------------------


def test_negative_mode_passes_when_invalid_input_is_rejected(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "POST /things", FAST, mode="negative")
    assert result.passed, [f.message for f in result.findings]
    assert result.family == "negative"
    assert result.cases > 0


def test_negative_mode_takes_any_4xx_rejection_documented_or_not(base_url: str) -> None:
    # GET /examples documents only 200 and rejects a bad color with an undocumented 422
    result = run_contract(Spec(DOCUMENT), base_url, "GET /examples", FAST, mode="negative")
    assert result.passed, [f.message for f in result.findings]
    assert result.cases > 0
    strict = {**FAST, "checks": {"status_code_conformance": True}}
    held = run_contract(Spec(DOCUMENT), base_url, "GET /examples", strict, mode="negative")
    assert "negative-status-code-conformance" in {f.rule for f in held.findings}


def test_negative_mode_catches_invalid_input_accepted_with_201(base_url: str) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "POST /lenient", FAST, mode="negative")
    finding = next(f for f in result.findings if f.rule == "negative-negative-data-rejection")
    assert finding.message.startswith("POST /lenient: negative_data_rejection failed")
    assert "Response: 201" in finding.message
    assert "curl -X POST" in finding.message


def test_positive_mode_does_not_send_invalid_input_to_the_lenient_endpoint(
    base_url: str,
) -> None:
    result = run_contract(Spec(DOCUMENT), base_url, "POST /lenient", FAST)
    assert result.passed, [f.message for f in result.findings]


# -- stateful ------------------------------------------------------------------------------


def test_stateful_follows_links_and_passes_on_a_consistent_service(base_url: str) -> None:
    settings = {
        "seed": 3,
        "stateful": {"max_examples": 5, "max_steps": 4},
        "exclude": ["GET /hang"],
    }
    result = run_stateful(Spec(DOCUMENT), base_url, settings, headers=AUTH)
    assert result.passed, [f.message for f in result.findings]
    assert result.family == "stateful"
    assert result.cases > 0


def test_stateful_catches_a_resource_lost_right_after_creation() -> None:
    settings = {
        "seed": 3,
        "stateful": {"max_examples": 10, "max_steps": 4},
        "exclude": ["GET /hang"],
    }
    with serve_app(make_app(lose_created=True)) as url:
        result = run_stateful(Spec(DOCUMENT), url, settings, headers=AUTH)
    rules = {f.rule for f in result.findings}
    assert "stateful-ensure-resource-availability" in rules, rules
    finding = next(f for f in result.findings if f.rule == "stateful-ensure-resource-availability")
    # The reproduction shows the whole sequence: the creation, then the read that 404s.
    assert "curl -X POST" in finding.message
    assert "curl -X GET" in finding.message
    assert TOKEN not in finding.message


def test_stateful_without_links_reports_nothing_to_test(base_url: str) -> None:
    only_one = {**DOCUMENT, "paths": {"/broken": DOCUMENT["paths"]["/broken"]}}
    result = run_stateful(only_one, base_url, {"seed": 1})
    assert result.passed
    assert [f.rule for f in result.findings] == ["stateful-nothing-to-test"]
    assert result.findings[0].severity.value == "info"


# -- the reference booking service -----------------------------------------------------------

BOOKING_SPEC = REPO_ROOT / "specs" / "booking.openapi.yaml"
QUICK = {"max_examples": 3, "seed": 1, "phases": ["examples", "fuzzing"]}


@pytest.fixture(scope="module")
def booking() -> Iterator[str]:
    with serve_booking_api() as url:
        yield url


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_healthy_reference_service_passes_every_operation(booking: str, mode: str) -> None:
    spec = load_spec(BOOKING_SPEC)
    labels = contract_operations(spec, {})
    assert len(labels) >= 10
    for label in labels:
        result = run_contract(spec, booking, label, QUICK, mode=mode)  # type: ignore[arg-type]
        assert result.passed, [f.message for f in result.findings]


def test_the_healthy_reference_service_passes_the_stateful_run(booking: str) -> None:
    settings = {"seed": 1, "stateful": {"max_examples": 5, "max_steps": 5}}
    result = run_stateful(load_spec(BOOKING_SPEC), booking, settings)
    assert result.passed, [f.message for f in result.findings]
    assert result.cases > 5


@pytest.mark.parametrize(
    ("fault", "label", "mode", "rule"),
    [
        ("server_error", "GET /providers", "positive", "contract-not-a-server-error"),
        (
            "bad_body",
            "GET /appointments/{appointment_id}",
            "positive",
            "contract-response-schema-conformance",
        ),
        ("accept_invalid", "POST /appointments", "negative", "negative-negative-data-rejection"),
    ],
)
def test_each_reference_fault_is_caught_by_its_family(
    fault: str, label: str, mode: str, rule: str
) -> None:
    spec = load_spec(BOOKING_SPEC)
    with serve_booking_api([fault]) as url:
        result = run_contract(spec, url, label, FAST, mode=mode)  # type: ignore[arg-type]
        assert rule in {f.rule for f in result.findings}
        # The other operations are not affected by this fault.
        assert run_contract(spec, url, "GET /providers/{provider_id}", QUICK).passed


def test_the_lose_created_fault_is_caught_by_the_stateful_run() -> None:
    settings = {"seed": 1, "stateful": {"max_examples": 10}}
    with serve_booking_api(["lose_created"]) as url:
        result = run_stateful(load_spec(BOOKING_SPEC), url, settings)
    rules = {f.rule for f in result.findings}
    assert "stateful-ensure-resource-availability" in rules, rules


# -- the contract section of deployment-config.json -------------------------------------------

SECTIONS = REPO_ROOT / "pytest_deploycheck" / "schemas" / "sections"


def _defaults(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value["default"] for key, value in properties.items() if "default" in value}


def test_the_schema_defaults_are_the_defaults_in_code() -> None:
    properties = json.loads((SECTIONS / "contract.json").read_text())["properties"]
    explicit = _defaults(properties)
    explicit["stateful"] = _defaults(properties["stateful"]["properties"])
    explicit["negative"] = _defaults(properties["negative"]["properties"])
    for mode in ("positive", "negative", "stateful"):
        assert contract_settings(explicit, "GET /x", mode) == contract_settings({}, "GET /x", mode)


def test_the_documented_example_section_is_valid_and_typos_are_explained() -> None:
    example = {
        "max_examples": 50,
        "seed": 1,
        "deadline": "2s",
        "phases": ["examples", "coverage", "fuzzing"],
        "checks": {"not_a_server_error": True, "positive_data_acceptance": False},
        "operations": {"POST /appointments": {"max_examples": 20}},
        "negative": {"enabled": True, "max_examples": 30},
        "stateful": {"enabled": True, "max_examples": 20, "max_steps": 10},
        "exclude": ["GET /internal"],
    }
    assert validate({"contract": example}) == []
    problems = [
        str(p)
        for p in validate({"contract": {"max_exampels": 5, "checks": {"not_a_server_eror": True}}})
    ]
    assert (
        "contract.max_exampels: unknown key 'max_exampels' -> did you mean 'max_examples'?"
        in problems
    )
    assert any('did you mean "not_a_server_error"?' in problem for problem in problems)


def test_a_secret_crossing_the_body_preview_cut_is_masked_whole() -> None:
    # the preview keeps 400 bytes: cut first, the secret's first characters would stay
    secret = "env-only-secret-5521"

    async def leaky(request: Request) -> Response:
        return Response("x" * 394 + secret + "y" * 50, status_code=500)

    document = {
        "openapi": "3.1.0",
        "info": {"title": "leaky", "version": "1"},
        "paths": {"/leaky": {"get": {"responses": {"200": _json(THING)}}}},
    }
    with serve_app(Starlette(routes=[Route("/leaky", leaky)])) as url:
        result = run_contract(Spec(document), url, "GET /leaky", FAST, secrets=[secret])
    [finding] = [f for f in result.findings if f.rule == "contract-not-a-server-error"]
    assert "Response: 500, body: " + "x" * 394 + "***..." in finding.message
    assert "env-on" not in finding.message


# -- a hostile target ----------------------------------------------------------------------

ITEMS = load_spec(REPO_ROOT / "tests" / "fixtures" / "specs" / "items.openapi.json")
QUICK = {"max_examples": 2, "seed": 1, "max_time": "5s"}
MIB = 1024 * 1024


def hostile(base_url: str, mode: str = "positive", **settings: Any) -> list[str]:
    """The messages of a run against one operation of the fault server."""
    result = run_contract(
        ITEMS,
        base_url,
        "GET /items",
        {**QUICK, **settings},
        mode=mode,  # type: ignore[arg-type]
        timeout=1.0,
        bounds=Bounds(1.0, MIB),
    )
    assert not result.passed
    return [finding.message for finding in result.findings]


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("reset", "the server reset the connection"),
        ("badstatus", "answered an invalid status line: 'HTTP/1.1 OK-ish, more or less'"),
        ("short", "closed the connection after 10 of the 1000 bytes its Content-Length declared"),
        ("huge", "the answer is larger than target.max_body (1.0 MiB)"),
        ("deep", "body nested deeper than 100 levels, too deep to check"),
    ],
)
def test_what_broke_an_exchange_is_named(
    fault_server: str, mode: str, fault: str, said: str
) -> None:
    """schemathesis says "Connection failed" for all of these; the items name each."""
    messages = hostile(f"{fault_server}/{fault}", mode)
    assert any(said in message for message in messages), messages
    assert not any("Connection failed" in message for message in messages)


def test_a_tls_error_is_named(fault_server: str) -> None:
    messages = hostile(fault_server.replace("http://", "https://") + "/ok")
    assert any(
        "TLS error: [SSL: WRONG_VERSION_NUMBER] wrong version number" in m for m in messages
    ), messages


def test_an_undocumented_redirect_is_no_answer_and_a_followed_loop_fails(
    fault_server: str,
) -> None:
    messages = hostile(f"{fault_server}/loop")
    assert any("Undocumented status code" in m and "Received: 302" in m for m in messages)
    result = run_contract(
        ITEMS, f"{fault_server}/loop", "GET /items", QUICK, bounds=Bounds(1.0, MIB, 3)
    )
    assert any("a redirect loop: " in f.message for f in result.findings), result.findings


def test_max_time_ends_the_requests_in_flight(fault_server: str) -> None:
    """The request's own deadline (30s) is far off: max_time must cut it."""
    started = time.monotonic()
    result = run_contract(
        ITEMS,
        f"{fault_server}/drip",
        "GET /items",
        {**QUICK, "max_time": "1s", "deadline": "30s"},
        timeout=30.0,
    )
    assert time.monotonic() - started < 5
    assert result.timed_out
    assert "did not finish within 1s (contract.max_time)" in result.findings[-1].message


def test_a_crashed_engine_worker_fails_the_item(
    fault_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the depth check, a deep body crashes schemathesis's worker thread: the item
    must fail, not pass as an operation with nothing to test."""
    from pytest_deploycheck.live import sessions

    monkeypatch.setattr(sessions, "_refuse_deep", lambda *args: None)
    messages = hostile(f"{fault_server}/deep")
    assert any("schemathesis's worker stopped with RecursionError" in m for m in messages)

"""Drift: semantic comparison of two specs, and fetching the one a service serves."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.findings import Severity
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.live.drift import check_drift, compare_specs, fetch_served_spec, normalize
from tests.live_server import REPO_ROOT, free_port, serve_app, serve_booking_api

APPOINTMENT = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["booked", "cancelled"]},
        "note": {"type": "string", "description": "free text"},
    },
}
REPO: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "booking", "version": "1.0.0"},
    "servers": [{"url": "https://api.example.com"}],
    "security": [{"bearer": []}],
    "paths": {
        "/appointments": {
            "get": {
                "summary": "List",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Appointment"},
                                }
                            }
                        },
                    }
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["slot"],
                                "properties": {"slot": {"type": "integer"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "created",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Appointment"}
                            }
                        },
                    },
                    "409": {"description": "taken"},
                },
            },
        },
        "/appointments/{appointment_id}": {
            "parameters": [{"$ref": "#/components/parameters/AppointmentId"}],
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Appointment"}
                            }
                        },
                    },
                    "404": {"description": "missing"},
                }
            },
        },
    },
    "components": {
        "schemas": {"Appointment": APPOINTMENT},
        "parameters": {
            "AppointmentId": {
                "name": "appointment_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer"},
            }
        },
    },
}


def changed(edit: Any) -> dict[str, Any]:
    document = copy.deepcopy(REPO)
    edit(document)
    return document


def rules_and_messages(served: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in compare_specs(REPO, served)]


# -- what is not a difference --------------------------------------------------------------------


def reorder(node: Any, rng: random.Random) -> Any:
    """The same document with every mapping's keys (and set-like lists) in a new order."""
    if isinstance(node, dict):
        keys = list(node)
        rng.shuffle(keys)
        result = {}
        for key in keys:
            value = reorder(node[key], rng)
            if key in ("required", "enum") and isinstance(value, list):
                value = rng.sample(value, len(value))
            result[key] = value
        return result
    if isinstance(node, list):
        return [reorder(item, rng) for item in node]
    return node


@settings(max_examples=30)
@given(st.randoms(use_true_random=False))
def test_key_order_and_set_order_are_not_differences(rng: random.Random) -> None:
    assert compare_specs(REPO, reorder(REPO, rng)) == []


def test_servers_info_annotations_and_extensions_are_not_differences() -> None:
    def edit(document: dict[str, Any]) -> None:
        document["servers"] = [{"url": "http://127.0.0.1:8000"}]
        document["info"] = {"title": "other", "version": "2"}
        get = document["paths"]["/appointments"]["get"]
        get["summary"] = "Something else"
        get["x-internal"] = True
        get["parameters"][0]["description"] = "how many"
        get["parameters"][0]["schema"]["examples"] = [5]
        document["components"]["schemas"]["Appointment"]["title"] = "Appointment"
        document["components"]["schemas"]["Appointment"]["properties"]["note"]["example"] = "hi"

    assert compare_specs(REPO, changed(edit)) == []


def test_inlined_references_and_nullable_spellings_are_not_differences() -> None:
    inlined = changed(lambda d: d.pop("components"))
    for path in inlined["paths"].values():
        path.pop("parameters", None)
    inlined["paths"]["/appointments/{appointment_id}"]["parameters"] = [
        REPO["components"]["parameters"]["AppointmentId"]
    ]
    get_one = inlined["paths"]["/appointments/{appointment_id}"]["get"]
    get_one["responses"]["200"]["content"]["application/json"]["schema"] = APPOINTMENT
    inlined["paths"]["/appointments"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["items"] = APPOINTMENT
    inlined["paths"]["/appointments"]["post"]["responses"]["201"]["content"]["application/json"][
        "schema"
    ] = APPOINTMENT
    assert compare_specs(REPO, inlined) == []
    old_style = {"type": "string", "nullable": True}
    new_style = {"type": ["null", "string"]}
    assert normalize(old_style, {}) == normalize(new_style, {})


def test_a_renamed_path_parameter_is_the_same_operation_with_a_parameter_change() -> None:
    def edit(document: dict[str, Any]) -> None:
        item = document["paths"].pop("/appointments/{appointment_id}")
        item["parameters"] = [dict(REPO["components"]["parameters"]["AppointmentId"], name="id")]
        document["paths"]["/appointments/{id}"] = item

    found = rules_and_messages(changed(edit))
    assert found == [
        (
            "drift-parameter",
            "GET /appointments/{appointment_id}: path parameter 'appointment_id' is in the repo "
            "spec but not served",
        ),
        (
            "drift-parameter",
            "GET /appointments/{appointment_id}: path parameter 'id' is served but not in the "
            "repo spec",
        ),
    ]


def test_recursive_schemas_compare_without_looping() -> None:
    node = {
        "type": "object",
        "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
        },
    }

    def recursive(document: dict[str, Any]) -> None:
        document["components"]["schemas"]["Node"] = copy.deepcopy(node)
        content = document["paths"]["/appointments"]["get"]["responses"]["200"]["content"]
        content["application/json"]["schema"] = {"$ref": "#/components/schemas/Node"}

    ours, theirs = changed(recursive), changed(recursive)
    assert compare_specs(ours, theirs) == []
    theirs["components"]["schemas"]["Node"]["properties"]["name"] = {"type": "string"}
    [finding] = compare_specs(ours, theirs)
    assert finding.rule == "drift-response"
    assert "/properties/name" in finding.message


# -- what is a difference ------------------------------------------------------------------------


def test_added_and_removed_operations_are_findings() -> None:
    def edit(document: dict[str, Any]) -> None:
        del document["paths"]["/appointments"]["post"]
        document["paths"]["/providers"] = {"get": {"responses": {"200": {"description": "ok"}}}}

    found = rules_and_messages(changed(edit))
    assert found == [
        (
            "drift-operation-removed",
            "POST /appointments is in the repo spec but not in the spec served at the service",
        ),
        (
            "drift-operation-added",
            "the spec served at the service has GET /providers, which the repo spec lacks",
        ),
    ]


def test_parameter_changes_are_findings() -> None:
    def edit(document: dict[str, Any]) -> None:
        parameter = document["paths"]["/appointments"]["get"]["parameters"][0]
        parameter["required"] = True
        parameter["schema"]["maximum"] = 50
        document["paths"]["/appointments"]["get"]["parameters"].append(
            {"name": "status", "in": "query", "schema": {"type": "string"}}
        )

    assert rules_and_messages(changed(edit)) == [
        (
            "drift-parameter",
            "GET /appointments: query parameter 'limit' is required=False in the repo spec, "
            "required=True served",
        ),
        (
            "drift-parameter",
            "GET /appointments: query parameter 'limit' schema differs at /maximum: repo 100, "
            "served 50",
        ),
        (
            "drift-parameter",
            "GET /appointments: query parameter 'status' is served but not in the repo spec",
        ),
    ]


def test_response_and_body_changes_are_findings() -> None:
    def edit(document: dict[str, Any]) -> None:
        post = document["paths"]["/appointments"]["post"]
        del post["responses"]["409"]
        post["responses"]["422"] = {"description": "invalid"}
        post["requestBody"]["required"] = False
        body = post["requestBody"]["content"]["application/json"]["schema"]
        body["properties"]["slot"]["type"] = "string"
        appointment = document["components"]["schemas"]["Appointment"]
        appointment["properties"]["status"]["enum"] = ["booked"]
        appointment["required"] = ["id"]

    found = rules_and_messages(changed(edit))
    messages = [message for _, message in found]
    assert (
        "POST /appointments: request body is required=True in the repo spec, required=False served"
        in messages
    )
    assert (
        "POST /appointments: request body application/json schema differs at "
        '/properties/slot/type: repo "integer", served "string"' in messages
    )
    assert "POST /appointments: response 409 is in the repo spec but not served" in messages
    assert "POST /appointments: response 422 is served but not in the repo spec" in messages
    status = (
        "response 201 application/json schema differs at /properties/status/enum: "
        'repo ["booked", "cancelled"], served ["booked"]'
    )
    assert f"POST /appointments: {status}" in messages
    # The shared schema changed, so every operation using it reports it.
    assert f"GET /appointments/{{appointment_id}}: {status.replace('201', '200')}" in messages
    assert any('/required: repo ["id", "status"], served ["id"]' in m for m in messages)


def test_security_changes_are_findings() -> None:
    found = rules_and_messages(changed(lambda d: d.update(security=[])))
    assert {rule for rule, _ in found} == {"drift-security"}
    assert len(found) == 3
    assert "repo [['bearer']], served []" in found[0][1]


def test_many_schema_differences_are_summarised() -> None:
    def edit(document: dict[str, Any]) -> None:
        schema = document["paths"]["/appointments"]["post"]["requestBody"]["content"]
        schema["application/json"]["schema"]["properties"] = {
            f"p{i}": {"type": "string"} for i in range(9)
        }

    found = [m for _, m in rules_and_messages(changed(edit)) if "request body" in m]
    assert len(found) == 6
    assert (
        found[-1]
        == "POST /appointments: request body application/json schema has 5 more differences"
    )


# -- fetching from a real service ----------------------------------------------------------------


def make_app(served: dict[str, Any] | None, path: str = "/openapi.json") -> Starlette:
    async def spec(request: Request) -> Response:
        if path.endswith(".yaml"):
            return PlainTextResponse(yaml.safe_dump(served), media_type="application/yaml")
        return JSONResponse(served)

    async def not_a_spec(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    routes = [Route("/docs/openapi.json", not_a_spec)]
    if served is not None:
        routes.append(Route(path, spec))
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def healthy() -> Iterator[str]:
    with serve_app(make_app(REPO)) as url:
        yield url


def test_a_service_serving_the_repo_spec_has_no_drift(healthy: str) -> None:
    assert check_drift(healthy, Spec(REPO), {}) == []
    with httpx.Client(base_url=healthy) as client:
        assert check_drift(client, Spec(REPO), {"path": "/openapi.json"}) == []


def test_a_drifted_service_fails_with_the_configured_severity() -> None:
    drifted = changed(lambda d: d["paths"].pop("/appointments/{appointment_id}"))
    with serve_app(make_app(drifted, "/openapi.yaml")) as url:
        [finding] = check_drift(url, Spec(REPO), {})
        assert finding.rule == "drift-operation-removed"
        assert finding.severity is Severity.ERROR
        assert "served at /openapi.yaml" in finding.message
        [warning] = check_drift(url, Spec(REPO), {"severity": "warning"})
        assert warning.severity is Severity.WARNING


def test_a_service_serving_no_spec_is_info_unless_required() -> None:
    with serve_app(make_app(None)) as url:
        [info] = check_drift(url, Spec(REPO), {})
        assert info.rule == "drift-not-served"
        assert info.severity is Severity.INFO
        assert "tried /openapi.json, /openapi.yaml, /docs/openapi.json" in info.message
        [error] = check_drift(url, Spec(REPO), {"required": True, "path": "/spec"})
        assert error.severity is Severity.ERROR
        assert "tried /spec" in error.message


def test_an_unreachable_service_is_an_error_without_secrets() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    [finding] = check_drift(url, Spec(REPO), {}, headers={"Authorization": "Bearer hidden-value"})
    assert finding.rule == "drift-unreachable"
    assert finding.severity is Severity.ERROR
    assert "connection refused" in finding.message
    assert "hidden-value" not in finding.message


# -- the reference booking service -----------------------------------------------------------

BOOKING_SPEC = REPO_ROOT / "specs" / "booking.openapi.yaml"


def test_the_healthy_reference_service_serves_its_repo_spec() -> None:
    with serve_booking_api() as url:
        assert check_drift(url, load_spec(BOOKING_SPEC), {}) == []


def test_the_drift_fault_is_caught_by_drift() -> None:
    with serve_booking_api(["drift"]) as url:
        findings = check_drift(url, load_spec(BOOKING_SPEC), {})
    assert [(f.rule, f.location) for f in findings] == [
        ("drift-operation-removed", "POST /appointments/{appointment_id}/cancel")
    ]


# -- the drift section of deployment-config.json ----------------------------------------------


def test_the_drift_section_validates_and_explains_mistakes() -> None:
    assert (
        validate({"drift": {"path": "/openapi.json", "required": True, "severity": "warning"}})
        == []
    )
    problems = [str(p) for p in validate({"drift": {"required": "yes", "path": "openapi.json"}})]
    assert problems == [
        'drift.path: must be a URL path starting with "/", such as "/openapi.json" '
        '(got "openapi.json")',
        'drift.required: must be true or false (got "yes", a string)',
    ]


def test_a_served_spec_with_a_byte_order_mark_is_read() -> None:
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    body = b"\xef\xbb\xbf" + json.dumps(document).encode()

    def serve(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json; charset=utf-8"}
        return httpx.Response(200, content=body, headers=headers)

    with httpx.Client(transport=httpx.MockTransport(serve), base_url="http://svc") as client:
        assert fetch_served_spec(client, ["/openapi.json"]) == ("/openapi.json", document)


def test_a_secret_in_a_served_path_is_masked_in_every_field_of_the_finding() -> None:
    token = "tok-3c1f0a9e77d2"
    served = copy.deepcopy(REPO)
    served["paths"][f"/leak/{token}"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    schema = served["components"]["schemas"]["Appointment"]["properties"]
    schema["status"] = {"type": "string", "enum": ["booked", "x" * 50 + token]}

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=served)

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(
        transport=httpx.MockTransport(serve), base_url="http://svc", headers=headers
    ) as client:
        findings = check_drift(client, Spec(REPO), {"path": "/openapi.json"})
    rules = {finding.rule for finding in findings}
    assert "drift-operation-added" in rules
    for finding in findings:
        text = f"{finding.rule} {finding.location} {finding.message}"
        assert token[:6] not in text, text
    [added] = [f for f in findings if f.rule == "drift-operation-added"]
    assert added.location == "GET /leak/***"


# -- a hostile service ---------------------------------------------------------------------


def test_a_redirect_instead_of_the_spec_is_an_error(fault_server: str) -> None:
    """Redirects are not followed by default: a spec behind one was not compared."""
    [finding] = check_drift(f"{fault_server}/loop", Spec(REPO), {"path": "/openapi.json"})
    assert finding.rule == "drift-redirect"
    assert finding.severity is Severity.ERROR
    assert "/openapi.json answered 302, a redirect to /loop/openapi.json" in finding.message
    assert "target.max_redirects" in finding.message


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("deep", "body nested deeper than 100 levels"),
        ("huge", "the answer is larger than target.max_body (4.0 MiB)"),
        ("drip", "no complete answer within 500ms"),
        ("short", "after 10 of the 1000 bytes its Content-Length declared"),
    ],
)
def test_a_hostile_served_spec_is_an_error_not_a_crash(
    fault_server: str, fault: str, said: str
) -> None:
    [finding] = check_drift(
        f"{fault_server}/{fault}", Spec(REPO), {"path": "/openapi.json"}, timeout=0.5
    )
    assert finding.severity is Severity.ERROR
    assert said in finding.message


@pytest.mark.parametrize("levels", [500, 20_000])
def test_a_yaml_spec_nested_too_deep_is_an_error(levels: int) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        body = "openapi: 3.1.0\npaths: " + "[" * levels + "]" * levels
        return httpx.Response(200, text=body, headers={"Content-Type": "application/yaml"})

    transport = httpx.MockTransport(serve)
    with httpx.Client(base_url="http://svc", transport=transport) as client:
        [finding] = check_drift(client, Spec(REPO), {"path": "/openapi.yaml"})
    assert finding.rule == "drift-unreadable"
    assert "body nested deeper than 100 levels" in finding.message

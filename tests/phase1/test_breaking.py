"""The breaking check: rules, the base from files and git, and findings for the config."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.errors import ConfigError, SpecError
from pytest_deploycheck.core.findings import Severity
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.phase1.breaking import (
    DEFAULT_CHANGELOG,
    DEFAULT_FAIL_ON,
    RULES,
    Change,
    changelog,
    check_breaking,
    diff_specs,
    load_base,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "breaking"
SECTION_SCHEMA = (
    Path(__file__).parents[2] / "pytest_deploycheck" / "schemas" / "sections" / "breaking.json"
)
TODAY = date(2025, 6, 1)
V1: dict[str, Any] = yaml.safe_load((FIXTURES / "booking-v1.yaml").read_text(encoding="utf-8"))

PROVIDERS = "/paths/~1providers/get"
SLOTS = "/paths/~1slots/get"
PARAMS = f"{SLOTS}/parameters"
HEADERS = f"{SLOTS}/responses/200/headers"
CREATE = "/paths/~1appointments/post"
ONE = "/paths/~1appointments~1{appointment_id}"
SCHEMAS = "/components/schemas"
NEW = f"{SCHEMAS}/NewAppointment/properties"
SLOT = f"{SCHEMAS}/Slot/properties"
PAYMENT = f"{SCHEMAS}/Appointment/allOf/1/properties/payment"

Edit = tuple[Any, ...]


def _edit(document: dict[str, Any], *edits: Edit) -> dict[str, Any]:
    """Apply ("set", pointer, value), ("del", pointer) or ("add", pointer, value) edits."""
    for action, pointer, *value in edits:
        *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        node: Any = document
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        key: Any = int(last) if isinstance(node, list) else last
        if action == "set":
            node[key] = value[0]
        elif action == "del":
            del node[key]
        else:
            node[key].append(value[0])
    return document


def _diff(base_edits: tuple[Edit, ...], head_edits: tuple[Edit, ...]) -> list[Change]:
    base = _edit(copy.deepcopy(V1), *base_edits)
    head = _edit(copy.deepcopy(V1), *head_edits)
    return _all_changes(Spec(base, Path("base.yaml")), Spec(head, Path("head.yaml")))


def _all_changes(base: Spec, head: Spec) -> list[Change]:
    return diff_specs(base, head, today=TODAY) + changelog(base, head)


DEPRECATED_PROVIDERS = ("set", f"{PROVIDERS}/deprecated", True)
DEPRECATED_DELETE = ("set", f"{ONE}/delete/deprecated", True)

# (rule, level, edits of the base, edits of the head, words the message must contain)
CASES: list[tuple[str, str, tuple[Edit, ...], tuple[Edit, ...], str]] = [
    (
        "api-path-removed-without-deprecation",
        "ERR",
        (),
        (("del", "/paths/~1providers"),),
        "/providers",
    ),
    (
        "api-path-removed-before-sunset",
        "ERR",
        (DEPRECATED_PROVIDERS, ("set", f"{PROVIDERS}/x-sunset", "2099-12-31")),
        (("del", "/paths/~1providers"),),
        "before its sunset date 2099-12-31",
    ),
    (
        "api-path-removed-with-deprecation",
        "INFO",
        (DEPRECATED_PROVIDERS, ("set", f"{PROVIDERS}/x-sunset", "2020-01-01")),
        (("del", "/paths/~1providers"),),
        "sunset date 2020-01-01",
    ),
    ("api-removed-without-deprecation", "ERR", (), (("del", f"{ONE}/delete"),), "deprecated: true"),
    (
        "api-removed-before-sunset",
        "ERR",
        (DEPRECATED_DELETE, ("set", f"{ONE}/delete/x-sunset", date(2030, 1, 31))),
        (("del", f"{ONE}/delete"),),
        "2030-01-31",
    ),
    (
        "api-removed-with-deprecation",
        "INFO",
        (DEPRECATED_DELETE,),
        (("del", f"{ONE}/delete"),),
        "no sunset date",
    ),
    (
        "api-path-sunset-parse",
        "ERR",
        (DEPRECATED_DELETE, ("set", f"{ONE}/delete/x-sunset", "next spring")),
        (("del", f"{ONE}/delete"),),
        "'next spring', not a date",
    ),
    (
        "api-operation-id-changed",
        "WARN",
        (),
        (("set", f"{SLOTS}/operationId", "getSlots"),),
        "'listSlots' to 'getSlots'",
    ),
    (
        "api-tag-removed",
        "INFO",
        (),
        (("set", f"{SLOTS}/tags", ["search"]),),
        "tag 'slots' was removed",
    ),
    ("api-tag-added", "INFO", (), (("add", f"{SLOTS}/tags", "search"),), "tag 'search'"),
    (
        "endpoint-added",
        "INFO",
        (),
        (("set", f"{ONE}/patch", {"responses": {"200": {"description": "ok"}}}),),
        "PATCH /appointments/{appointment_id}",
    ),
    (
        "endpoint-deprecated",
        "INFO",
        (),
        (("set", f"{SLOTS}/deprecated", True), ("set", f"{SLOTS}/x-sunset", "2026-01-01")),
        "sunset 2026-01-01",
    ),
    (
        "endpoint-reactivated",
        "INFO",
        (("set", f"{SLOTS}/deprecated", True),),
        (),
        "no longer deprecated",
    ),
    # security: /providers is anonymous, everything else inherits bearerAuth
    (
        "api-security-added",
        "ERR",
        (),
        (("del", f"{PROVIDERS}/security"),),
        "now requires authentication (bearerAuth)",
    ),
    ("api-security-removed", "INFO", (), (("set", f"{SLOTS}/security", []),), "was bearerAuth"),
    (
        "api-security-alternative-removed",
        "ERR",
        (),
        (("set", f"{ONE}/get/security", [{"oauth": ["appointments:read"]}]),),
        "authenticating with apiKey",
    ),
    (
        "api-security-scope-added",
        "ERR",
        (),
        (("add", f"{ONE}/get/security/0/oauth", "appointments:write"),),
        "scope(s) appointments:write",
    ),
    # parameters
    (
        "request-parameter-removed",
        "WARN",
        (),
        (("del", f"{PARAMS}/2"),),
        "query parameter 'day' was removed",
    ),
    (
        "new-required-request-parameter",
        "ERR",
        (),
        (
            (
                "add",
                PARAMS,
                {"name": "Tenant", "in": "header", "required": True, "schema": {"type": "string"}},
            ),
        ),
        "header parameter 'Tenant'",
    ),
    (
        "new-optional-request-parameter",
        "INFO",
        (),
        (("add", PARAMS, {"name": "sort", "in": "query", "schema": {"type": "string"}}),),
        "query parameter 'sort'",
    ),
    (
        "request-parameter-became-required",
        "ERR",
        (),
        (("set", f"{PARAMS}/0/required", True),),
        "'provider_id' became required",
    ),
    (
        "request-parameter-became-optional",
        "INFO",
        (("set", f"{PARAMS}/0/required", True),),
        (),
        "'provider_id' became optional",
    ),
    (
        "request-parameter-type-changed",
        "ERR",
        (),
        (("set", f"{PARAMS}/1/schema/type", "string"),),
        "'limit' changed from 'integer' to 'string'",
    ),
    (
        "request-parameter-enum-value-removed",
        "ERR",
        (),
        (("set", f"{PARAMS}/3/schema/enum", ["open", "held"]),),
        'value "booked" was removed',
    ),
    (
        "request-parameter-enum-value-added",
        "INFO",
        (),
        (("add", f"{PARAMS}/3/schema/enum", "blocked"),),
        'value "blocked" was added',
    ),
    (
        "request-parameter-became-enum",
        "ERR",
        (),
        (("set", f"{PARAMS}/0/schema/enum", ["p-1", "p-2"]),),
        'restricted to ["p-1", "p-2"]',
    ),
    (
        "request-parameter-max-decreased",
        "ERR",
        (),
        (("set", f"{PARAMS}/1/schema/maximum", 50),),
        "maximum of query parameter 'limit' decreased from 100 to 50",
    ),
    (
        "request-parameter-max-increased",
        "INFO",
        (),
        (("set", f"{PARAMS}/1/schema/maximum", 500),),
        "increased from 100 to 500",
    ),
    (
        "request-parameter-min-increased",
        "ERR",
        (),
        (("set", f"{PARAMS}/1/schema/minimum", 5),),
        "minimum of query parameter 'limit' increased from 1 to 5",
    ),
    (
        "request-parameter-max-length-decreased",
        "ERR",
        (),
        (("set", f"{PARAMS}/5/schema/maxLength", 32),),
        "maxLength of header parameter 'X-Request-Id' decreased from 64 to 32",
    ),
    (
        "request-parameter-min-length-increased",
        "ERR",
        (),
        (("set", f"{PARAMS}/5/schema/minLength", 8),),
        "minLength of header parameter 'X-Request-Id' increased from 0 to 8",
    ),
    (
        "request-parameter-max-items-decreased",
        "ERR",
        (),
        (("set", f"{PARAMS}/4/schema/maxItems", 5),),
        "maxItems of query parameter 'ids' decreased from 10 to 5",
    ),
    (
        "request-parameter-min-items-increased",
        "ERR",
        (),
        (("set", f"{PARAMS}/4/schema/minItems", 1),),
        "minItems of query parameter 'ids'",
    ),
    (
        "request-parameter-pattern-added",
        "ERR",
        (),
        (("set", f"{PARAMS}/5/schema/pattern", "^[a-f0-9-]+$"),),
        "must now match the pattern '^[a-f0-9-]+$'",
    ),
    (
        "request-parameter-pattern-changed",
        "WARN",
        (),
        (("set", f"{PARAMS}/0/schema/pattern", "^prov-[0-9]+$"),),
        "from '^p-[0-9]+$' to '^prov-[0-9]+$'",
    ),
    (
        "request-parameter-pattern-removed",
        "INFO",
        (),
        (("del", f"{PARAMS}/0/schema/pattern"),),
        "pattern '^p-[0-9]+$'",
    ),
    (
        "request-parameter-default-changed",
        "WARN",
        (),
        (("set", f"{PARAMS}/1/schema/default", 50),),
        "default of query parameter 'limit' changed from 20 to 50",
    ),
    (
        "request-parameter-format-changed",
        "WARN",
        (),
        (("set", f"{PARAMS}/2/schema/format", "date-time"),),
        "from 'date' to 'date-time'",
    ),
    # request bodies
    (
        "request-body-became-required",
        "ERR",
        (("set", f"{CREATE}/requestBody/required", False),),
        (),
        "became required (was optional)",
    ),
    (
        "request-body-became-optional",
        "INFO",
        (),
        (("set", f"{CREATE}/requestBody/required", False),),
        "became optional",
    ),
    (
        "new-required-request-body",
        "ERR",
        (),
        (
            (
                "set",
                f"{ONE}/delete/requestBody",
                {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            ),
        ),
        "required request body",
    ),
    (
        "new-optional-request-body",
        "INFO",
        (),
        (
            (
                "set",
                f"{ONE}/delete/requestBody",
                {"content": {"application/json": {"schema": {"type": "object"}}}},
            ),
        ),
        "optional request body",
    ),
    (
        "request-body-removed",
        "WARN",
        (),
        (("del", f"{CREATE}/requestBody"),),
        "request body was removed",
    ),
    (
        "request-body-media-type-removed",
        "ERR",
        (),
        (("del", f"{CREATE}/requestBody/content/application~1x-www-form-urlencoded"),),
        "'application/x-www-form-urlencoded' was removed (still accepted: application/json)",
    ),
    (
        "request-body-media-type-added",
        "INFO",
        (),
        (("set", f"{CREATE}/requestBody/content/application~1xml", {}),),
        "'application/xml'",
    ),
    (
        "request-body-type-changed",
        "ERR",
        (),
        (
            (
                "set",
                f"{CREATE}/requestBody/content/application~1json/schema",
                {"type": "array", "items": {"type": "string"}},
            ),
        ),
        "type of the request body (application/json) changed from 'object' to 'array'",
    ),
    # request properties
    (
        "new-required-request-property",
        "ERR",
        (),
        (
            ("set", f"{NEW}/phone", {"type": "string"}),
            ("add", f"{SCHEMAS}/NewAppointment/required", "phone"),
        ),
        "new required property 'phone' of the request body (application/json)",
    ),
    (
        "new-optional-request-property",
        "INFO",
        (),
        (("set", f"{NEW}/phone", {"type": "string"}),),
        "new optional property 'phone'",
    ),
    (
        "request-property-became-required",
        "ERR",
        (),
        (("add", f"{SCHEMAS}/NewAppointment/required", "email"),),
        "property 'email' of the request body (application/json) became required",
    ),
    (
        "request-property-became-optional",
        "INFO",
        (),
        (("set", f"{SCHEMAS}/NewAppointment/required", ["slot_id"]),),
        "property 'name' of the request body (application/json) became optional",
    ),
    (
        "request-property-removed",
        "WARN",
        (),
        (("del", f"{NEW}/channel"),),
        "property 'channel' of the request body (application/json) was removed",
    ),
    (
        "request-property-type-changed",
        "ERR",
        (),
        (("set", f"{NEW}/slot_id/type", "integer"),),
        "type of property 'slot_id' of the request body (application/json) changed from "
        "'string' to 'integer'",
    ),
    (
        "request-property-enum-value-removed",
        "ERR",
        (),
        (("set", f"{NEW}/channel/enum", ["web"]),),
        "value \"phone\" was removed from the enum of property 'channel'",
    ),
    (
        "request-property-max-length-decreased",
        "ERR",
        (),
        (("set", f"{NEW}/name/maxLength", 50),),
        "maxLength of property 'name' of the request body (application/json) decreased "
        "from 100 to 50",
    ),
    (
        "request-property-min-length-increased",
        "ERR",
        (),
        (("set", f"{NEW}/name/minLength", 2),),
        "minLength of property 'name'",
    ),
    (
        "request-property-max-items-decreased",
        "ERR",
        (),
        (("set", f"{NEW}/guests/maxItems", 2),),
        "maxItems of property 'guests'",
    ),
    (
        "request-property-pattern-added",
        "ERR",
        (),
        (("set", f"{NEW}/slot_id/pattern", "^s-[0-9]+$"),),
        "property 'slot_id' of the request body (application/json) must now match",
    ),
    (
        "request-property-format-changed",
        "WARN",
        (),
        (("set", f"{NEW}/email/format", "idn-email"),),
        "from 'email' to 'idn-email'",
    ),
    (
        "request-property-became-not-nullable",
        "ERR",
        (),
        (("set", f"{NEW}/notes/nullable", False),),
        "property 'notes' of the request body (application/json) is no longer nullable",
    ),
    # responses
    (
        "response-success-status-removed",
        "ERR",
        (),
        (("del", f"{CREATE}/responses/201"),),
        "success status 201 was removed (statuses now: 409)",
    ),
    (
        "response-success-status-added",
        "INFO",
        (),
        (("set", f"{CREATE}/responses/202", {"description": "Queued."}),),
        "success status 202 was added",
    ),
    (
        "response-non-success-status-removed",
        "WARN",
        (),
        (("del", f"{CREATE}/responses/409"),),
        "status 409 was removed",
    ),
    (
        "response-non-success-status-added",
        "INFO",
        (),
        (("set", f"{CREATE}/responses/422", {"description": "Invalid."}),),
        "status 422 was added",
    ),
    (
        "response-media-type-removed",
        "ERR",
        (),
        (
            (
                "set",
                "/components/responses/Problem/content",
                {"application/json": {"schema": {"type": "object"}}},
            ),
        ),
        "media type 'application/problem+json' of the 400 response was removed "
        "(now: application/json)",
    ),
    (
        "response-media-type-added",
        "INFO",
        (),
        (("set", f"{SLOTS}/responses/200/content/text~1csv", {}),),
        "'text/csv' was added to the 200 response",
    ),
    (
        "response-header-removed",
        "ERR",
        (),
        (("del", f"{HEADERS}/X-Total-Count"),),
        "required header 'X-Total-Count' of the 200 response was removed",
    ),
    (
        "response-optional-header-removed",
        "WARN",
        (),
        (("del", f"{HEADERS}/X-Rate-Limit"),),
        "optional header 'X-Rate-Limit'",
    ),
    (
        "response-header-became-optional",
        "ERR",
        (),
        (("set", f"{HEADERS}/X-Total-Count/required", False),),
        "header 'X-Total-Count' of the 200 response became optional",
    ),
    (
        "response-header-added",
        "INFO",
        (),
        (("set", f"{HEADERS}/ETag", {"schema": {"type": "string"}}),),
        "header 'ETag'",
    ),
    (
        "response-header-type-changed",
        "ERR",
        (),
        (("set", f"{HEADERS}/X-Total-Count/schema/type", "string"),),
        "type of header 'X-Total-Count' of the 200 response changed from 'integer' to 'string'",
    ),
    (
        "response-body-type-changed",
        "ERR",
        (),
        (("set", f"{SLOTS}/responses/200/content/application~1json/schema", {"type": "object"}),),
        "type of the 200 response (application/json) changed from 'array' to 'object'",
    ),
    # response properties
    (
        "response-required-property-removed",
        "ERR",
        (),
        (("set", f"{SCHEMAS}/Slot/required", ["id", "status"]), ("del", f"{SLOT}/start")),
        "required property 'start' of the items of the 200 response (application/json) was removed",
    ),
    (
        "response-optional-property-removed",
        "WARN",
        (),
        (("del", f"{SLOT}/note"),),
        "optional property 'note'",
    ),
    (
        "response-property-became-optional",
        "ERR",
        (),
        (("set", f"{SCHEMAS}/Slot/required", ["id", "start"]),),
        "property 'status' of the items of the 200 response (application/json) became optional",
    ),
    (
        "response-property-became-required",
        "INFO",
        (),
        (("add", f"{SCHEMAS}/Slot/required", "note"),),
        "property 'note'",
    ),
    (
        "response-optional-property-added",
        "INFO",
        (),
        (("set", f"{SLOT}/price", {"type": "number"}),),
        "new optional property 'price'",
    ),
    (
        "response-required-property-added",
        "INFO",
        (),
        (
            ("set", f"{SLOT}/price", {"type": "number"}),
            ("add", f"{SCHEMAS}/Slot/required", "price"),
        ),
        "new required property 'price'",
    ),
    (
        "response-property-type-changed",
        "ERR",
        (),
        (("set", f"{SLOT}/capacity/type", "number"),),
        "type of property 'capacity' of the items of the 200 response (application/json) "
        "changed from 'integer' to 'number'",
    ),
    (
        "response-property-enum-value-added",
        "WARN",
        (),
        (("add", f"{SLOT}/status/enum", "blocked"),),
        "value \"blocked\" was added to the enum of property 'status'",
    ),
    (
        "response-property-enum-value-removed",
        "INFO",
        (),
        (("set", f"{SLOT}/status/enum", ["open"]),),
        'value "held" was removed',
    ),
    (
        "response-property-enum-removed",
        "WARN",
        (),
        (("del", f"{SCHEMAS}/Provider/properties/specialty/enum"),),
        'no longer restricted to ["dentist", "physio"]',
    ),
    (
        "response-property-became-nullable",
        "ERR",
        (),
        (("set", f"{SLOT}/note/nullable", True),),
        "property 'note' of the items of the 200 response (application/json) became nullable",
    ),
    (
        "response-property-max-increased",
        "WARN",
        (),
        (("set", f"{SLOT}/capacity/maximum", 20),),
        "maximum of property 'capacity' of the items of the 200 response (application/json) "
        "increased from 10 to 20",
    ),
    (
        "response-property-min-decreased",
        "WARN",
        (),
        (("set", f"{SLOT}/capacity/minimum", 0),),
        "decreased from 1 to 0",
    ),
    (
        "response-property-max-length-increased",
        "WARN",
        (),
        (("del", f"{SLOT}/note/maxLength"),),
        "maxLength of property 'note' of the items of the 200 response (application/json) "
        "was removed (was 200)",
    ),
    (
        "response-property-format-changed",
        "WARN",
        (),
        (("set", f"{SLOT}/start/format", "date"),),
        "from 'date-time' to 'date'",
    ),
    (
        "response-property-one-of-added",
        "WARN",
        (),
        (
            ("set", f"{SCHEMAS}/VoucherPayment", {"type": "object"}),
            ("add", f"{PAYMENT}/oneOf", {"$ref": "#/components/schemas/VoucherPayment"}),
        ),
        "oneOf alternative '#/components/schemas/VoucherPayment' was added to property 'payment'",
    ),
    (
        "response-property-one-of-removed",
        "INFO",
        (),
        (("del", f"{PAYMENT}/oneOf/1"),),
        "'#/components/schemas/CashPayment'",
    ),
]


@pytest.mark.parametrize(
    ("rule", "level", "base_edits", "head_edits", "words"), CASES, ids=[case[0] for case in CASES]
)
def test_each_rule_reports_the_change_with_its_level_and_the_values(
    rule: str, level: str, base_edits: tuple[Edit, ...], head_edits: tuple[Edit, ...], words: str
) -> None:
    changes = _diff(base_edits, head_edits)
    matching = [change for change in changes if change.rule == rule]
    assert matching, f"{rule} not among {[str(c) for c in changes]}"
    assert all(change.level == level for change in matching)
    assert any(words in change.message for change in matching), [c.message for c in matching]


def test_the_rule_table_covers_at_least_thirty_breaking_rules_and_every_case() -> None:
    breaking = [rule for rule in RULES.values() if not rule.changelog]
    assert len(breaking) >= 30
    assert {case[0] for case in CASES} <= set(RULES)
    assert {rule.level for rule in RULES.values() if rule.changelog} == {"INFO"}
    assert all(rule_id == rule.id for rule_id, rule in RULES.items())


def test_identical_specs_give_no_changes() -> None:
    for name in ("booking-v1.yaml", "booking-v2.yaml"):
        spec = load_spec(FIXTURES / name)
        assert diff_specs(spec, load_spec(FIXTURES / name), today=TODAY) == []
        assert changelog(spec, spec) == []


def test_a_realistic_new_version_reports_what_a_reviewer_needs() -> None:
    base, head = load_spec(FIXTURES / "booking-v1.yaml"), load_spec(FIXTURES / "booking-v2.yaml")
    found = {(c.rule, c.level, c.operation) for c in diff_specs(base, head, today=TODAY)}
    assert found == {
        ("request-parameter-max-decreased", "ERR", "GET /slots"),
        ("request-parameter-enum-value-removed", "ERR", "GET /slots"),
        ("response-property-enum-value-added", "WARN", "GET /slots"),
        ("new-required-request-property", "ERR", "POST /appointments"),
        ("api-operation-id-changed", "WARN", "GET /appointments/{id}"),
        ("api-removed-without-deprecation", "ERR", "DELETE /appointments/{appointment_id}"),
    }
    notes = {(c.rule, c.operation) for c in changelog(base, head)}
    assert ("endpoint-added", "GET /appointments") in notes
    assert ("new-optional-request-parameter", "GET /slots") in notes
    assert ("response-optional-property-added", "GET /providers") in notes


def test_locations_point_into_the_head_or_into_the_base_for_removals() -> None:
    base, head = load_spec(FIXTURES / "booking-v1.yaml"), load_spec(FIXTURES / "booking-v2.yaml")
    changes = {c.rule: c for c in diff_specs(base, head, today=TODAY)}
    removed = changes["api-removed-without-deprecation"]
    assert (removed.side, removed.location) == (
        "base",
        "#/paths/~1appointments~1{appointment_id}/delete",
    )
    narrowed = changes["request-parameter-max-decreased"]
    assert (narrowed.side, narrowed.location) == ("head", "#/paths/~1slots/get/parameters/1/schema")
    enum = changes["response-property-enum-value-added"]
    assert enum.location == "#/components/schemas/Slot/properties/status"
    assert str(removed).startswith("ERR [api-removed-without-deprecation] DELETE /appointments/")


def test_sunset_dates_count_from_the_injected_day() -> None:
    base = _edit(
        copy.deepcopy(V1),
        DEPRECATED_DELETE,
        ("set", f"{ONE}/delete/x-sunset", "2025-06-01T00:00:00Z"),
    )
    head = _edit(copy.deepcopy(V1), ("del", f"{ONE}/delete"))
    before = diff_specs(Spec(base), Spec(head), today=date(2025, 5, 31))
    on_the_day = diff_specs(Spec(base), Spec(head), today=date(2025, 6, 1))
    assert [c.rule for c in before] == ["api-removed-before-sunset"]
    assert [c.rule for c in on_the_day] == ["api-removed-with-deprecation"]


def test_changes_inside_allof_parts_reach_every_operation_that_uses_them() -> None:
    changes = _diff((), (("set", f"{NEW}/email/nullable", True),))
    nullable = {(c.rule, c.operation) for c in changes if c.rule.endswith("became-nullable")}
    assert nullable == {
        ("request-property-became-nullable", "POST /appointments"),
        ("response-property-became-nullable", "POST /appointments"),
        ("response-property-became-nullable", "GET /appointments/{appointment_id}"),
    }
    assert {c.level for c in changes if c.rule == "response-property-became-nullable"} == {"ERR"}


def test_read_only_properties_are_not_asked_of_requests() -> None:
    edits = (("set", f"{NEW}/created_at", {"type": "string", "readOnly": True}),)
    changes = _diff((), (*edits, ("add", f"{SCHEMAS}/NewAppointment/required", "created_at")))
    assert "new-required-request-property" not in {c.rule for c in changes}
    assert "response-required-property-added" in {c.rule for c in changes}


def test_write_only_properties_are_not_promised_by_responses() -> None:
    edits = (("set", f"{SLOT}/secret", {"type": "string", "writeOnly": True}),)
    assert _diff(edits, ()) == []
    assert _diff((), edits) == []


def test_widening_a_request_type_is_not_breaking_but_narrowing_is() -> None:
    widened = _diff((), (("set", f"{PARAMS}/1/schema/type", "number"),))
    assert "request-parameter-type-changed" not in {c.rule for c in widened}
    narrowed = _diff((("set", f"{PARAMS}/1/schema/type", "number"),), ())
    assert [c.rule for c in narrowed] == ["request-parameter-type-changed"]


def test_renamed_path_parameters_and_status_ranges_are_the_same_api() -> None:
    head = copy.deepcopy(V1)
    item = head["paths"].pop("/appointments/{appointment_id}")
    item["parameters"][0]["name"] = "id"
    item["get"]["responses"]["4XX"] = item["get"]["responses"].pop("404")
    head["paths"]["/appointments/{id}"] = item
    changes = _all_changes(Spec(copy.deepcopy(V1)), Spec(head))
    # 4XX covers the old 404, and {id} is {appointment_id} renamed: nothing changed.
    assert changes == []


def test_openapi_31_null_types_are_nullability_not_type_changes() -> None:
    def document(note: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"note": note}}
        response = {"description": "ok", "content": {"application/json": {"schema": schema}}}
        return {"openapi": "3.1.0", "paths": {"/n": {"get": {"responses": {"200": response}}}}}

    plain = document({"type": "string"})
    listed = document({"type": ["string", "null"]})
    alternative = document({"anyOf": [{"type": "string"}, {"type": "null"}]})
    for head in (listed, alternative):
        changes = diff_specs(Spec(plain), Spec(head), today=TODAY)
        assert [(c.rule, c.level) for c in changes] == [
            ("response-property-became-nullable", "ERR")
        ]
    assert diff_specs(Spec(listed), Spec(plain), today=TODAY) == []


def test_recursive_schemas_are_walked_once_per_cycle() -> None:
    def document(name_type: str) -> dict[str, Any]:
        node = {
            "type": "object",
            "properties": {
                "name": {"type": name_type},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            },
        }
        response = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}
        }
        return {
            "openapi": "3.0.3",
            "paths": {"/tree": {"get": {"responses": {"200": response}}}},
            "components": {"schemas": {"Node": node}},
        }

    changes = diff_specs(Spec(document("string")), Spec(document("integer")), today=TODAY)
    assert [(c.rule, c.message) for c in changes] == [
        (
            "response-property-type-changed",
            "type of property 'name' of the 200 response (application/json) changed from "
            "'string' to 'integer'",
        )
    ]


# --- oneOf / anyOf alternatives -----------------------------------------------------------


def _rule(kind: str, field_type: str) -> dict[str, Any]:
    """A rule object told apart by its ``type`` value, as in GitHub's repository rules."""
    return {
        "type": "object",
        "required": ["type", kind],
        "properties": {"type": {"type": "string", "enum": [kind]}, kind: {"type": field_type}},
    }


RULE_SCHEMAS = {
    "Info": {"type": "object", "properties": {"ruleset_id": {"type": "integer"}}},
    "A": _rule("a", "string"),
    "B": _rule("b", "integer"),
    "C": _rule("c", "boolean"),
}
BODY = {
    "request": "#/paths/~1rules/post/requestBody/content/application~1json/schema",
    "response": "#/paths/~1rules/post/responses/200/content/application~1json/schema",
}


def _rules(*kinds: str) -> dict[str, Any]:
    """A oneOf of unnamed alternatives, each an inline allOf of a rule and the shared info."""
    info = {"$ref": "#/components/schemas/Info"}
    return {
        "oneOf": [
            {"allOf": [{"$ref": f"#/components/schemas/{kind.upper()}"}, info]} for kind in kinds
        ]
    }


def _body_specs(
    old: dict[str, Any], new: dict[str, Any], direction: str = "request"
) -> tuple[Spec, Spec]:
    """A base and a head whose one operation has ``old``, then ``new``, as its body.

    ``direction`` says whether that is the request body or the 200 response.
    """

    def document(body: dict[str, Any]) -> dict[str, Any]:
        content = {"application/json": {"schema": body}}
        operation: dict[str, Any] = {"responses": {"204": {"description": "ok"}}}
        if direction == "request":
            operation["requestBody"] = {"required": True, "content": content}
        else:
            operation["responses"] = {"200": {"description": "ok", "content": content}}
        return {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/rules": {"post": operation}},
            "components": {"schemas": RULE_SCHEMAS},
        }

    return Spec(document(old)), Spec(document(new))


def _body_changes(
    old: dict[str, Any], new: dict[str, Any], direction: str = "request"
) -> list[Change]:
    return _all_changes(*_body_specs(old, new, direction))


@pytest.mark.parametrize(
    ("direction", "rule", "level"),
    [
        ("request", "request-body-one-of-added", "INFO"),
        ("response", "response-body-one-of-added", "WARN"),
    ],
)
def test_an_unnamed_alternative_inserted_at_the_front_shifts_no_other(
    direction: str, rule: str, level: str
) -> None:
    # GitHub inserted rules into repository-rule-detailed's oneOf: pairing by position
    # compared each later rule with another one and reported its properties as removed.
    changes = _body_changes(_rules("a", "b"), _rules("c", "a", "b"), direction)

    assert [(c.rule, c.level, c.location) for c in changes] == [
        (rule, level, f"{BODY[direction]}/oneOf/0")
    ]
    assert "alternative #0 (type 'object'; properties c, ruleset_id, type)" in changes[0].message
    assert _body_changes(_rules("a", "b"), _rules("b", "a"), direction) == []


def test_an_unnamed_alternative_that_matches_none_is_still_removed() -> None:
    changes = _body_changes(_rules("c", "a", "b"), _rules("a", "b"))

    assert [(c.rule, c.level, c.side, c.location) for c in changes] == [
        ("request-body-one-of-removed", "ERR", "base", f"{BODY['request']}/oneOf/0")
    ]
    assert changes[0].message == (
        "oneOf alternative #0 (type 'object'; properties c, ruleset_id, type) of the request "
        "body (application/json) was removed; clients that send that shape are rejected"
    )


def test_a_changed_alternative_is_compared_with_its_own_new_version() -> None:
    old, new = _rules("a", "b"), _rules("c", "a", "b")
    new["oneOf"][2]["allOf"].append({"required": ["ruleset_id"]})

    changes = _body_changes(old, new, "response")

    assert {(c.rule, c.location) for c in changes} == {
        ("response-body-one-of-added", f"{BODY['response']}/oneOf/0"),
        ("response-property-became-required", "#/components/schemas/Info/properties/ruleset_id"),
    }


def _labels(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"labels": {"type": "array", "items": items}}}


NAMED_LABEL = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def test_alternatives_merged_into_one_schema_that_accepts_both_are_not_removed() -> None:
    # GitHub's POST .../issues/{issue_number}/labels: names or {name} objects, then either.
    old = {"oneOf": [_labels({"type": "string"}), _labels(NAMED_LABEL)]}
    new = {"oneOf": [_labels({"oneOf": [{"type": "string"}, NAMED_LABEL]})]}

    assert diff_specs(*_body_specs(old, new), today=TODAY) == []


def test_alternatives_merged_into_one_schema_that_rejects_one_report_that_one() -> None:
    old = {"oneOf": [{"type": "string"}, NAMED_LABEL]}
    new = {"oneOf": [NAMED_LABEL]}

    changes = _body_changes(old, new)

    assert [(c.rule, c.level, c.location) for c in changes] == [
        ("request-body-one-of-removed", "ERR", f"{BODY['request']}/oneOf/0")
    ]
    assert "alternative #0 (type 'string')" in changes[0].message


def test_what_merged_alternatives_share_is_reported_once() -> None:
    text = {"type": "string"}
    old = {
        "type": "object",
        "properties": {"kind": {"type": "string", "maxLength": 10}},
        "oneOf": [{"properties": {"a": text}}, {"properties": {"b": text}}],
    }
    new = {
        "type": "object",
        "properties": {"kind": {"type": "string", "maxLength": 5}, "a": text, "b": text},
    }

    changes = diff_specs(*_body_specs(old, new), today=TODAY)

    assert [c.rule for c in changes] == ["request-property-max-length-decreased"]


def test_a_oneof_cut_down_to_one_named_alternative_removes_only_the_others() -> None:
    changes = _diff((), (("del", f"{PAYMENT}/oneOf/1"),))

    assert {(c.rule, c.level, c.operation) for c in changes} == {
        ("response-property-one-of-removed", "INFO", "POST /appointments"),
        ("response-property-one-of-removed", "INFO", "GET /appointments/{appointment_id}"),
    }
    assert all("'#/components/schemas/CashPayment'" in c.message for c in changes)
    assert len(changes) == 2


# --- enumerations, however they are spelt ------------------------------------------------


PRICING = ("BundlePricing", "ProductPricing", "SkuPricing")
BUDGET_TYPE = "properties/budget_type"


def _budget(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"budget_type": schema}}


def _enum_of(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _one_of(*values: str) -> dict[str, Any]:
    """GitHub 23's spelling: a oneOf of single-value enums, no type of its own."""
    return {"description": "The pricing model.", "oneOf": [_enum_of(v) for v in values]}


def test_an_enum_rewritten_as_a_oneof_of_single_value_enums_adds_one_value() -> None:
    # GitHub 22.0.0 -> 23.0.2: budget_type lost nothing, but the gate said SkuPricing was
    # removed (a false ERR) and gave 3 warnings per response where it is returned.
    old, new = _budget(_enum_of("ProductPricing", "SkuPricing")), _budget(_one_of(*PRICING))

    request = _body_changes(old, new, "request")
    assert [(c.rule, c.level, c.location) for c in request] == [
        ("request-property-enum-value-added", "INFO", f"{BODY['request']}/{BUDGET_TYPE}")
    ]
    assert 'value "BundlePricing" was added' in request[0].message
    response = _body_changes(old, new, "response")
    assert [(c.rule, c.level) for c in response] == [("response-property-enum-value-added", "WARN")]
    assert 'value "BundlePricing" was added' in response[0].message


def test_the_same_values_in_another_spelling_are_no_change() -> None:
    spellings = [
        _enum_of("ProductPricing", "SkuPricing"),
        _one_of("SkuPricing", "ProductPricing"),
        {"anyOf": [{"const": "ProductPricing"}, {"const": "SkuPricing"}]},
        {"oneOf": [_enum_of("ProductPricing"), {"oneOf": [{"const": "SkuPricing"}]}]},
    ]
    for old in spellings:
        for new in spellings:
            for direction in ("request", "response"):
                assert _body_changes(_budget(old), _budget(new), direction) == [], (old, new)


def test_a_value_removed_from_a_request_is_still_breaking_whatever_the_spelling() -> None:
    changes = _body_changes(_budget(_one_of(*PRICING)), _budget(_enum_of(*PRICING[1:])))

    assert [(c.rule, c.level, c.side) for c in changes] == [
        ("request-property-enum-value-removed", "ERR", "head")
    ]
    assert 'value "BundlePricing" was removed' in changes[0].message
    # A oneOf rejects a value that two alternatives admit: that value is not offered.
    twice = {"oneOf": [_enum_of("ProductPricing", "SkuPricing"), _enum_of("SkuPricing")]}
    changes = _body_changes(_budget(_enum_of("ProductPricing", "SkuPricing")), _budget(twice))
    assert [c.rule for c in changes] == ["request-property-enum-value-removed"]
    assert 'value "SkuPricing" was removed' in changes[0].message


def test_a_free_string_that_became_a_oneof_of_values_is_restricted_to_all_of_them() -> None:
    changes = _body_changes(_budget({"type": "string"}), _budget(_one_of(*PRICING)))

    assert [(c.rule, c.level) for c in changes] == [("request-property-became-enum", "ERR")]
    assert '["BundlePricing", "ProductPricing", "SkuPricing"]' in changes[0].message


def test_alternatives_that_are_not_all_enumerations_are_still_paired() -> None:
    old = {"oneOf": [_enum_of("a"), {"type": "integer"}]}
    new = {"oneOf": [_enum_of("a"), {"type": "integer"}, {"type": "boolean"}]}

    changes = _body_changes(_budget(old), _budget(new), "response")

    assert [c.rule for c in changes] == ["response-property-one-of-added"]


# --- check_breaking and the config section ------------------------------------------------


def _rules_of(findings: list[Any], severity: Severity) -> set[str]:
    return {f.rule for f in findings if f.severity is severity}


def test_without_a_base_the_check_says_it_has_nothing_to_compare_with() -> None:
    findings = check_breaking(load_spec(FIXTURES / "booking-v2.yaml"), {}, FIXTURES)
    assert [(f.rule, f.severity) for f in findings] == [("breaking-no-base", Severity.INFO)]
    assert "breaking.base" in findings[0].message


def test_findings_follow_levels_fail_on_and_rule_overrides() -> None:
    head = load_spec(FIXTURES / "booking-v2.yaml")
    findings = check_breaking(head, {"base": "booking-v1.yaml"}, FIXTURES, today=TODAY)
    assert _rules_of(findings, Severity.ERROR) == {
        "request-parameter-max-decreased",
        "request-parameter-enum-value-removed",
        "new-required-request-property",
        "api-removed-without-deprecation",
    }
    assert _rules_of(findings, Severity.WARNING) == {
        "response-property-enum-value-added",
        "api-operation-id-changed",
    }
    removed = next(f for f in findings if f.rule == "api-removed-without-deprecation")
    assert removed.location == "booking-v1.yaml#/paths/~1appointments~1{appointment_id}/delete"
    assert removed.message.startswith("DELETE /appointments/{appointment_id}: the operation")
    narrowed = next(f for f in findings if f.rule == "request-parameter-max-decreased")
    assert narrowed.location == "booking-v2.yaml#/paths/~1slots/get/parameters/1/schema"

    strict = check_breaking(head, {"base": "booking-v1.yaml", "fail_on": "WARN"}, FIXTURES)
    assert "api-operation-id-changed" in _rules_of(strict, Severity.ERROR)

    section = {
        "base": "booking-v1.yaml",
        "rules": {
            "api-operation-id-changed": "off",
            "request-parameter-max-decreased": "WARN",
            "endpoint-added": "ERR",
        },
    }
    tuned = check_breaking(head, section, FIXTURES, today=TODAY)
    assert "api-operation-id-changed" not in {f.rule for f in tuned}
    assert "request-parameter-max-decreased" in _rules_of(tuned, Severity.WARNING)
    assert "endpoint-added" in _rules_of(tuned, Severity.ERROR)
    assert "new-optional-request-parameter" not in {f.rule for f in tuned}


def test_the_changelog_is_reported_as_info_when_asked_for() -> None:
    head = load_spec(FIXTURES / "booking-v2.yaml")
    section = {"base": "booking-v1.yaml", "changelog": True}
    findings = check_breaking(head, section, FIXTURES, today=TODAY)
    assert {"endpoint-added", "new-optional-request-parameter"} <= _rules_of(
        findings, Severity.INFO
    )


def test_an_unknown_rule_override_is_a_config_error_with_a_suggestion() -> None:
    head = load_spec(FIXTURES / "booking-v2.yaml")
    section = {"base": "booking-v1.yaml", "rules": {"request-paramter-removed": "off"}}
    with pytest.raises(ConfigError, match="did you mean 'request-parameter-removed'"):
        check_breaking(head, section, FIXTURES)


def test_the_section_schema_documents_every_key_and_matches_the_code_defaults() -> None:
    schema = json.loads(SECTION_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert all("description" in prop for prop in schema["properties"].values())
    assert schema["properties"]["fail_on"]["default"] == DEFAULT_FAIL_ON
    assert schema["properties"]["changelog"]["default"] is DEFAULT_CHANGELOG
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "base": "origin/main:specs/x.yaml",
        "fail_on": "WARN",
        "rules": dict.fromkeys(RULES, "off"),
    }
    assert list(validator.iter_errors(good)) == []
    for bad in ({"fail_on": "INFO"}, {"rules": {"x": "error"}}, {"bases": "x"}, {"base": ""}):
        assert list(validator.iter_errors(bad)), bad


def test_a_base_that_is_neither_a_file_nor_a_revision_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"neither a file under .* nor a git revision"):
        load_base("specs/missing.yaml", tmp_path)
    with pytest.raises(SpecError, match="needs both a revision and a path"):
        load_base("HEAD:", tmp_path)


# --- git revisions --------------------------------------------------------------------------


def _git_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CEILING_DIRECTORIES=str(home.parent),
    )
    return env


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """A git repository in tmp_path with the split-file spec under specs/, committed once."""
    for key, value in _git_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    shutil.copytree(FIXTURES / "split", tmp_path / "specs")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, timeout=30)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "v1")
    return git


def test_a_revision_is_read_with_its_split_files_and_diffed(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    slot = tmp_path / "specs" / "schemas" / "slot.yaml"
    slot.write_text(
        slot.read_text(encoding="utf-8").replace("[id, start]", "[id]"), encoding="utf-8"
    )
    repository("commit", "-q", "-am", "v2: start becomes optional")

    base = load_base("HEAD~1:specs/openapi.yaml", tmp_path)
    assert base.name == "HEAD~1:specs/openapi.yaml"
    schema = base.document["paths"]["/slots/{slot_id}"]["get"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"]["required"] == ["id", "start"]

    head = load_spec(tmp_path / "specs" / "openapi.yaml")
    changes = diff_specs(base, head, today=TODAY)
    assert [(c.rule, c.level) for c in changes] == [("response-property-became-optional", "ERR")]
    assert "property 'start' of the 200 response (application/json)" in changes[0].message

    findings = check_breaking(head, {"base": "HEAD~1:specs/openapi.yaml"}, tmp_path, today=TODAY)
    assert [(f.rule, f.severity) for f in findings] == [
        ("response-property-became-optional", Severity.ERROR)
    ]
    # Split files are inlined by load_spec, so the pointer is into the bundled document.
    assert findings[0].location == (
        "specs/openapi.yaml#/paths/~1slots~1{slot_id}/get/responses/200/content/"
        "application~1json/schema/properties/start"
    )


def test_revision_paths_are_relative_to_the_config_folder(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for ref in ("HEAD:../specs/openapi.yaml", "HEAD:/specs/openapi.yaml"):
        assert load_base(ref, deploy).document["info"]["title"] == "Split booking API"


def test_a_base_at_a_revision_may_start_with_a_byte_order_mark(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    document = {"openapi": "3.1.0", "info": {"title": "BOM", "version": "1"}, "paths": {}}
    (tmp_path / "api.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(document).encode())
    repository("add", "api.json")
    repository("commit", "-q", "-m", "a spec written by a .NET tool")
    assert load_base("HEAD:api.json", tmp_path).document["info"]["title"] == "BOM"


def test_a_missing_revision_says_how_to_fetch_it(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    repository("remote", "add", "origin", "https://git.example.invalid/booking.git")
    with pytest.raises(SpecError, match=r"'origin/main' does not exist.*git fetch origin main"):
        load_base("origin/main:specs/openapi.yaml", tmp_path)
    with pytest.raises(SpecError, match=r"'HEAD~5' does not exist.*too shallow.*fetch-depth: 0"):
        load_base("HEAD~5:specs/openapi.yaml", tmp_path)
    with pytest.raises(SpecError, match=r"'v0\.9' does not exist.*git branch -a"):
        load_base("v0.9:specs/openapi.yaml", tmp_path)


def test_a_missing_path_at_a_revision_suggests_the_right_one(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    with pytest.raises(
        SpecError,
        match=r"'specs/opanapi\.yaml' does not exist at revision 'HEAD'; did you mean "
        r"'specs/openapi\.yaml'\?",
    ):
        load_base("HEAD:specs/opanapi.yaml", tmp_path)
    with pytest.raises(SpecError, match="is a folder, not a spec file"):
        load_base("HEAD:specs", tmp_path)


def test_a_split_file_missing_at_the_revision_names_the_ref(
    tmp_path: Path, repository: Callable[..., None]
) -> None:
    repository("rm", "-q", "specs/schemas/slot.yaml")
    repository("commit", "-q", "-m", "lose the schema")
    with pytest.raises(
        SpecError, match=r"\$ref 'schemas/slot\.yaml#/Slot' points at 'specs/schemas/slot\.yaml'"
    ):
        load_base("HEAD:specs/openapi.yaml", tmp_path)


def test_outside_a_git_repository_the_error_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _git_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SpecError, match="not inside a git repository"):
        load_base("HEAD~1:specs/openapi.yaml", tmp_path)


# --- properties ----------------------------------------------------------------------------

_NAMES = st.sampled_from(["id", "name", "start", "status", "note", "count"])
_SCALARS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "enum": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True),
            "maxLength": st.integers(1, 50),
            "pattern": st.just("^[a-z]+$"),
            "format": st.sampled_from(["date", "email"]),
            "nullable": st.booleans(),
            "default": st.just("a"),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={"minimum": st.integers(0, 10), "maximum": st.integers(10, 100)},
    ),
    st.fixed_dictionaries({"type": st.just("boolean")}),
)


def _objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def build(properties: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        required = (
            st.lists(st.sampled_from(sorted(properties)), unique=True)
            if properties
            else st.just([])
        )
        return st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.just(properties), "required": required}
        )

    return st.dictionaries(_NAMES, children, max_size=3).flatmap(build)


_SCHEMAS = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.builds(lambda items: {"type": "array", "items": items}, children), _objects(children)
    ),
    max_leaves=4,
)
_PARAMETERS = st.lists(
    st.builds(
        lambda name, where, required, schema: {
            "name": name,
            "in": where,
            "required": required,
            "schema": schema,
        },
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["query", "header"]),
        st.booleans(),
        _SCALARS,
    ),
    max_size=3,
    unique_by=lambda param: (param["name"], param["in"]),
)
_OPERATIONS = st.fixed_dictionaries(
    {
        "responses": st.dictionaries(
            st.sampled_from(["200", "201", "404"]),
            _objects(_SCHEMAS).map(
                lambda schema: {"content": {"application/json": {"schema": schema}}}
            ),
            min_size=1,
            max_size=2,
        )
    },
    optional={
        "parameters": _PARAMETERS,
        "requestBody": st.builds(
            lambda schema, required: {
                "required": required,
                "content": {"application/json": {"schema": schema}},
            },
            _SCHEMAS,
            st.booleans(),
        ),
        "operationId": st.sampled_from(["one", "two"]),
        "tags": st.lists(st.sampled_from(["x", "y"]), unique=True),
        "security": st.sampled_from([[], [{"key": []}], [{"oauth": ["read"]}]]),
        "deprecated": st.booleans(),
    },
)
_DOCUMENTS = st.builds(
    lambda paths: {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths},
    st.dictionaries(
        st.sampled_from(["/a", "/b/{id}", "/c"]),
        st.dictionaries(
            st.sampled_from(["get", "post", "delete"]), _OPERATIONS, min_size=1, max_size=2
        ),
        min_size=1,
        max_size=2,
    ),
)


@settings(max_examples=30, deadline=None)
@given(_DOCUMENTS)
def test_diffing_a_spec_with_itself_is_always_empty(document: dict[str, Any]) -> None:
    assert _all_changes(Spec(document), Spec(copy.deepcopy(document))) == []


def _response_objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_response_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_response_objects(value))
    return found


@settings(max_examples=30, deadline=None)
@given(_DOCUMENTS, st.data())
def test_adding_an_optional_response_property_is_never_breaking(
    document: dict[str, Any], data: st.DataObject
) -> None:
    head = copy.deepcopy(document)
    responses = [op["responses"] for item in head["paths"].values() for op in item.values()]
    target = data.draw(st.sampled_from(_response_objects(responses)))
    target.setdefault("properties", {})["added"] = data.draw(_SCHEMAS)

    assert diff_specs(Spec(document), Spec(head), today=TODAY) == []
    assert "response-optional-property-added" in {
        c.rule for c in changelog(Spec(document), Spec(head))
    }

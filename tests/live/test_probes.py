from __future__ import annotations

import re
import uuid
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.patterns import search
from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.live.probes import build_probe, value_for_schema


def make_spec(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> Spec:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }
    return Spec(document)


def test_path_parameters_come_from_examples_then_overrides() -> None:
    spec = make_spec(
        {
            "/items/{item_id}/parts/{part}": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "example": 42,
                        "schema": {"type": "integer"},
                    }
                ],
                "get": {
                    "parameters": [
                        {
                            "name": "part",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["wheel", "door"]},
                        },
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 5, "default": 10},
                        },
                    ],
                    "responses": {"200": {"description": "ok"}},
                },
            }
        }
    )
    operation = spec.operations[0]
    probe = build_probe(spec, operation)
    assert probe.url_path == "/items/42/parts/wheel"
    assert probe.params == {"limit": "10"}  # the optional q is left out
    overridden = build_probe(spec, operation, {"item_id": "a b", "q": "x"})
    assert overridden.url_path == "/items/a%20b/parts/wheel"
    assert overridden.params == {"limit": "10", "q": "x"}


def test_named_examples_and_refs_are_followed() -> None:
    spec = make_spec(
        {
            "/a/{id}": {
                "post": {
                    "parameters": [
                        {"$ref": "#/components/parameters/Id"},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/New"},
                            }
                        },
                    },
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
        {
            "New": {
                "type": "object",
                "required": ["name", "when", "email", "tags", "size"],
                "properties": {
                    "name": {"type": "string", "minLength": 3},
                    "when": {"type": "string", "format": "date-time"},
                    "email": {"type": "string", "format": "email"},
                    "tags": {"type": "array", "minItems": 2, "items": {"type": "string"}},
                    "size": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
                    "optional": {"type": "string"},
                },
            }
        },
    )
    spec.document["components"]["parameters"] = {
        "Id": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "examples": {"first": {"value": "abc"}},
        }
    }
    probe = build_probe(spec, spec.operations[0])
    assert probe.url_path == "/a/abc"
    assert probe.has_body
    schema = spec.component_schema("New")
    jsonschema.validate(probe.json, schema, format_checker=jsonschema.FormatChecker())
    assert "optional" not in probe.json


def test_patterns_uuids_and_nullable_unions_produce_valid_values() -> None:
    spec = make_spec({})
    code = value_for_schema(spec, {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"})
    assert re.fullmatch(r"[A-Z]{3}-[0-9]{2}", code)
    uid = value_for_schema(spec, {"type": "string", "format": "uuid"})
    assert uuid.UUID(uid)
    assert value_for_schema(spec, {"type": ["null", "integer"], "minimum": 3}) == 3
    assert value_for_schema(spec, {"anyOf": [{"type": "null"}, {"type": "boolean"}]}) is True


SIMPLE_SCHEMAS = st.one_of(
    st.builds(
        lambda lo, span, mult: {
            "type": "integer",
            "minimum": lo,
            "maximum": lo + span,
            **({"multipleOf": mult} if mult else {}),
        },
        st.integers(-1000, 1000),
        st.integers(10, 100),
        st.sampled_from([None, 1, 2, 5]),
    ),
    st.builds(
        lambda lo, hi: {"type": "string", "minLength": lo, "maxLength": lo + hi},
        st.integers(0, 20),
        st.integers(0, 20),
    ),
    st.builds(lambda values: {"enum": values}, st.lists(st.integers(), min_size=1, max_size=4)),
    st.just({"type": "string", "format": "date"}),
    st.just({"type": "boolean"}),
)


@settings(max_examples=60, deadline=None)
@given(SIMPLE_SCHEMAS)
def test_generated_values_validate_against_their_schema(schema: dict[str, Any]) -> None:
    value = value_for_schema(make_spec({}), schema)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


def test_pattern_values_match_as_ecma_262_reads_the_pattern() -> None:
    spec = make_spec({})
    # ECMA-262's \d is ASCII only; Python's would let Hypothesis pick other digits
    digits = value_for_schema(spec, {"type": "string", "pattern": "^\\d{3}$"})
    assert re.fullmatch("[0-9]{3}", digits)
    # named groups and backreferences are written differently in Python's re
    year = value_for_schema(spec, {"type": "string", "pattern": "^(?<y>\\d{4})-\\k<y>$"})
    assert re.fullmatch(r"(\d{4})-\1", year)
    assert search("^(?<y>\\d{4})-\\k<y>$", year)
    # an invalid pattern constrains nothing (validity reports it): a plain value
    assert value_for_schema(spec, {"type": "string", "pattern": "^a\\z", "minLength": 2}) == "aa"

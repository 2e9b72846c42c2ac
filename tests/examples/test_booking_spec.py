"""The hand-written spec: valid OpenAPI 3.1, complete, with valid examples, and models to match."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import schemathesis
from booking_helpers import SPEC_DOCUMENT
from pydantic import BaseModel

from examples.booking_api import __version__, models
from examples.booking_api.settings import DEFAULT_SPEC
from pytest_deploycheck.core.spec import load_spec

SPEC = load_spec(DEFAULT_SPEC)
OPERATION_IDS = {op.operation_id: op for op in SPEC.operations}
COMPONENTS = SPEC_DOCUMENT["components"]["schemas"]


def resolve(node: Any) -> Any:
    return SPEC.resolve(node)


def validate_against(schema: dict[str, Any], instance: Any) -> None:
    root = {**schema, "components": SPEC_DOCUMENT["components"]}
    jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)


def test_the_spec_is_valid_openapi_3_1() -> None:
    assert SPEC_DOCUMENT["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_path(DEFAULT_SPEC)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    for component in COMPONENTS.values():
        jsonschema.Draft202012Validator.check_schema(component)


def test_the_spec_describes_its_service() -> None:
    info = SPEC_DOCUMENT["info"]
    assert info["version"] == __version__
    assert {"name", "url", "email"} <= set(info["contact"])
    assert info["license"]["identifier"] == "MIT"
    assert SPEC_DOCUMENT["servers"][0]["url"].startswith("http://127.0.0.1:")
    assert all(tag.get("description") for tag in SPEC_DOCUMENT["tags"])


def test_every_operation_is_documented() -> None:
    declared_tags = {tag["name"] for tag in SPEC_DOCUMENT["tags"]}
    assert len(SPEC.operations) == 11
    assert len(OPERATION_IDS) == 11  # unique
    for operation in SPEC.operations:
        definition = operation.definition
        assert definition.get("summary"), operation.label
        assert definition.get("description"), operation.label
        assert set(definition["tags"]) <= declared_tags, operation.label
        for parameter in operation.parameters:
            assert parameter.get("description"), (operation.label, parameter["name"])


def responses() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for operation in SPEC.operations:
        for status, response in operation.definition["responses"].items():
            yield operation.label, status, resolve(response)


def test_every_response_has_the_right_media_type_and_a_schema() -> None:
    for label, status, response in responses():
        media_types = set(response["content"])
        expected = "application/json" if status < "400" or label == "GET /health" else None
        assert media_types == {expected or "application/problem+json"}, (label, status)
        assert all("schema" in content for content in response["content"].values())
        if status == "201":
            assert resolve(response["headers"]["Location"])["required"] is True, label


def examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example in the spec."""
    for operation in SPEC.operations:
        for parameter in operation.parameters:
            yield (
                f"{operation.label} {parameter['name']}",
                parameter["schema"],
                parameter["example"],
            )
        body = operation.definition.get("requestBody", {}).get("content", {})
        for label, status, response in responses():
            if label == operation.label:
                body = {**body, **{f"{status} {k}": v for k, v in response["content"].items()}}
        for media_type, content in body.items():
            for name, example in content.get("examples", {}).items():
                where = f"{operation.label} {media_type} {name}"
                yield where, content["schema"], resolve(example)["value"]
    for name, component in COMPONENTS.items():
        for example in component.get("examples", []):
            yield name, component, example
        for prop, schema in component.get("properties", {}).items():
            for example in schema.get("examples", []):
                yield f"{name}.{prop}", schema, example


def test_every_example_validates_against_its_schema() -> None:
    checked = 0
    for where, schema, example in examples():
        try:
            validate_against(schema, example)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{where}: {exc.message}")
        checked += 1
    assert checked > 30
    # Every parameter and every request body has an example.
    for operation in SPEC.operations:
        assert all("example" in p for p in operation.parameters), operation.label
        for content in operation.definition.get("requestBody", {}).get("content", {}).values():
            assert content.get("examples"), operation.label


def test_links_point_at_existing_operations_and_parameters() -> None:
    targets = set()
    for operation in SPEC.operations:
        for response in operation.definition["responses"].values():
            for name, link in resolve(response).get("links", {}).items():
                target = OPERATION_IDS[link["operationId"]]
                names = {p["name"] for p in target.parameters}
                assert set(link.get("parameters", {})) <= names, name
                if "requestBody" in link:
                    body_schema = resolve(
                        target.definition["requestBody"]["content"]["application/json"]["schema"]
                    )
                    assert set(link["requestBody"]) <= set(body_schema["properties"]), name
                targets.add(link["operationId"])
    assert {"getAppointment", "rescheduleAppointment", "cancelAppointment"} <= targets
    created = SPEC.document["paths"]["/appointments"]["post"]["responses"]["201"]["links"]
    for name in ("GetAppointment", "RescheduleAppointment", "CancelAppointment"):
        assert created[name]["parameters"] == {"appointment_id": "$response.body#/id"}


def test_objects_the_service_shapes_forbid_extra_properties() -> None:
    for name, schema in COMPONENTS.items():
        if schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, name


# -- the Pydantic models match the component schemas -----------------------------------------

_KEYWORDS = ("type", "format", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum")


def shape(schema: dict[str, Any], resolve_ref: Any) -> dict[str, Any]:
    """The validation keywords of one property, refs followed, Pydantic's noise left out."""
    schema = resolve_ref(schema)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = {**resolve_ref(schema["allOf"][0]), **schema}
    if "const" in schema:
        schema = {**schema, "enum": [schema["const"]]}
    result = {key: schema[key] for key in _KEYWORDS if key in schema}
    if "enum" in result:
        result["enum"] = sorted(result["enum"])
        result.setdefault("type", "string")
    if schema.get("type") == "array":
        result["items"] = shape(schema["items"], resolve_ref)
    return result


def pydantic_resolver(model_schema: dict[str, Any]) -> Any:
    def resolve_ref(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = model_schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    return resolve_ref


def spec_resolver(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = resolve(node)
    siblings = {key: value for key, value in node.items() if key != "$ref"}
    return {**resolved, **siblings}


MODELS = [
    getattr(models, name)
    for name in models.__all__
    if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), BaseModel)
]


def test_every_model_is_a_component_and_back() -> None:
    object_components = {name for name, s in COMPONENTS.items() if s.get("type") == "object"}
    assert {model.__name__ for model in MODELS} == object_components


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_model_matches_its_component_schema(model: type[BaseModel]) -> None:
    component = COMPONENTS[model.__name__]
    model_schema = model.model_json_schema(mode="validation")
    assert model_schema.get("additionalProperties") is False
    assert set(model_schema["properties"]) == set(component["properties"])
    assert set(model_schema.get("required", [])) == set(component.get("required", []))
    for name, prop in component["properties"].items():
        expected = shape(prop, spec_resolver)
        actual = shape(model_schema["properties"][name], pydantic_resolver(model_schema))
        assert actual == expected, f"{model.__name__}.{name}"
        if "default" in spec_resolver(prop):
            assert model_schema["properties"][name]["default"] == spec_resolver(prop)["default"]

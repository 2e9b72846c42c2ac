"""Code models (Pydantic, JSON Schema exports) against the spec's component schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.phase1.models import (
    ModelSchema,
    ModelSource,
    check_model,
    check_models,
    compare_schemas,
    model_sources,
)
from tests.sections import section_validator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "models"
REPOSITORY = Path(__file__).parents[2]
BAD = "clinic_bad_models"


@pytest.fixture(scope="module")
def clinic() -> Spec:
    return load_spec(FIXTURES / "clinic.openapi.yaml")


def pydantic(component: str, target: str, **options: Any) -> ModelSource:
    return ModelSource(component, "pydantic", target, **options)


def messages(findings: list[Finding], severity: Severity | None = None) -> list[str]:
    return [f.message for f in findings if severity is None or f.severity is severity]


# -- Pydantic models -------------------------------------------------------------------------


def test_matching_pydantic_models_pass(clinic: Spec) -> None:
    for component in ("Appointment", "Provider", "Status"):
        source = pydantic(component, f"clinic_models:{component}", mode="serialization")
        assert check_model(clinic, source, FIXTURES) == []


def test_a_request_model_needs_no_read_only_property(clinic: Spec) -> None:
    source = pydantic("Provider", "clinic_models:NewProvider", mode="validation")
    assert check_model(clinic, source, FIXTURES) == []
    # a response model must have it
    source = pydantic("Provider", "clinic_models:NewProvider", mode="serialization")
    assert messages(check_model(clinic, source, FIXTURES)) == [
        "Provider.id: missing from the model; the spec declares it (integer, required) "
        "(model clinic_models:NewProvider)"
    ]


def test_a_wrong_type_names_both_sides_and_the_component(clinic: Spec) -> None:
    findings = check_model(clinic, pydantic("Appointment", f"{BAD}:WrongType"), FIXTURES)
    assert findings == [
        Finding(
            "models-type",
            "Appointment.priority: type differs: the spec says integer, the model says string "
            f"(model {BAD}:WrongType)",
            Severity.ERROR,
            "#/components/schemas/Appointment/properties/priority",
        )
    ]


def test_a_missing_property(clinic: Spec) -> None:
    findings = check_model(clinic, pydantic("Appointment", f"{BAD}:MissingNotes"), FIXTURES)
    assert findings == [
        Finding(
            "models-missing-property",
            "Appointment.notes: missing from the model; the spec declares it "
            f"(string or null) (model {BAD}:MissingNotes)",
            Severity.ERROR,
            "#/components/schemas/Appointment/properties/notes",
        )
    ]


def test_an_enum_mismatch_names_added_and_removed_values(clinic: Spec) -> None:
    findings = check_model(clinic, pydantic("Appointment", f"{BAD}:EnumDrift"), FIXTURES)
    assert findings == [
        Finding(
            "models-enum",
            'Appointment.status: enum differs: the model adds "rescheduled"; the model lacks '
            '"no_show" (spec: "booked", "cancelled", "no_show"; model: "booked", "cancelled", '
            f'"rescheduled") (model {BAD}:EnumDrift)',
            Severity.ERROR,
            "#/components/schemas/Status",
        )
    ]


def test_a_nested_mismatch_points_at_the_nested_component(clinic: Spec) -> None:
    findings = check_model(clinic, pydantic("Appointment", f"{BAD}:NestedDrift"), FIXTURES)
    assert [(f.rule, f.message, f.location) for f in findings] == [
        (
            "models-type",
            "Appointment.provider.name: type differs: the spec says string, the model says "
            f"integer (model {BAD}:NestedDrift)",
            "#/components/schemas/Provider/properties/name",
        )
    ]


def test_nullable_required_format_constraints_and_extra_properties(clinic: Spec) -> None:
    findings = check_model(clinic, pydantic("Appointment", f"{BAD}:Loose"), FIXTURES)
    suffix = f" (model {BAD}:Loose)"
    assert sorted(messages(findings, Severity.ERROR)) == sorted(
        m + suffix
        for m in [
            "Appointment.notes: nullable differs: the spec allows null, the model does not",
            "Appointment.provider: required differs: the spec requires it, the model does not",
            "Appointment.provider: nullable differs: the spec does not allow null, the model does",
            "Appointment.room: the model has it (string), the spec does not",
        ]
    )
    assert sorted(messages(findings, Severity.WARNING)) == sorted(
        m + suffix
        for m in [
            "Appointment.notes: maxLength differs: the spec says 500, the model says 200",
            "Appointment.starts_at: the spec says format date-time, the model states no format",
        ]
    )


def test_ignore_skips_a_property_and_everything_under_it(clinic: Spec) -> None:
    source = pydantic(
        "Appointment", f"{BAD}:Loose", ignore=("notes", "provider", "room", "starts_at")
    )
    assert check_model(clinic, source, FIXTURES) == []
    nested = pydantic("Appointment", f"{BAD}:NestedDrift", ignore=("provider.name",))
    assert check_model(clinic, nested, FIXTURES) == []


def test_aliases_follow_the_mode(clinic: Spec) -> None:
    # serialization writes starts_at as the spec spells it
    writing = pydantic("Appointment", f"{BAD}:Aliased", mode="serialization")
    assert check_model(clinic, writing, FIXTURES) == []
    # validation reads startsAt: the spec's property is missing, with a hint at the alias
    reading = pydantic("Appointment", f"{BAD}:Aliased", mode="validation")
    assert messages(check_model(clinic, reading, FIXTURES)) == [
        "Appointment.starts_at: missing from the model; the spec declares it (string "
        "(date-time), required); is 'startsAt' in the model an alias of it? "
        f"(model {BAD}:Aliased)",
        f"Appointment.startsAt: the model has it (string (date-time)), the spec does not "
        f"(model {BAD}:Aliased)",
    ]


def test_a_module_failing_on_import_is_a_finding_naming_it(clinic: Spec) -> None:
    source = pydantic("Appointment", "clinic_broken_models:Appointment")
    (finding,) = check_model(clinic, source, FIXTURES)
    assert finding.rule == "models-source"
    assert finding.severity is Severity.ERROR
    assert "models.pydantic.Appointment: cannot import 'clinic_broken_models'" in finding.message
    assert "(RuntimeError: the database URL is not configured)" in finding.message


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no_such_module:Appointment", "cannot import 'no_such_module'"),
        (f"{BAD}:Nope", f"module '{BAD}' has no attribute 'Nope'; check the class name"),
        (f"{BAD}:NOT_A_MODEL", f"{BAD}:NOT_A_MODEL has no JSON Schema (PydanticSchemaGeneration"),
    ],
)
def test_unloadable_models_are_findings(clinic: Spec, target: str, expected: str) -> None:
    (finding,) = check_model(clinic, pydantic("Appointment", target), FIXTURES)
    assert (finding.rule, finding.severity) == ("models-source", Severity.ERROR)
    assert expected in finding.message


def test_an_unknown_component_suggests_the_closest(clinic: Spec) -> None:
    (finding,) = check_model(clinic, pydantic("Appointmnt", "clinic_models:Appointment"), FIXTURES)
    assert finding.message == (
        "models.pydantic.Appointmnt: the spec has no component schema 'Appointmnt'; "
        "did you mean 'Appointment'?"
    )


def test_the_import_leaves_sys_path_as_it_was(clinic: Spec) -> None:
    import sys

    before = list(sys.path)
    check_model(clinic, pydantic("Provider", "clinic_models:Provider"), FIXTURES)
    assert sys.path == before


# -- JSON Schema files (Zod exports) ---------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "provider.zod-to-json-schema.json",  # $ref + definitions, draft-07
        "provider.zod4.json",  # z.toJSONSchema(): 2020-12, recursion through "#"
    ],
)
def test_zod_exports_pass(clinic: Spec, target: str) -> None:
    source = ModelSource("Provider", "json_schema", target, mode="serialization")
    assert check_model(clinic, source, FIXTURES) == []


def test_a_file_of_definitions_is_searched_for_the_component(clinic: Spec) -> None:
    by_name = ModelSource("Provider", "json_schema", "web-schemas.json", mode="serialization")
    by_pointer = ModelSource(
        "Status", "json_schema", "web-schemas.json#/definitions/Status", mode="serialization"
    )
    assert messages(check_model(clinic, by_name, FIXTURES)) == [
        "Provider.tags[]: type differs: the spec says string, the model says number "
        "(model web-schemas.json)"
    ]
    assert messages(check_model(clinic, by_pointer, FIXTURES)) == [
        'Status: enum differs: the model lacks "no_show" (spec: "booked", "cancelled", '
        '"no_show"; model: "booked", "cancelled") (model web-schemas.json)'
    ]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "web/missing.json",
            "web/missing.json does not exist; export the JSON Schema first or fix the path",
        ),
        ("broken.json", "broken.json:4:31: invalid JSON: Expecting property name"),
        ("web-schemas.json#/definitions/Nope", "does not resolve (no 'Nope')"),
    ],
)
def test_unreadable_schema_files_are_findings(clinic: Spec, target: str, expected: str) -> None:
    (finding,) = check_model(clinic, ModelSource("Provider", "json_schema", target), FIXTURES)
    assert (finding.rule, finding.severity) == ("models-source", Severity.ERROR)
    assert expected in finding.message


# -- schema shapes: pure comparisons ---------------------------------------------------------


def spec_of(schemas: dict[str, Any], version: str = "3.1.0") -> Spec:
    return Spec({"openapi": version, "paths": {}, "components": {"schemas": schemas}})


def compare(spec_schema: dict[str, Any], model_schema: dict[str, Any]) -> list[str]:
    model = ModelSchema(model_schema, "#", "m")
    return [
        f"{f.severity.value}: {f.message}"
        for f in compare_schemas(spec_of({"X": spec_schema}), "X", model)
    ]


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


@pytest.mark.parametrize(
    "spec_side",
    [
        {"type": ["string", "null"]},  # 3.1
        {"type": "string", "nullable": True},  # 3.0
        {"oneOf": [{"type": "string"}, {"type": "null"}]},
        {"type": "string", "enum": ["a", "b", None]},
    ],
)
def test_nullable_spellings_are_equivalent(spec_side: dict[str, Any]) -> None:
    plain: dict[str, Any] = {"type": "string"}
    if "enum" in spec_side:
        plain["enum"] = ["a", "b"]
    pydantic_side = {"anyOf": [plain, {"type": "null"}]}
    assert compare(obj(v=spec_side), obj(v=pydantic_side)) == []
    assert compare(obj(v=spec_side), obj(v=plain)) == [
        "error: X.v: nullable differs: the spec allows null, the model does not (model m)"
    ]


def test_all_of_is_merged_on_the_spec_side() -> None:
    spec = {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
            {"type": "object", "properties": {"b": {"type": "string"}}},
        ]
    }
    model = {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "number"}},
    }
    assert compare(spec, model) == [
        "error: X.b: type differs: the spec says string, the model says number (model m)"
    ]


def test_integer_and_number_differ_and_one_sided_storage_formats_do_not() -> None:
    assert compare(obj(n={"type": "number", "format": "double"}), obj(n={"type": "integer"})) == [
        "error: X.n: type differs: the spec says number (double), the model says integer (model m)"
    ]
    assert compare(obj(n={"type": "integer", "format": "int64"}), obj(n={"type": "integer"})) == []


def test_exclusive_bounds_in_30_and_31_spelling_compare_equal() -> None:
    spec30 = obj(n={"type": "integer", "minimum": 0, "exclusiveMinimum": True})
    assert compare(spec30, obj(n={"type": "integer", "exclusiveMinimum": 0})) == []
    assert compare(spec30, obj(n={"type": "integer", "exclusiveMinimum": 1})) == [
        "warning: X.n: exclusiveMinimum differs: the spec says 0, the model says 1 (model m)"
    ]


def test_one_sided_enum_and_format_are_warnings_two_sided_format_an_error() -> None:
    assert compare(obj(s={"type": "string", "enum": ["a"]}), obj(s={"type": "string"})) == [
        'warning: X.s: the spec allows only "a"; the model accepts any string (model m)'
    ]
    assert compare(
        obj(s={"type": "string", "format": "email"}), obj(s={"type": "string", "format": "uri"})
    ) == ["error: X.s: format differs: the spec says email, the model says uri (model m)"]


def test_maps_and_free_form_objects() -> None:
    spec = obj(meta={"type": "object", "additionalProperties": {"type": "integer"}})
    assert compare(
        spec, obj(meta={"type": "object", "additionalProperties": {"type": "string"}})
    ) == ["error: X.meta.*: type differs: the spec says integer, the model says string (model m)"]
    assert compare(obj(p=obj(a={"type": "string"})), obj(p={"type": "object"})) == [
        "warning: X.p: the spec declares properties a; the model is a free-form object (model m)"
    ]


def test_unions_compare_their_types_only() -> None:
    spec = obj(u={"oneOf": [{"type": "string"}, {"type": "integer"}]})
    assert (
        compare(spec, obj(u={"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]}))
        == []
    )
    assert compare(spec, obj(u={"anyOf": [{"type": "integer"}, {"type": "boolean"}]})) == [
        "error: X.u: type differs: the spec says integer or string, the model says boolean or "
        "integer (model m)"
    ]


def test_mutually_recursive_schemas_terminate() -> None:
    spec = spec_of(
        {
            "A": obj(b={"$ref": "#/components/schemas/B"}),
            "B": obj(a={"$ref": "#/components/schemas/A"}, n={"type": "integer"}),
        }
    )
    model = {
        "$defs": {
            "A": obj(b={"$ref": "#/$defs/B"}),
            "B": obj(a={"$ref": "#/$defs/A"}, n={"type": "string"}),
        },
        "$ref": "#/$defs/A",
    }
    findings = compare_schemas(spec, "A", ModelSchema(model, "#", "m"))
    assert [f.message for f in findings] == [
        "A.b.n: type differs: the spec says integer, the model says string (model m)"
    ]


def test_a_dangling_ref_in_the_model_is_a_finding(clinic: Spec, tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(obj(manager={"$ref": "#/$defs/Gone"})))
    source = ModelSource("Provider", "json_schema", "p.json")
    (finding,) = check_model(clinic, source, tmp_path)
    assert finding.rule == "models-ref"
    assert "'#/$defs/Gone' does not resolve" in finding.message


# -- configuration ---------------------------------------------------------------------------


def test_model_sources_accept_strings_and_objects() -> None:
    section = {
        "pydantic": {
            "Appointment": "app.models:Appointment",
            "Provider": {"model": "app.models:Provider", "mode": "serialization", "ignore": ["x"]},
        },
        "json_schema": {"Provider": "web/provider.json"},
    }
    assert model_sources(section) == [
        ModelSource("Appointment", "pydantic", "app.models:Appointment"),
        ModelSource("Provider", "pydantic", "app.models:Provider", "serialization", ("x",)),
        ModelSource("Provider", "json_schema", "web/provider.json"),
    ]
    assert [s.item_id for s in model_sources(section)] == [
        "pydantic:Appointment",
        "pydantic:Provider",
        "json_schema:Provider",
    ]


def test_model_sources_report_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        model_sources(
            {"pydantic": {"A": "app/models.py", "B": {"model": "a:B", "mode": "response"}}}
        )
    assert caught.value.problems == [
        "models.pydantic.A: 'app/models.py' is not an import path; "
        "write 'package.module:ClassName'",
        "models.pydantic.B.mode: 'response' is not one of 'validation', 'serialization'",
    ]


def test_check_models_runs_every_entry(clinic: Spec) -> None:
    section = {
        "pydantic": {"Appointment": f"{BAD}:WrongType"},
        "json_schema": {"Provider": "provider.zod4.json"},
    }
    assert [f.rule for f in check_models(clinic, section, FIXTURES)] == ["models-type"]


def test_the_section_schema_accepts_the_documented_shapes_and_rejects_typos() -> None:
    validator = section_validator("models")
    good = {
        "pydantic": {
            "Appointment": "examples.booking_api.models:Appointment",
            "Provider": {
                "model": "examples.booking_api.models:Provider",
                "mode": "serialization",
                "ignore": ["id"],
            },
        },
        "json_schema": {"Provider": "web/schemas/provider.json#/$defs/Provider"},
    }
    assert list(validator.iter_errors(good)) == []
    bad = {
        "pydantic": {"Appointment": {"model": "app/models.py", "modes": "validation"}},
        "zod": {},
    }
    assert len(list(validator.iter_errors(bad))) >= 2


# -- the reference service --------------------------------------------------------------------


@pytest.fixture(scope="module")
def booking() -> Spec:
    return load_spec(REPOSITORY / "specs" / "booking.openapi.yaml")


def test_the_reference_models_match_the_reference_spec(booking: Spec) -> None:
    components = list(booking.document["components"]["schemas"])
    assert "Appointment" in components
    for component in components:
        for mode in ("validation", "serialization"):
            source = pydantic(component, f"examples.booking_api.models:{component}", mode=mode)
            assert check_model(booking, source, REPOSITORY) == [], (component, mode)


def test_the_reference_check_catches_a_drifted_spec(booking: Spec) -> None:
    drifted = Spec(copy.deepcopy(booking.document), booking.source)
    appointment = drifted.document["components"]["schemas"]["Appointment"]
    appointment["properties"]["status"]["enum"] = ["booked", "cancelled", "no_show"]
    source = pydantic("Appointment", "examples.booking_api.models:Appointment")
    findings = failures(check_model(drifted, source, REPOSITORY))
    assert [f.rule for f in findings] == ["models-enum"]
    assert 'the model lacks "no_show"' in findings[0].message

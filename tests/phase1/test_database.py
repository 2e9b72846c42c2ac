"""The database check: migrated tables against the spec's component schemas."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from pytest_deploycheck.core.findings import Finding, Severity, failures, format_findings
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.phase1.database import (
    RULES,
    DatabaseSettings,
    check_database,
    check_enums,
    compare_schema,
    component_model,
    infer_tables,
    snake_case,
    type_mismatch,
)
from pytest_deploycheck.phase1.migrations import read_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "migrations" / "database"
REPOSITORY = Path(__file__).parents[2]
SCHEMAS = REPOSITORY / "pytest_deploycheck" / "schemas" / "sections"

IGNORES = {
    "ignore_properties": {"Appointment": ["links"]},
    "ignore_columns": {"appointments": ["internal_note"]},
}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(FIXTURES / "spec.yaml")


def by_pointer(findings: list[Finding], rule: str) -> dict[str | None, Finding]:
    matching = [f for f in findings if f.rule == rule]
    result = {f.location: f for f in matching}
    assert len(result) == len(matching), format_findings(findings)
    return result


def inline_spec(schemas: dict[str, Any]) -> Spec:
    return Spec({"openapi": "3.1.0", "paths": {}, "components": {"schemas": schemas}})


def schema_of(sql: str) -> dict[str, Any]:
    db = sqlite3.connect(":memory:")
    db.executescript(textwrap.dedent(sql))
    return read_schema(db)


# -- the fixture project ---------------------------------------------------------------------


def test_a_database_that_matches_its_spec_has_nothing_to_say(spec: Spec) -> None:
    section = {"tables": {"providers": "Provider", "appointments": "Appointment"}, **IGNORES}
    assert check_database(spec, section, {}, FIXTURES / "match") == []


def test_tables_are_paired_by_name_when_not_mapped(spec: Spec) -> None:
    findings = check_database(spec, IGNORES, {}, FIXTURES / "match")
    assert [(f.rule, f.severity, f.location) for f in findings] == [
        ("database-pairing", Severity.INFO, "#/components/schemas/Appointment"),
        ("database-pairing", Severity.INFO, "#/components/schemas/Provider"),
    ]
    assert "table appointments is compared with Appointment" in findings[0].message


def test_every_kind_of_mismatch_points_at_the_property_and_the_migration(spec: Spec) -> None:
    findings = check_database(spec, IGNORES, {}, FIXTURES / "mismatch")
    base = "#/components/schemas/AppointmentBase/properties"
    own = "#/components/schemas/Appointment/allOf/1/properties"
    errors = {(f.rule, f.location) for f in failures(findings)}
    assert errors == {
        ("database-missing-column", f"{own}/createdAt"),
        ("database-type", f"{base}/providerId"),
        ("database-nullability", f"{base}/startsAt"),
        ("database-enum", f"{own}/status"),
    }
    created = "(migrations/0001_init.sql:9)"
    messages = {f.location: f.message for f in failures(findings)}
    assert "appointments has no column 'created_at'" in messages[f"{own}/createdAt"]
    assert f"appointments.provider_id {created}, declared TEXT" in messages[f"{base}/providerId"]
    assert "1 comes back as '1'" in messages[f"{base}/providerId"]
    assert f"appointments.starts_at {created} allows NULL" in messages[f"{base}/startsAt"]
    assert "Appointment.status allows 'no_show', which the CHECK" in messages[f"{own}/status"]


def test_softer_mismatches_are_warnings(spec: Spec) -> None:
    findings = check_database(spec, IGNORES, {}, FIXTURES / "mismatch")
    warnings = [(f.rule, f.location) for f in findings if f.severity is Severity.WARNING]
    own = "#/components/schemas/Appointment/allOf/1/properties"
    assert sorted(warnings) == [
        ("database-config", "database.tables.appointments"),  # internal_note is gone
        ("database-default", f"{own}/status"),
        ("database-enum", f"{own}/status"),
        ("database-extra-column", "#/components/schemas/Appointment"),
        ("database-nullability", "#/components/schemas/AppointmentBase/properties/notes"),
    ]
    extra = by_pointer(findings, "database-extra-column")["#/components/schemas/Appointment"]
    # the column came from the second migration, and the message says where
    assert "appointments.booked_by (migrations/0002_audit.sql:2)" in extra.message
    default = by_pointer(findings, "database-default")[f"{own}/status"]
    assert "defaults to 'pending'" in default.message
    assert "'booked'" in default.message


def test_explicit_column_maps_and_exact_naming(spec: Spec) -> None:
    section: dict[str, Any] = {
        "naming": "exact",
        "tables": {
            "providers": "Provider",
            "appointments": {
                "schema": "Appointment",
                "ignore_columns": ["internal_note", "created_at"],
                "ignore_properties": ["links", "createdAt"],
                "columns": {"providerId": "provider_id", "startsAt": "starts_at"},
            },
        },
    }
    assert check_database(spec, section, {}, FIXTURES / "match") == []
    del section["tables"]["appointments"]["columns"]["startsAt"]
    findings = check_database(spec, section, {}, FIXTURES / "match")
    assert [(f.rule, f.location) for f in failures(findings)] == [
        ("database-missing-column", "#/components/schemas/AppointmentBase/properties/startsAt")
    ]
    section["tables"]["appointments"]["columns"]["startsAt"] = "start_time"
    missing = failures(check_database(spec, section, {}, FIXTURES / "match"))[0]
    assert "columns maps it to 'start_time', which is not a column" in missing.message
    assert "did you mean 'starts_at'?" in missing.message


def test_unknown_tables_schemas_and_stale_ignores_are_named(spec: Spec) -> None:
    section = {
        "tables": {"appointment": "Appointment", "providers": "Providr"},
        "ignore_properties": {"Provider": ["nickname"]},
    }
    findings = check_database(spec, section, {}, FIXTURES / "match")
    table = by_pointer(findings, "database-table-missing")["database.tables.appointment"]
    assert "did you mean 'appointments'?" in table.message
    schema = by_pointer(findings, "database-schema-missing")["database.tables.providers"]
    assert "did you mean 'Provider'?" in schema.message
    section["tables"] = {"providers": "Provider"}
    section["ignore_columns"] = {"appointment": ["notes"]}
    stale = by_pointer(check_database(spec, section, {}, FIXTURES / "match"), "database-config")
    assert "'nickname' is not a property of Provider" in stale["database.tables.providers"].message
    unused = stale["database.ignore_columns.appointment"].message
    assert "names 'appointment', which is not compared with anything" in unused


def test_migrations_that_fail_stop_the_comparison(spec: Spec, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_init.sql").write_text("CREATE TABLE x (;\n")
    findings = check_database(spec, {}, {}, tmp_path)
    assert [(f.rule, f.location) for f in findings] == [
        ("database-migrations", "migrations/0001_init.sql:1")
    ]
    assert "cannot compare the database with the spec" in findings[0].message
    missing = check_database(spec, {}, {"folder": "db"}, tmp_path)
    assert [f.rule for f in missing] == ["database-migrations"]


def test_rules_can_be_downgraded_or_switched_off(spec: Spec) -> None:
    section: dict[str, Any] = {**IGNORES, "rules": {"database-type": "warning"}}
    findings = check_database(spec, section, {}, FIXTURES / "mismatch")
    assert "database-type" not in {f.rule for f in failures(findings)}
    assert "database-type" in {f.rule for f in findings}
    section["rules"] = {"database-pairing": "off", "database-enum": "off"}
    assert not {"database-pairing", "database-enum"} & {
        f.rule for f in check_database(spec, section, {}, FIXTURES / "mismatch")
    }


# -- pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("affinity", "json_type", "string_format", "expected"),
    [
        ("INTEGER", "integer", None, None),
        ("INTEGER", "boolean", None, None),
        ("NUMERIC", "boolean", None, None),
        ("TEXT", "integer", None, Severity.ERROR),
        ("TEXT", "boolean", None, Severity.ERROR),
        ("REAL", "integer", None, Severity.WARNING),
        ("REAL", "number", None, None),
        ("INTEGER", "number", None, Severity.WARNING),
        ("TEXT", "number", None, Severity.ERROR),
        ("TEXT", "string", "uuid", None),
        ("TEXT", "string", "date-time", None),
        ("NUMERIC", "string", "date-time", None),
        ("INTEGER", "string", "date-time", Severity.WARNING),
        ("NUMERIC", "string", None, Severity.WARNING),
        ("INTEGER", "string", None, Severity.ERROR),
        ("BLOB", "string", "binary", None),
        ("BLOB", "string", "byte", None),
        ("TEXT", "string", "byte", None),
        ("TEXT", "string", "binary", Severity.WARNING),
        ("TEXT", "object", None, None),
        ("INTEGER", "array", None, Severity.ERROR),
    ],
)
def test_type_compatibility(
    affinity: str, json_type: str, string_format: str | None, expected: Severity | None
) -> None:
    verdict = type_mismatch(affinity, json_type, string_format)
    assert (verdict[0] if verdict else None) is expected


def test_strict_tables_and_untyped_columns() -> None:
    strict = type_mismatch("INTEGER", "number", None, strict=True)
    assert strict is not None
    assert strict[0] is Severity.ERROR
    untyped = type_mismatch("BLOB", "string", None, declared="")
    assert untyped is not None
    assert "no declared type" in untyped[1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("providerId", "provider_id"),
        ("HTTPStatus", "http_status"),
        ("slot2Id", "slot2_id"),
        ("id", "id"),
        ("starts_at", "starts_at"),
        ("x-request-id", "x_request_id"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_tables_pair_with_singular_schema_names() -> None:
    pairs, unpaired = infer_tables(
        ["appointments", "time_slots", "categories", "addresses", "status", "audit_log", "boxes"],
        ["Appointment", "TimeSlot", "Category", "Address", "Status", "Box", "AppointmentCreate"],
    )
    assert {p.table: p.schema for p in pairs} == {
        "appointments": "Appointment",
        "time_slots": "TimeSlot",
        "categories": "Category",
        "addresses": "Address",
        "status": "Status",
        "boxes": "Box",
    }
    assert unpaired == ["audit_log"]


def test_check_constraints_give_the_allowed_values() -> None:
    schema = schema_of("""\
        CREATE TABLE t (
            a TEXT CHECK (a IN ('x', 'it''s', "y")),
            b INTEGER NOT NULL CHECK (b IN (0, 1, -2)),
            c TEXT CHECK (c NOT IN ('gone')),
            d TEXT CHECK (lower(d) IN ('p', 'q')),
            e TEXT CHECK (e IN ('one', 'two', 'three')),
            f TEXT,
            CONSTRAINT e_short CHECK (length(e) < 5 AND e IN ('one', 'two', 'four'))
        );""")
    # "y" is an identifier, not a literal: that list says nothing certain
    assert check_enums(schema["t"]) == {"b": (0, 1, -2), "e": ("one", "two")}


def test_component_models_merge_all_of_refs_and_nullability() -> None:
    spec = inline_spec(
        {
            "Status": {"type": "string", "enum": ["a", "b", None]},
            "Base": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "integer"}},
            },
            "Thing": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": {"$ref": "#/components/schemas/Status"},
                            "legacy": {"allOf": [{"type": "string"}], "nullable": True},
                            "either": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                            "when": {"type": "string", "format": "date", "readOnly": True},
                        },
                    },
                ]
            },
        }
    )
    model = component_model(spec, "Thing")
    assert model is not None
    props = model.properties
    assert props["id"].pointer == "#/components/schemas/Base/properties/id"
    assert props["id"].required
    assert props["status"].shape.enum == ("a", "b", None)
    assert props["status"].shape.nullable
    assert props["legacy"].shape.nullable
    assert props["legacy"].shape.value_types == {"string"}
    assert props["either"].shape.nullable
    assert props["either"].shape.value_types == {"integer"}
    assert props["when"].shape.read_only
    assert props["when"].shape.format == "date"
    assert not props["when"].required
    assert component_model(spec, "Nothing") is None


def test_booleans_views_and_keys_compare_sensibly() -> None:
    spec = inline_spec(
        {
            "Flag": {
                "type": "object",
                "required": ["on", "count"],
                "properties": {"on": {"type": "boolean"}, "count": {"type": "integer"}},
            }
        }
    )
    schema = schema_of("""\
        CREATE TABLE flags (on_ INTEGER, "on" INTEGER NOT NULL CHECK ("on" IN (0, 1, 2)),
                            count INTEGER NOT NULL);
        """)
    settings = DatabaseSettings.from_section({"tables": {"flags": "Flag"}})
    findings = compare_schema(spec, schema, settings)
    assert sorted((f.rule, f.severity) for f in findings) == [
        ("database-enum", Severity.WARNING),  # 2 is not a boolean
        ("database-extra-column", Severity.WARNING),
        ("database-primary-key", Severity.WARNING),
    ]


def test_a_text_primary_key_that_allows_null_names_the_sqlite_quirk() -> None:
    spec = inline_spec(
        {
            "Account": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
            }
        }
    )
    schema = schema_of("CREATE TABLE accounts (id TEXT PRIMARY KEY);")
    settings = DatabaseSettings.from_section({"tables": {"accounts": "Account"}})
    [finding] = [f for f in compare_schema(spec, schema, settings) if f.severity is Severity.ERROR]
    assert finding.rule == "database-nullability"
    assert "SQLite lets a PRIMARY KEY other than INTEGER hold NULL" in finding.message


def test_unpaired_tables_get_a_conventional_schema_name_to_map() -> None:
    spec = inline_spec({"Other": {"type": "object", "properties": {}}})
    schema = schema_of(
        "CREATE TABLE category_groups (id INTEGER PRIMARY KEY);"
        "CREATE TABLE __meta__ (key TEXT);"
        "CREATE TABLE timeSlots (id INTEGER PRIMARY KEY);"
    )
    findings = compare_schema(spec, schema, DatabaseSettings.from_section({}))
    examples = sorted(f.message.split("such as ")[1] for f in findings if "such as" in f.message)
    assert examples == [
        '{"__meta__": "Meta"}',
        '{"category_groups": "CategoryGroup"}',
        '{"timeSlots": "TimeSlot"}',
    ]


def test_the_section_schema_matches_the_code() -> None:
    registry: Registry[Any] = Registry()
    for path in SCHEMAS.glob("*.json"):
        resource = Resource.from_contents(json.loads(path.read_text()))
        registry = registry.with_resource(path.name, resource)
    schema: dict[str, Any] = json.loads((SCHEMAS / "database.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    assert schema["properties"]["rules"]["propertyNames"]["enum"] == list(RULES)
    assert all("description" in p for p in schema["properties"].values())
    good = {
        "tables": {
            "appointments": "Appointment",
            "providers": {"schema": "Provider", "columns": {"opensAt": "opens_at"}},
        },
        "naming": "exact",
        "ignore_columns": {"appointments": ["internal_note"]},
        "ignore_properties": {"Appointment": ["links"]},
        "rules": {"database-extra-column": "off"},
    }
    assert list(validator.iter_errors(good)) == []
    bad = {"naming": "camel", "tables": {"t": {"columns": {}}}, "rules": {"database-typo": "off"}}
    assert len(list(validator.iter_errors(bad))) == 3


# -- the reference service -------------------------------------------------------------------


def test_the_reference_service_database_matches_its_spec() -> None:
    spec = load_spec(REPOSITORY / "specs" / "booking.openapi.yaml")
    migrations = {"folder": "examples/booking_api/migrations"}
    findings = check_database(spec, {}, migrations, REPOSITORY)
    assert failures(findings) == [], format_findings(findings)
    assert [f for f in findings if f.severity is Severity.WARNING] == []
    paired = {f.message.split()[1] for f in findings if f.rule == "database-pairing"}
    assert paired == {"appointments", "providers"}
    # the spec's own schema names: a rename on either side shows up here first
    components = yaml.safe_load((REPOSITORY / "specs" / "booking.openapi.yaml").read_text())
    assert {"Appointment", "Provider"} <= set(components["components"]["schemas"])


# -- database.file: a real database (wrangler's local D1) against the spec and the replay -----

D1_FILE = ".wrangler/state/v3/d1/miniflare-D1DatabaseObject/[0-9a-f]*.sqlite"
MAPPED = {"tables": {"providers": "Provider", "appointments": "Appointment"}, **IGNORES}


def applied_as_d1_does(project: Path, *, skip: int = 0, extra_sql: str = "") -> Path:
    """The project's migrations applied to a SQLite file where wrangler keeps local D1, with
    the d1_migrations table D1 records them in (the last ``skip`` left unapplied)."""
    folder = project / ".wrangler/state/v3/d1/miniflare-D1DatabaseObject"
    folder.mkdir(parents=True)
    (folder / "metadata.sqlite").write_bytes(b"")  # miniflare keeps one beside the database
    path = folder / "0f3a9c.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
    )
    migrations = sorted((project / "migrations").glob("*.sql"))
    for migration in migrations[: len(migrations) - skip]:
        db.executescript(migration.read_text())
        db.execute("INSERT INTO d1_migrations (name) VALUES (?)", (migration.name,))
    db.executescript(extra_sql)
    db.commit()
    db.close()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "match" / "migrations", tmp_path / "migrations")
    return tmp_path


def test_a_database_file_that_agrees_with_the_replay_is_compared_with_the_spec(
    spec: Spec, project: Path
) -> None:
    path = applied_as_d1_does(project)
    findings = check_database(spec, {**MAPPED, "file": D1_FILE}, {}, project)
    relative = str(path.relative_to(project))
    assert [(f.rule, f.severity, f.location) for f in findings] == [
        ("database-file", Severity.INFO, relative)
    ]
    assert "migrations applied" in findings[0].message


def test_a_change_made_outside_the_migrations_is_drift_and_is_compared(
    spec: Spec, project: Path
) -> None:
    path = applied_as_d1_does(
        project, extra_sql="ALTER TABLE appointments ADD COLUMN reminder_sent INTEGER;"
    )
    findings = check_database(spec, {**MAPPED, "file": D1_FILE}, {}, project)
    drift = [f for f in failures(findings) if f.rule == "database-drift"]
    assert len(drift) == 1, format_findings(findings)
    assert drift[0].location == str(path.relative_to(project))
    assert "appointments.reminder_sent: a column here that no migration adds" in drift[0].message
    # the spec is compared with the tables the database really has
    extra = [f for f in findings if f.rule == "database-extra-column"]
    assert [f.severity for f in extra] == [Severity.WARNING]
    assert "reminder_sent" in extra[0].message


def test_a_migration_the_database_has_not_applied_is_drift(spec: Spec, project: Path) -> None:
    applied_as_d1_does(project, skip=1)
    last = sorted(p.name for p in (project / "migrations").glob("*.sql"))[-1]
    findings = check_database(spec, {**MAPPED, "file": D1_FILE}, {}, project)
    messages = [f.message for f in failures(findings) if f.rule == "database-drift"]
    assert any(f"has not applied {last}" in message for message in messages), messages


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("db/*.sqlite", "matches no file; apply the migrations first"),
        ("state/*.sqlite", "matches 2 files"),
        ("state/a.sqlite", "not a readable SQLite database"),
    ],
)
def test_a_database_file_that_cannot_be_read_says_what_to_do(
    spec: Spec, project: Path, pattern: str, expected: str
) -> None:
    (project / "state").mkdir()
    (project / "state" / "a.sqlite").write_bytes(b"not a database, just bytes" * 10)
    (project / "state" / "b.sqlite").write_bytes(b"")
    findings = check_database(spec, {**MAPPED, "file": pattern}, {}, project)
    assert [(f.rule, f.severity) for f in findings] == [("database-file", Severity.ERROR)]
    assert expected in findings[0].message

"""SQLite storage: D1-style migrations, the schema they build, and the double-booking guard."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from booking_helpers import ADA, SPEC_DOCUMENT

from examples.booking_api.db import (
    Database,
    DatabaseError,
    Migration,
    SlotTaken,
    discover_migrations,
    split_statements,
)
from examples.booking_api.seed import SEED_APPOINTMENTS, seed

MIGRATION_NAMES = ["0001_init.sql", "0002_appointments_by_start.sql", "0003_appointment_notes.sql"]


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database.open(str(tmp_path / "booking.db"))
    database.migrate(discover_migrations())
    return database


def appointment(**overrides: Any) -> dict[str, Any]:
    return {
        **SEED_APPOINTMENTS[0],
        "id": "00000000-0000-4000-8000-000000000001",
        "starts_at": "2030-01-07T10:00:00Z",
        **overrides,
    }


def test_migrations_are_applied_in_order_and_recorded_once(tmp_path: Path) -> None:
    path = str(tmp_path / "booking.db")
    first = Database.open(path)
    assert first.migrate(discover_migrations()) == MIGRATION_NAMES
    first.close()

    again = Database.open(path)
    assert again.migrate(discover_migrations()) == []
    assert again.applied_migrations() == MIGRATION_NAMES
    again.close()
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, name, applied_at FROM d1_migrations").fetchall()
    assert [row[1] for row in rows] == MIGRATION_NAMES
    assert [row[0] for row in rows] == [1, 2, 3]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[2]) for row in rows)


def test_a_new_migration_is_applied_after_the_recorded_ones(
    database: Database, tmp_path: Path
) -> None:
    extra = Migration("0004_providers_by_name.sql", "CREATE INDEX p_name ON providers (name);")
    assert database.migrate([*discover_migrations(), extra]) == ["0004_providers_by_name.sql"]
    assert database.applied_migrations()[-1] == "0004_providers_by_name.sql"


def test_a_failing_migration_applies_nothing_of_itself(database: Database) -> None:
    broken = Migration("0004_broken.sql", "CREATE TABLE half (id INTEGER);\nSELEC 1;")
    with pytest.raises(DatabaseError, match=r"migration '0004_broken\.sql' failed.*fix the SQL"):
        database.migrate([*discover_migrations(), broken])
    tables = {row["name"] for row in database._connection.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables
    assert "0004_broken.sql" not in database.applied_migrations()


def test_discover_migrations_refuses_bad_names_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "0002_b.sql").write_text("SELECT 1;")
    (tmp_path / "0010_c.sql").write_text("SELECT 1;")
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    assert [m.name for m in discover_migrations(tmp_path)] == [
        "0001_a.sql",
        "0002_b.sql",
        "0010_c.sql",
    ]
    (tmp_path / "0002_again.sql").write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match="share number 0002"):
        discover_migrations(tmp_path)
    (tmp_path / "0002_again.sql").unlink()
    (tmp_path / "add-index.sql").write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match=r"add-index\.sql.*NNNN_lower_snake_case"):
        discover_migrations(tmp_path)


def test_split_statements_keeps_semicolons_in_strings_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    INSERT INTO t VALUES ('a;b');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; DELETE FROM u; END;
    SELECT 1; SELECT 2;
    -- trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 4
    assert statements[0].endswith("INSERT INTO t VALUES ('a;b');")
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")
    assert statements[2:] == ["SELECT 1;", "SELECT 2;"]


def test_opening_a_database_in_a_missing_directory_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"nowhere.*BOOKING_DATABASE or --database"):
        Database.open(str(tmp_path / "nowhere" / "booking.db"))


def columns(database: Database, table: str) -> dict[str, bool]:
    """Column name -> NOT NULL."""
    rows = database._connection.execute(f"PRAGMA table_info({table})").fetchall()
    return {row["name"]: bool(row["notnull"]) for row in rows}


@pytest.mark.parametrize(
    ("table", "component"), [("providers", "Provider"), ("appointments", "Appointment")]
)
def test_tables_mirror_the_component_schemas(
    database: Database, table: str, component: str
) -> None:
    schema = SPEC_DOCUMENT["components"]["schemas"][component]
    table_columns = columns(database, table)
    assert set(table_columns) == set(schema["properties"])
    required = set(schema["required"])
    assert {name for name, not_null in table_columns.items() if not_null} == required


def test_status_is_constrained_to_the_enum(database: Database) -> None:
    sql = database._connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'appointments'"
    ).fetchone()["sql"]
    assert "CHECK (status IN ('booked', 'cancelled'))" in sql
    seed(database)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        database.insert_appointment(appointment(status="pending"))


def test_the_database_refuses_a_double_booking(database: Database) -> None:
    seed(database)
    database.insert_appointment(appointment())
    with pytest.raises(SlotTaken):
        database.insert_appointment(appointment(id="00000000-0000-4000-8000-000000000002"))
    # A cancelled appointment frees its slot.
    assert database.cancel_appointment(appointment()["id"], "2030-01-02T00:00:00Z")
    database.insert_appointment(appointment(id="00000000-0000-4000-8000-000000000002"))
    rows, total = database.list_appointments(
        provider_id=ADA,
        status=None,
        starts_from="2030-01-07T10:00:00Z",
        starts_before="2030-01-07T10:00:01Z",
        limit=10,
        offset=0,
    )
    assert total == 2
    assert sorted(row["status"] for row in rows) == ["booked", "cancelled"]


def test_seeding_twice_keeps_what_users_changed(database: Database) -> None:
    seed(database)
    seeded = SEED_APPOINTMENTS[0]["id"]
    assert database.cancel_appointment(seeded, "2030-01-02T00:00:00Z")
    seed(database)
    assert database.get_appointment(seeded)["status"] == "cancelled"  # type: ignore[index]
    assert database.list_providers(None, 100, 0)[1] == 3


def test_ping_reports_a_closed_database(database: Database) -> None:
    assert database.ping()
    database.close()
    assert not database.ping()

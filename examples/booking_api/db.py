"""SQLite storage: D1-style numbered migrations and the queries the API needs.

One connection serves the whole process, guarded by a lock: uvicorn runs the endpoints in a
thread pool, and a single connection is also what makes ``:memory:`` (the default) work, since
every new connection to ``:memory:`` would open an empty database of its own. A partial unique
index refuses double bookings even if two processes share one database file.

Migrations follow Cloudflare D1 (wrangler): ``NNNN_name.sql`` files applied in number order,
each in its own transaction, recorded in ``d1_migrations (id, name, applied_at)``; those
already recorded are skipped.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "DatabaseError",
    "Migration",
    "SlotTaken",
    "discover_migrations",
    "split_statements",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"(?P<number>\d{4})_[a-z0-9_]+\.sql")
_CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS d1_migrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)
"""

_INSERT_PROVIDER = (
    "INSERT INTO providers (id, name, specialty, opens_at, closes_at, slot_minutes, created_at)"
    " VALUES (:id, :name, :specialty, :opens_at, :closes_at, :slot_minutes, :created_at)"
)
_INSERT_PROVIDER_IF_ABSENT = _INSERT_PROVIDER + " ON CONFLICT DO NOTHING"
# A filter whose parameter is NULL matches everything: static statements, no SQL building.
_COUNT_PROVIDERS = (
    "SELECT count(*) FROM providers WHERE (:specialty IS NULL OR specialty = :specialty)"
)
_SELECT_PROVIDERS = (
    "SELECT * FROM providers WHERE (:specialty IS NULL OR specialty = :specialty)"
    " ORDER BY name, id LIMIT :limit OFFSET :offset"
)
_INSERT_APPOINTMENT = (
    "INSERT INTO appointments (id, provider_id, patient_name, patient_email, starts_at, ends_at,"
    " status, notes, created_at, updated_at) VALUES (:id, :provider_id, :patient_name,"
    " :patient_email, :starts_at, :ends_at, :status, :notes, :created_at, :updated_at)"
)
_INSERT_APPOINTMENT_IF_ABSENT = _INSERT_APPOINTMENT + " ON CONFLICT DO NOTHING"
_COUNT_APPOINTMENTS = (
    "SELECT count(*) FROM appointments"
    " WHERE (:provider_id IS NULL OR provider_id = :provider_id)"
    " AND (:status IS NULL OR status = :status)"
    " AND (:starts_from IS NULL OR starts_at >= :starts_from)"
    " AND (:starts_before IS NULL OR starts_at < :starts_before)"
)
_SELECT_APPOINTMENTS = (
    "SELECT * FROM appointments"
    " WHERE (:provider_id IS NULL OR provider_id = :provider_id)"
    " AND (:status IS NULL OR status = :status)"
    " AND (:starts_from IS NULL OR starts_at >= :starts_from)"
    " AND (:starts_before IS NULL OR starts_at < :starts_before)"
    " ORDER BY starts_at, id LIMIT :limit OFFSET :offset"
)

Row = dict[str, Any]


def _is_double_booking(exc: sqlite3.IntegrityError) -> bool:
    """Whether the partial unique index (migration 0001) refused the row."""
    return "appointments.provider_id, appointments.starts_at" in str(exc)


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message names the file and the fix."""


class SlotTaken(Exception):
    """The provider's slot holds a booked appointment already."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    name: str
    sql: str


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The ``NNNN_name.sql`` files of ``directory`` in number order; DatabaseError on a bad name."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise DatabaseError(
                f"migration {str(path)!r}: name it NNNN_lower_snake_case.sql,"
                " e.g. 0004_add_index.sql"
            )
        number = int(match["number"])
        if number in migrations:
            raise DatabaseError(
                f"migrations {migrations[number].name!r} and {path.name!r}"
                f" share number {number:04d}; renumber one"
            )
        migrations[number] = Migration(path.name, path.read_text(encoding="utf-8"))
    return [migrations[number] for number in sorted(migrations)]


def split_statements(script: str) -> list[str]:
    """Cut a SQL script into complete statements (semicolons in strings and triggers are safe)."""
    statements = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statements.append(script[start : index + 1].strip())
            start = index + 1
    rest = script[start:].strip()
    if rest and not all(
        line.strip().startswith("--") for line in rest.splitlines() if line.strip()
    ):
        statements.append(rest)
    return statements


class Database:
    """The service's SQLite database behind one lock."""

    def __init__(self, connection: sqlite3.Connection, location: str) -> None:
        self.location = location
        self._connection = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, location: str) -> Database:
        """Open (creating if needed) the database at ``location``, a path or ``:memory:``."""
        try:
            # isolation_level=None: transactions are begun explicitly, never implicitly.
            connection = sqlite3.connect(location, check_same_thread=False, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA busy_timeout = 5000")
            if location != ":memory:":
                connection.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"cannot open database {location!r} ({exc}); point BOOKING_DATABASE or --database"
                " at a writable file in an existing directory"
            ) from None
        return cls(connection, location)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # IMMEDIATE takes the write lock up front, so another process cannot interleave.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    # -- migrations ---------------------------------------------------------------------------

    def migrate(self, migrations: list[Migration]) -> list[str]:
        """Apply the migrations not yet recorded, in order; return the names applied now."""
        with self._reading() as connection:
            connection.execute(_CREATE_MIGRATIONS_TABLE)
        applied = []
        for migration in migrations:
            try:
                with self._transaction() as connection:
                    # Checked inside the transaction: another process may have just applied it.
                    done = connection.execute(
                        "SELECT 1 FROM d1_migrations WHERE name = ?", (migration.name,)
                    ).fetchone()
                    if done:
                        continue
                    for statement in split_statements(migration.sql):
                        connection.execute(statement)
                    connection.execute(
                        "INSERT INTO d1_migrations (name) VALUES (?)", (migration.name,)
                    )
            except sqlite3.Error as exc:
                raise DatabaseError(
                    f"migration {migration.name!r} failed on {self.location!r}: {exc};"
                    " fix the SQL file (nothing of it was applied)"
                ) from None
            applied.append(migration.name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self._reading() as connection:
            rows = connection.execute("SELECT name FROM d1_migrations ORDER BY id").fetchall()
        return [row["name"] for row in rows]

    def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            with self._reading() as connection:
                connection.execute("SELECT count(*) FROM d1_migrations").fetchone()
        except sqlite3.Error:
            return False
        return True

    # -- providers ----------------------------------------------------------------------------

    def insert_provider(self, row: Mapping[str, Any], *, if_absent: bool = False) -> None:
        """Store a provider; with ``if_absent``, leave an existing one with that id alone."""
        with self._transaction() as connection:
            connection.execute(_INSERT_PROVIDER_IF_ABSENT if if_absent else _INSERT_PROVIDER, row)

    def get_provider(self, provider_id: str) -> Row | None:
        with self._reading() as connection:
            row = connection.execute(
                "SELECT * FROM providers WHERE id = ?", (provider_id,)
            ).fetchone()
        return dict(row) if row else None

    def list_providers(
        self, specialty: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """One page of providers in name order, and how many match in all."""
        args = {"specialty": specialty, "limit": limit, "offset": offset}
        with self._reading() as connection:
            total = connection.execute(_COUNT_PROVIDERS, args).fetchone()[0]
            rows = connection.execute(_SELECT_PROVIDERS, args).fetchall()
        return [dict(row) for row in rows], int(total)

    # -- appointments -------------------------------------------------------------------------

    def insert_appointment(self, row: Mapping[str, Any], *, if_absent: bool = False) -> None:
        """Store a booked appointment; SlotTaken when its slot is booked already."""
        try:
            with self._transaction() as connection:
                connection.execute(
                    _INSERT_APPOINTMENT_IF_ABSENT if if_absent else _INSERT_APPOINTMENT, row
                )
        except sqlite3.IntegrityError as exc:
            if _is_double_booking(exc):
                raise SlotTaken(row["starts_at"]) from None
            raise

    def get_appointment(self, appointment_id: str) -> Row | None:
        with self._reading() as connection:
            row = connection.execute(
                "SELECT * FROM appointments WHERE id = ?", (appointment_id,)
            ).fetchone()
        return dict(row) if row else None

    def list_appointments(
        self,
        *,
        provider_id: str | None,
        status: str | None,
        starts_from: str | None,
        starts_before: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Row], int]:
        """One page of appointments in start order, and how many match in all.

        A filter given as None does not apply.
        """
        args = {
            "provider_id": provider_id,
            "status": status,
            "starts_from": starts_from,
            "starts_before": starts_before,
            "limit": limit,
            "offset": offset,
        }
        with self._reading() as connection:
            total = connection.execute(_COUNT_APPOINTMENTS, args).fetchone()[0]
            rows = connection.execute(_SELECT_APPOINTMENTS, args).fetchall()
        return [dict(row) for row in rows], int(total)

    def booked_starts(self, provider_id: str, starts_from: str, starts_before: str) -> set[str]:
        """The start times of the provider's booked appointments in ``[from, before)``."""
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT starts_at FROM appointments WHERE provider_id = ? AND status = 'booked'"
                " AND starts_at >= ? AND starts_at < ?",
                (provider_id, starts_from, starts_before),
            ).fetchall()
        return {row["starts_at"] for row in rows}

    def move_appointment(
        self, appointment_id: str, starts_at: str, ends_at: str, updated_at: str
    ) -> bool:
        """Move a booked appointment; False when it is not booked; SlotTaken on a conflict."""
        try:
            with self._transaction() as connection:
                cursor = connection.execute(
                    "UPDATE appointments SET starts_at = ?, ends_at = ?, updated_at = ?"
                    " WHERE id = ? AND status = 'booked'",
                    (starts_at, ends_at, updated_at, appointment_id),
                )
        except sqlite3.IntegrityError as exc:
            if _is_double_booking(exc):
                raise SlotTaken(starts_at) from None
            raise
        return cursor.rowcount == 1

    def cancel_appointment(self, appointment_id: str, updated_at: str) -> bool:
        """Cancel a booked appointment; False when it is not booked."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE appointments SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status = 'booked'",
                (updated_at, appointment_id),
            )
        return cursor.rowcount == 1

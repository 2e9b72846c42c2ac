"""A database file's schema, and how it differs from the migrations replayed afresh.

``database.file`` names a SQLite file the migrations were applied to by the real tool: the
local D1 database ``wrangler d1 migrations apply DB --local`` writes under
``.wrangler/state/v3/d1/``. ``read_database_file`` opens it read-only and takes a snapshot of
its schema and of the migrations its ``d1_migrations`` table records; ``schema_drift`` lists
what differs from the replay, so the gate's SQLite replay and the real database must agree.
"""

from __future__ import annotations

import glob
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_deploycheck.core.errors import DeployCheckError
from pytest_deploycheck.phase1.migrations import Column, Migration, Table, read_schema

__all__ = ["DatabaseFile", "DatabaseFileError", "read_database_file", "schema_drift", "unapplied"]

# Where D1 (and wrangler's local D1) records the migrations it applied.
D1_MIGRATIONS_TABLE = "d1_migrations"


class DatabaseFileError(DeployCheckError):
    """``database.file`` matches no file, several, or one that is not a SQLite database."""


@dataclass(frozen=True)
class DatabaseFile:
    """A snapshot of a database file: where it is, its tables, the migrations it records."""

    path: str
    schema: Mapping[str, Table]
    # None: the database has no d1_migrations table, so it says nothing about migrations
    applied: tuple[str, ...] | None


def read_database_file(pattern: str, root: Path) -> DatabaseFile:
    """Open the one file ``pattern`` (a glob relative to ``root``) matches, read-only."""
    matches = sorted(
        match
        for match in glob.glob(pattern, root_dir=root, recursive=True)
        if (root / match).is_file()
    )
    if not matches:
        raise DatabaseFileError(
            f"database.file {pattern!r} matches no file; apply the migrations first (with "
            "wrangler: npx wrangler d1 migrations apply DB --local, or name that command in "
            "database.prepare)"
        )
    if len(matches) > 1:
        raise DatabaseFileError(
            f"database.file {pattern!r} matches {len(matches)} files ({', '.join(matches)}); "
            "narrow the glob to one database"
        )
    path = root / matches[0]
    try:
        # read-only: the check never changes the database a running wrangler dev may use
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseFileError(f"database.file {matches[0]}: cannot open it: {exc}") from None
    try:
        schema = read_schema(connection)
        applied: tuple[str, ...] | None = None
        if D1_MIGRATIONS_TABLE in schema:
            # a constant table name: nothing from outside reaches the SQL
            rows = connection.execute(f"SELECT name FROM {D1_MIGRATIONS_TABLE} ORDER BY id")  # noqa: S608
            applied = tuple(str(name) for (name,) in rows)
    except sqlite3.DatabaseError as exc:
        raise DatabaseFileError(
            f"database.file {matches[0]}: not a readable SQLite database ({exc})"
        ) from None
    finally:
        connection.close()
    return DatabaseFile(matches[0], schema, applied)


def unapplied(migrations: Sequence[Migration], applied: Sequence[str]) -> list[str]:
    """The migration files the database does not record as applied, in order."""
    done = set(applied)
    return [migration.name for migration in migrations if migration.name not in done]


def schema_drift(
    replayed: Mapping[str, Table], actual: Mapping[str, Table], internal: re.Pattern[str]
) -> list[str]:
    """What differs between the replayed schema and the database's, one line each.

    Tables whose names ``internal`` matches (those D1 and SQLite keep for themselves) are
    left out.
    """
    expected = {k.lower(): t for k, t in replayed.items() if not internal.match(k)}
    found = {k.lower(): t for k, t in actual.items() if not internal.match(k)}
    lines: list[str] = []
    for key in sorted(expected.keys() - found.keys()):
        table = expected[key]
        lines.append(f"{table.kind} {table.name}: created by the migrations, missing here")
    for key in sorted(found.keys() - expected.keys()):
        table = found[key]
        lines.append(f"{table.kind} {table.name}: here, but no migration creates it")
    for key in sorted(expected.keys() & found.keys()):
        lines.extend(_table_drift(expected[key], found[key]))
    return lines


def _table_drift(expected: Table, found: Table) -> list[str]:
    lines: list[str] = []
    name = found.name
    if expected.kind != found.kind:
        lines.append(f"{name}: a {expected.kind} in the migrations, a {found.kind} here")
    want = {column.name.lower(): column for column in expected.columns}
    have = {column.name.lower(): column for column in found.columns}
    for key in want.keys() - have.keys():
        lines.append(f"{name}.{want[key].name}: a column in the migrations, missing here")
    for key in have.keys() - want.keys():
        lines.append(f"{name}.{have[key].name}: a column here that no migration adds")
    for key in want.keys() & have.keys():
        if want[key].definition() != have[key].definition():
            lines.append(
                f"{name}.{have[key].name}: {_describe(want[key])} in the migrations, "
                f"{_describe(have[key])} here"
            )
    expected_indexes = {index.name: index for index in expected.indexes}
    found_indexes = {index.name: index for index in found.indexes}
    for index_name in sorted(expected_indexes.keys() ^ found_indexes.keys()):
        where = "in the migrations only" if index_name in expected_indexes else "here only"
        lines.append(f"{name}: index {index_name} {where}")
    for index_name in sorted(expected_indexes.keys() & found_indexes.keys()):
        if expected_indexes[index_name] != found_indexes[index_name]:
            lines.append(f"{name}: index {index_name} differs")
    if set(expected.checks) != set(found.checks):
        lines.append(f"{name}: its CHECK constraints differ")
    if set(expected.foreign_keys) != set(found.foreign_keys):
        lines.append(f"{name}: its foreign keys differ")
    return sorted(lines)


def _describe(column: Column) -> str:
    declared, notnull, default, pk, _hidden = column.definition()
    parts = [declared or "(no type)"]
    if notnull:
        parts.append("NOT NULL")
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if pk:
        parts.append("PRIMARY KEY")
    return " ".join(parts)

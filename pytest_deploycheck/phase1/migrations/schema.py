"""Schema snapshots: the tables, views, columns and keys of a SQLite database, as read from
its pragmas, and the normalised SQL of CHECK constraints and partial indexes."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .parsing import Token, significant_tokens


def column_affinity(declared: str, *, strict: bool = False) -> str:
    """SQLite's type affinity of a declared column type (section 3.1 of "Datatypes").

    Returns INTEGER, TEXT, BLOB (also for no declared type, and ANY in STRICT tables),
    REAL or NUMERIC.
    """
    upper = declared.upper()
    if strict and upper.strip() == "ANY":
        return "BLOB"
    if "INT" in upper:
        return "INTEGER"
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return "REAL"
    return "NUMERIC"


@dataclass(frozen=True)
class Column:
    """A column as ``PRAGMA table_xinfo`` reports it."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = 0

    @property
    def generated(self) -> bool:
        return self.hidden in (2, 3)

    def definition(self) -> tuple[str, bool, str | None, int, int]:
        """Everything but the name, to tell a changed column from a renamed one."""
        return (
            " ".join(self.type.upper().split()),
            self.notnull,
            self.default,
            self.pk,
            self.hidden,
        )


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of a table (``PRAGMA foreign_key_list``)."""

    columns: tuple[str, ...]
    table: str
    references: tuple[str | None, ...]
    on_update: str
    on_delete: str


@dataclass(frozen=True)
class Index:
    """An index of a table; origin is c (CREATE INDEX), u (UNIQUE) or pk (PRIMARY KEY)."""

    name: str
    columns: tuple[str, ...]
    unique: bool
    origin: str
    partial: bool
    where: str = ""


# (lower-case columns, WHERE clause of a partial index or "")
UniqueKey = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class Table:
    """One table or view of a schema snapshot."""

    name: str
    kind: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[str, ...] = ()
    sql: str = ""
    strict: bool = False
    without_rowid: bool = False

    def column(self, name: str) -> Column | None:
        """The column called ``name``; SQLite compares column names case-insensitively."""
        folded = name.lower()
        return next((column for column in self.columns if column.name.lower() == folded), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((column.pk, column.name) for column in self.columns if column.pk)
        return tuple(name for _pk, name in keyed)

    def unique_keys(self) -> dict[UniqueKey, str]:
        """Index name by the column set (and WHERE of a partial index) it makes unique.

        The PRIMARY KEY is left out; it has a rule of its own.
        """
        return {
            (tuple(column.lower() for column in index.columns), index.where): index.name
            for index in self.indexes
            if index.unique and index.origin != "pk"
        }

    def is_rowid_alias(self, column: Column) -> bool:
        """Whether the column is an INTEGER PRIMARY KEY, which can never hold NULL."""
        return (
            not self.without_rowid
            and self.primary_key == (column.name,)
            and column.type.strip().upper() == "INTEGER"
        )

    def never_null(self, column: Column) -> bool:
        """NOT NULL, a rowid alias, or a PRIMARY KEY column where SQLite enforces NOT NULL."""
        return (
            column.notnull
            or self.is_rowid_alias(column)
            or (column.pk > 0 and (self.strict or self.without_rowid))
        )


Schema = Mapping[str, Table]


def check_clauses(sql: str) -> list[list[Token]]:
    """The tokens inside every ``CHECK (...)`` of a CREATE TABLE statement."""
    tokens = significant_tokens(sql)
    clauses = []
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.upper == "CHECK" and index + 1 < len(tokens):
            if tokens[index + 1].text != "(":
                continue
            depth = 0
            for end in range(index + 1, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[end].text, 0)
                if depth == 0:
                    clauses.append(tokens[index + 2 : end])
                    break
    return clauses


def _normalized(tokens: Sequence[Token]) -> str:
    """SQL text in one canonical spelling: lower case outside strings, single spaces."""
    parts: list[str] = []
    for token in tokens:
        text = token.text if token.kind in ("string", "blob") else token.name.lower()
        if parts and text not in (")", ",") and parts[-1] != "(":
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _where_clause(sql: str | None) -> str:
    if not sql:
        return ""
    tokens = significant_tokens(sql)
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.upper == "WHERE":
            return _normalized(tokens[index + 1 :]).rstrip(" ;")
    return ""


def _columns(connection: sqlite3.Connection, name: str, kind: str) -> tuple[Column, ...]:
    """The columns of a table or view. A view whose source is gone for the moment (a
    migration dropping and re-creating a view another view reads) has none to read; SQLite
    allows that state, and so does this snapshot."""
    try:
        rows = connection.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall()
    except sqlite3.OperationalError:
        if kind != "view":
            raise
        return ()
    return tuple(
        Column(str(row[1]), str(row[2] or ""), bool(row[3]), row[4], int(row[5]), int(row[6]))
        for row in rows
    )


def read_schema(connection: sqlite3.Connection) -> dict[str, Table]:
    """A snapshot of the user tables and views of the main database of ``connection``."""
    sql_of = {
        str(name): str(sql or "")
        for kind, name, sql in connection.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', 'view', 'index')"
        )
        if kind in ("table", "view", "index")
    }
    tables: dict[str, Table] = {}
    for schema, name, kind, _ncol, without_rowid, strict in connection.execute(
        "PRAGMA table_list"
    ).fetchall():
        if schema != "main" or name.startswith("sqlite_") or kind == "shadow":
            continue
        columns = _columns(connection, name, kind)
        indexes = []
        for _seq, index_name, unique, origin, partial in connection.execute(
            "SELECT * FROM pragma_index_list(?)", (name,)
        ).fetchall():
            index_columns = tuple(
                str(row[2]) if row[2] is not None else "<expression>"
                for row in connection.execute("SELECT * FROM pragma_index_info(?)", (index_name,))
            )
            indexes.append(
                Index(
                    str(index_name),
                    index_columns,
                    bool(unique),
                    str(origin),
                    bool(partial),
                    _where_clause(sql_of.get(str(index_name))) if partial else "",
                )
            )
        groups: dict[int, list[tuple[Any, ...]]] = {}
        for row in connection.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)):
            groups.setdefault(int(row[0]), []).append(tuple(row))
        foreign_keys = tuple(
            ForeignKey(
                tuple(str(row[3]) for row in rows),
                str(rows[0][2]),
                tuple(row[4] for row in rows),
                str(rows[0][5]),
                str(rows[0][6]),
            )
            for _id, rows in sorted(groups.items())
        )
        sql = sql_of.get(name, "")
        checks = (
            tuple(_normalized(clause) for clause in check_clauses(sql)) if kind == "table" else ()
        )
        tables[name] = Table(
            name,
            str(kind),
            columns,
            tuple(sorted(indexes, key=lambda index: index.name)),
            foreign_keys,
            checks,
            sql,
            bool(strict),
            bool(without_rowid),
        )
    return tables

"""Applying migrations to a fresh in-memory SQLite database, as D1 would, with the schema
before and after every statement, and where each column of the result came from."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .discovery import Migration
from .parsing import ParsedSql, Statement, parse_sql
from .schema import Schema, read_schema
from .settings import TIMEOUT_SECONDS

# D1 runs each migration file as one batch and rejects transaction control inside it; ATTACH
# and VACUUM are not available on D1 (and here they could write files next to the project).
D1_UNSUPPORTED = {
    "BEGIN": "D1 runs each migration file as one transaction already; remove BEGIN",
    "COMMIT": "D1 runs each migration file as one transaction already; remove COMMIT",
    "END": "D1 runs each migration file as one transaction already; remove END",
    "ROLLBACK": "D1 does not accept ROLLBACK in a migration; remove it",
    "SAVEPOINT": "D1 does not accept SAVEPOINT in a migration; remove it",
    "RELEASE": "D1 does not accept RELEASE in a migration; remove it",
    "ATTACH": "D1 cannot ATTACH another database",
    "DETACH": "D1 cannot DETACH a database",
    "VACUUM": "D1 does not accept VACUUM in a migration",
}


@dataclass(frozen=True)
class Step:
    """One executed statement with the schema before and after it.

    ``deferred`` is ``PRAGMA defer_foreign_keys`` when the statement ran: whether foreign
    key violations wait for the end of the migration's transaction.
    """

    statement: Statement
    before: Schema
    after: Schema
    deferred: bool = False


@dataclass(frozen=True)
class AppliedMigration:
    """A migration that applied, with its statements' steps and what was left out."""

    migration: Migration
    parsed: ParsedSql
    steps: tuple[Step, ...]
    before: Schema
    after: Schema
    skipped: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class ApplyFailure:
    """Why a migration did not apply: the file, the failing statement and SQLite's message."""

    migration: Migration
    statement: Statement | None
    message: str

    def describe(self) -> str:
        if self.statement is None:
            return f"{self.migration.name} {self.message}"
        return (
            f"{self.migration.name} line {self.statement.line} "
            f"({self.statement.first_line!r}): {self.message}"
        )


@dataclass
class MigrationRun:
    """The result of applying migrations: the open database and what happened on the way."""

    connection: sqlite3.Connection
    applied: list[AppliedMigration]
    failure: ApplyFailure | None = None

    @property
    def schema(self) -> Schema:
        """The schema after the last migration that applied."""
        return self.applied[-1].after if self.applied else {}


def _schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA schema_version").fetchone()[0])


def apply_migrations(
    migrations: Sequence[Migration],
    *,
    foreign_keys: bool = True,
    statement_timeout: float = TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> MigrationRun:
    """Apply migrations in order to a fresh in-memory SQLite database, as D1 would.

    Foreign keys are on, as D1 always has them, and each file runs in one transaction, as a
    D1 batch does: a failing statement rolls its whole file back and stops the run. The
    schema is read again only when ``PRAGMA schema_version`` says a statement changed it.
    A statement still running after ``statement_timeout`` seconds is stopped and fails.
    """
    # isolation_level=None: no implicit transactions; each file gets exactly one, ours
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    deadline = math.inf

    def over_time() -> int:
        return 1 if clock() > deadline else 0  # non-zero interrupts the running statement

    connection.set_progress_handler(over_time, 10_000)
    schema: Schema = read_schema(connection)
    version = _schema_version(connection)
    run = MigrationRun(connection, [])
    for migration in migrations:
        text = migration.text
        if text is None:
            run.failure = ApplyFailure(
                migration, None, "is not UTF-8 text, which D1 requires; save it as UTF-8"
            )
            break
        parsed = parse_sql(text)
        before_file = schema
        steps: list[Step] = []
        skipped: list[Statement] = []
        connection.execute("BEGIN")
        failure: ApplyFailure | None = None
        for statement in parsed.statements:
            if statement.keyword in D1_UNSUPPORTED:
                skipped.append(statement)
                continue
            deferred = bool(connection.execute("PRAGMA defer_foreign_keys").fetchone()[0])
            deadline = clock() + statement_timeout
            try:
                # rows a SELECT returns are not needed; close() ends the statement
                connection.execute(statement.sql).close()
            except (sqlite3.Error, sqlite3.Warning) as exc:
                message = str(exc)
                if message == "interrupted":
                    message = (
                        f"still running after {statement_timeout:g} s (an endless recursive "
                        f"query?), so it was stopped"
                    )
                failure = ApplyFailure(migration, statement, message)
                break
            finally:
                deadline = math.inf
            current = _schema_version(connection)
            after = read_schema(connection) if current != version else schema
            version = current
            steps.append(Step(statement, schema, after, deferred))
            schema = after
        if failure is None:
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                last = parsed.statements[-1] if parsed.statements else None
                failure = ApplyFailure(
                    migration, last, f"when the migration's transaction commits: {exc}"
                )
        if failure is not None:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            run.failure = failure
            break
        run.applied.append(
            AppliedMigration(migration, parsed, tuple(steps), before_file, schema, tuple(skipped))
        )
    return run


def column_origins(run: MigrationRun) -> dict[tuple[str, str], str]:
    """Where each column of the final schema was created or last altered.

    Keys are ``(table, column)`` in lower case, values ``migrations/0003_x.sql:7``. A table
    rebuilt without changing a column keeps that column's earlier origin.
    """
    origins: dict[tuple[str, str], str] = {}
    seen: dict[tuple[str, str], tuple[tuple[Any, ...], str]] = {}  # outlives dropped tables
    for applied in run.applied:
        for step in applied.steps:
            if step.before is step.after:
                continue
            where = applied.migration.at(step.statement.line)
            gone = set(step.before) - set(step.after)
            new = set(step.after) - set(step.before)
            renamed = {}
            if step.statement.keyword == "ALTER" and len(gone) == 1 and len(new) == 1:
                renamed = {next(iter(new)): next(iter(gone))}
            for name, table in step.after.items():
                old_table = step.before.get(renamed.get(name, name))
                for column in table.columns:
                    key = (name.lower(), column.name.lower())
                    definition = column.definition()
                    previous = seen.get(key)
                    old_column = old_table.column(column.name) if old_table else None
                    if previous and previous[0] == definition:
                        origin = previous[1]
                    elif old_column is not None and old_column.definition() == definition:
                        assert old_table is not None
                        origin = origins.get((old_table.name.lower(), column.name.lower()), where)
                    else:
                        origin = where
                    origins[key] = origin
                    seen[key] = (definition, origin)
            for name in gone - set(renamed.values()):
                for column in step.before[name].columns:
                    origins.pop((name.lower(), column.name.lower()), None)
    return origins

"""Insert-or-update as one statement: ``INSERT ... ON CONFLICT`` on PostgreSQL and SQLite,
``ON DUPLICATE KEY UPDATE`` on MySQL and MariaDB. Two writers saving the same key at once
both succeed, and the row is one of their saves, whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError


def upsert(
    conn: Connection,
    table: sa.Table,
    row: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``row`` into ``table``; when a row with the same ``keys`` exists, set its
    ``update`` columns (default: every column of ``row`` but the keys; none: keep it)."""
    columns = [name for name in row if name not in keys] if update is None else list(update)
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        if columns:
            statement = insert.on_conflict_do_update(
                index_elements=list(keys), set_={name: insert.excluded[name] for name in columns}
            )
        else:
            statement = insert.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(statement, dict(row))
        return
    if dialect in ("mysql", "mariadb"):
        my_insert = mysql.insert(table)
        # a no-op update keeps the row, as DO NOTHING does
        assignments = {name: my_insert.inserted[name] for name in columns or keys[:1]}
        conn.execute(my_insert.on_duplicate_key_update(assignments), dict(row))
        return
    # Any other backend: insert in a savepoint, and update when the key is taken.
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(table), dict(row))
    except IntegrityError:
        if columns:
            where = [table.c[name] == row[name] for name in keys]
            conn.execute(sa.update(table).where(*where), {name: row[name] for name in columns})

"""Opening the database: the URL (resolved against the project root, shown with its
password redacted), the engine each backend needs, and which errors mean "retry"."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from pytest_deploycheck.core.errors import HistoryError

DEFAULT_URL = "sqlite:///.deploycheck/history.db"


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``, even when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)


def resolve_url(url: str, root: Path | None) -> sa.URL:
    """Parse ``url``; a relative SQLite path is taken from ``root`` and its folder created."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise HistoryError(
            f"history.url {redact_url(url)!r} is not a database URL; use one such as "
            f"{DEFAULT_URL!r} or 'postgresql+psycopg://user:password@host/db'"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(
                f"history store {redact_url(url)}: cannot create folder {path.parent}: "
                f"{error.strerror}; check history.url and the folder's permissions"
            ) from None
        parsed = parsed.set(database=str(path))
    return parsed


def is_retryable(error: DBAPIError) -> bool:
    """Whether ``error`` is a lock or serialization conflict that a retry may get past."""
    text = str(error.orig).lower()
    if "database is locked" in text or "database table is locked" in text or "busy" in text:
        return True
    # PostgreSQL: serialization_failure, deadlock_detected.
    return getattr(error.orig, "sqlstate", None) in {"40001", "40P01"}


def create_engine(url: sa.URL) -> Engine:
    """The engine for ``url``; for SQLite, WAL, a busy timeout and ``BEGIN IMMEDIATE`` writes."""
    if url.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            # An unreachable server fails a write in seconds, never hangs the caller (the
            # monitor goes on without its store until it is back).
            connect_args["connect_timeout"] = 10
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    memory = url.database in (None, "", ":memory:")
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        # One shared connection keeps an in-memory database alive across calls.
        poolclass=StaticPool if memory else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below) instead of sqlite3's legacy implicit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock first, so two writers never both hold a read snapshot
        # and then fail to upgrade it (SQLITE_BUSY without waiting).
        immediate = conn.get_execution_options().get("deploycheck_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine

"""The store's tables and its own schema version.

Every table is prefixed ``deploycheck_`` so a shared database stays tidy. The version lives
in ``deploycheck_meta``; :func:`prepare_schema` creates a fresh store or upgrades an older
one in place, and leaves a store written by a newer pytest-deploycheck as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 4


class _UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware (got {value!r})")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

meta_table = sa.Table(
    "deploycheck_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
deployments_table = sa.Table(
    "deploycheck_deployments",
    metadata,
    # seq orders deployments as they were first recorded; AUTOINCREMENT never reuses an id
    # after pruning, so "previous" stays previous.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", _UTCDateTime, nullable=False),
    sa.Column("commit", sa.String(200)),
    sa.Column("branch", sa.String(200)),
    sa.Column("environment", sa.String(200)),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    # the config's service.name (version 2); NULL in rows written before, by the one service
    # that used the store then
    sa.Column("service", sa.String(200)),
    sqlite_autoincrement=True,
)
runs_table = sa.Table(
    "deploycheck_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("deployment_seq", sa.Integer, sa.ForeignKey(deployments_table.c.seq), nullable=False),
    sa.Column("phase", sa.String(40), nullable=False),
    sa.Column("started_at", _UTCDateTime, nullable=False),
    sa.Column("finished_at", _UTCDateTime, nullable=False),
    sa.Column("health_ok", sa.Boolean),
    sa.Column("key_checks_failed", sa.Text, nullable=False, server_default="[]"),
    sa.Column("items", sa.Text, nullable=False, server_default="{}"),
    sa.Column("score", sa.Float),
    sa.Column("band", sa.String(20)),
    sa.Column("verdict", sa.String(20)),
    sa.Column("components", sa.Text, nullable=False, server_default="{}"),
    # the gate items that failed in the run: [{"node_id", "family", "rule", "message"}]
    sa.Column("failed_items", sa.Text, nullable=False, server_default="[]"),
    sa.Index("ix_deploycheck_runs_deployment", "deployment_seq"),
    sqlite_autoincrement=True,
)
samples_table = sa.Table(
    "deploycheck_operation_samples",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey(runs_table.c.id), primary_key=True),
    sa.Column("label", sa.String(500), primary_key=True),
    # Compact on purpose (10,000 deployments x 50 operations): outcomes as a string of 1/0,
    # latencies as a JSON array of milliseconds.
    sa.Column("outcomes", sa.Text, nullable=False),
    sa.Column("latencies_ms", sa.Text, nullable=False),
    sa.Column("failures", sa.Text, nullable=False, server_default="[]"),
)
collect_rounds_table = sa.Table(
    "deploycheck_collect_rounds",
    metadata,
    sa.Column(
        "deployment_seq", sa.Integer, sa.ForeignKey(deployments_table.c.seq), primary_key=True
    ),
    sa.Column("round", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey(runs_table.c.id), nullable=False),
    sa.Column("recorded_at", _UTCDateTime, nullable=False),
)
alert_state_table = sa.Table(
    "deploycheck_alert_state",
    metadata,
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("consecutive_successes", sa.Integer, nullable=False),
    sa.Column("last_sent_level", sa.Integer, nullable=False),
    sa.Column("last_sent_at", _UTCDateTime),
    sa.Column("opened_at", _UTCDateTime),
    sa.Column("resolved_at", _UTCDateTime),
    sa.Column("updated_at", _UTCDateTime),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
)
alert_events_table = sa.Table(
    "deploycheck_alert_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(500), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("channel", sa.String(200)),
    sa.Column("deploy_id", sa.String(200)),
    sa.Index("ix_deploycheck_alert_events_key", "key", "at"),
)
# Notifications for the channels, written before they are sent and marked when delivered,
# so a monitor that dies while a channel is down resends them when it starts again. The id
# is the monitor's own (a UUID), so writing an entry again changes nothing.
outbox_table = sa.Table(
    "deploycheck_outbox",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(500), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("probe", sa.String(500), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", _UTCDateTime),
    sa.Index("ix_deploycheck_outbox_pending", "delivered_at", "key"),
)
rollbacks_table = sa.Table(
    "deploycheck_rollbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("deploy_id", sa.String(200)),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("output", sa.Text, nullable=False, server_default=""),
)
bundle_sizes_table = sa.Table(
    "deploycheck_bundle_sizes",
    metadata,
    sa.Column(
        "deployment_seq", sa.Integer, sa.ForeignKey(deployments_table.c.seq), primary_key=True
    ),
    sa.Column("name", sa.String(500), primary_key=True),
    sa.Column("bytes", sa.BigInteger, nullable=False),
)


def _add_failed_items(conn: Connection) -> None:
    """Version 2: runs keep the gate items that failed (existing runs had none recorded)."""
    conn.execute(
        sa.text("ALTER TABLE deploycheck_runs ADD COLUMN failed_items TEXT NOT NULL DEFAULT '[]'")
    )


def _add_service_column(conn: Connection) -> None:
    """Version 3: deployments name their service, so one store can hold several."""
    conn.execute(sa.text("ALTER TABLE deploycheck_deployments ADD COLUMN service VARCHAR(200)"))


# Upgrade steps: UPGRADES[n] takes a store at version n - 1 to version n. Each runs in the
# transaction that bumps the version, so a failed upgrade leaves the store as it was.
UPGRADES: dict[int, Callable[[Connection], None]] = {
    2: _add_failed_items,
    3: _add_service_column,
    4: lambda conn: outbox_table.create(conn, checkfirst=True),
}


def prepare_schema(conn: Connection) -> int:
    """Create or upgrade the store's tables in ``conn``'s transaction; return the store's
    schema version now (a newer store than this code understands is left as it was)."""
    if conn.dialect.name == "postgresql":
        # Two processes creating a fresh store at once must not both run CREATE TABLE.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7236501)"))
    if not sa.inspect(conn).has_table(meta_table.name):
        metadata.create_all(conn)
        conn.execute(sa.insert(meta_table), {"key": "schema_version", "value": str(SCHEMA_VERSION)})
        return SCHEMA_VERSION
    stored = conn.execute(
        sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
    ).scalar_one_or_none()
    version = int(stored) if stored and stored.isdigit() else 0
    if version >= SCHEMA_VERSION:
        return version
    metadata.create_all(conn)  # tables that did not exist at that version
    for step in range(version + 1, SCHEMA_VERSION + 1):
        if step in UPGRADES:
            UPGRADES[step](conn)
    conn.execute(
        sa.update(meta_table).where(meta_table.c.key == "schema_version"),
        {"value": str(SCHEMA_VERSION)},
    )
    if stored is None:
        conn.execute(sa.insert(meta_table), {"key": "schema_version", "value": str(SCHEMA_VERSION)})
    return SCHEMA_VERSION

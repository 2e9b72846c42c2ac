"""The history store: deployments, runs, samples, alert state, the notifications outbox,
rollbacks and bundle sizes, kept in one SQL database through SQLAlchemy Core, opened from a
URL (storage chosen by scheme, as in pytest-benchmark): ``sqlite:///.deploycheck/history.db``
by default, relative to the project root, or any SQLAlchemy URL such as
``postgresql+psycopg://user:pw@host/db`` where a team shares history. The records it takes
and returns (``records``), how a run's deployment is named (``deploy_ids``), the tables and
the store's own schema version (``schema``), opening the database and its URLs (``engine``),
records to rows and back (``rows``), deleting across the tables (``pruning``),
insert-or-update on each backend (``upsert``) and :class:`HistoryStore` itself (``store``).
Modules here may import ``core``, the ``score`` modules ``results`` and ``scoring``, and each
other; the names below are what the rest of the package uses.
"""

from __future__ import annotations

from .deploy_ids import CI_COMMIT_VARIABLES, describe_deployment, resolve_deploy_id
from .engine import DEFAULT_URL, redact_url
from .records import (
    AlertEvent,
    AlertState,
    Deployment,
    OutboxEntry,
    RollbackRecord,
    StoredRun,
)
from .schema import (
    SCHEMA_VERSION,
    UPGRADES,
    alert_events_table,
    alert_state_table,
    bundle_sizes_table,
    collect_rounds_table,
    deployments_table,
    meta_table,
    metadata,
    outbox_table,
    rollbacks_table,
    runs_table,
    samples_table,
)
from .store import DEFAULT_KEEP, HistoryStore

__all__ = [
    "CI_COMMIT_VARIABLES",
    "DEFAULT_KEEP",
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "UPGRADES",
    "AlertEvent",
    "AlertState",
    "Deployment",
    "HistoryStore",
    "OutboxEntry",
    "RollbackRecord",
    "StoredRun",
    "alert_events_table",
    "alert_state_table",
    "bundle_sizes_table",
    "collect_rounds_table",
    "deployments_table",
    "describe_deployment",
    "meta_table",
    "metadata",
    "outbox_table",
    "redact_url",
    "resolve_deploy_id",
    "rollbacks_table",
    "runs_table",
    "samples_table",
]

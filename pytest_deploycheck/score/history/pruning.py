"""Deleting stored data across the tables: the run an earlier save of a collect round left,
and every deployment older than the newest ``keep``. The tables have no cascades, so these
know what hangs off a run and a deployment; they run inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import (
    bundle_sizes_table,
    collect_rounds_table,
    deployments_table,
    runs_table,
    samples_table,
)


def replace_round(conn: Connection, seq: int, number: int, run_id: int, at: datetime) -> None:
    """Make ``run_id`` round ``number`` of deployment ``seq``, deleting the round's old run."""
    # Two writers saving the same round take turns here (FOR NO KEY UPDATE); writers of other
    # runs, holding the deployment FOR KEY SHARE, are not held up.
    conn.execute(
        sa.select(deployments_table.c.seq)
        .where(deployments_table.c.seq == seq)
        .with_for_update(key_share=True)
    ).all()
    old = conn.execute(
        sa.select(collect_rounds_table.c.run_id).where(
            collect_rounds_table.c.deployment_seq == seq,
            collect_rounds_table.c.round == number,
        )
    ).scalar_one_or_none()
    if old is not None:
        conn.execute(
            sa.delete(collect_rounds_table).where(
                collect_rounds_table.c.deployment_seq == seq,
                collect_rounds_table.c.round == number,
            )
        )
        conn.execute(sa.delete(samples_table).where(samples_table.c.run_id == old))
        conn.execute(sa.delete(runs_table).where(runs_table.c.id == old))
    conn.execute(
        sa.insert(collect_rounds_table),
        {"deployment_seq": seq, "round": number, "run_id": run_id, "recorded_at": at},
    )


def prune_deployments(conn: Connection, keep: int) -> int:
    """Delete all but the newest ``keep`` deployments with what hangs off them; return how
    many deployments were deleted."""
    threshold = conn.execute(
        sa.select(deployments_table.c.seq)
        .order_by(deployments_table.c.seq.desc())
        .offset(keep - 1)
        .limit(1)
    ).scalar_one_or_none()
    if threshold is None:
        return 0
    # Lock what is to go first (in seq order, as every pruner does, so two never deadlock):
    # a writer adding a run to one of these deployments holds it FOR KEY SHARE, so we wait
    # for its commit and then delete its run too; a writer that comes later waits for ours
    # and finds the deployment gone. Without this, a run committed between the deletes
    # below made the last one fail on the foreign key. (SQLite writers take the database.)
    # Only what was locked goes: a deployment another writer inserted with a lower seq and
    # committed meanwhile (sequence numbers are taken before commits) is left with its run
    # for the next pruning, or deleting it would fail on the run's foreign key.
    locked = list(
        conn.execute(
            sa.select(deployments_table.c.seq)
            .where(deployments_table.c.seq < threshold)
            .order_by(deployments_table.c.seq)
            .with_for_update()
        ).scalars()
    )
    if not locked:
        return 0
    old_runs = sa.select(runs_table.c.id).where(runs_table.c.deployment_seq.in_(locked))
    conn.execute(sa.delete(samples_table).where(samples_table.c.run_id.in_(old_runs)))
    for table in (collect_rounds_table, bundle_sizes_table, runs_table):
        conn.execute(sa.delete(table).where(table.c.deployment_seq.in_(locked)))
    deleted = conn.execute(sa.delete(deployments_table).where(deployments_table.c.seq.in_(locked)))
    return int(deleted.rowcount or 0)

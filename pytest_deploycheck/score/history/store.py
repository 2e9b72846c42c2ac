"""The store: :class:`HistoryStore`, one interface over SQLAlchemy Core for deployments, runs,
samples, collect rounds, bundle sizes, alert state, the notifications outbox and rollbacks.

Guarantees:

- Several processes may write at once and lose nothing. SQLite runs in WAL mode with a busy
  timeout, writes take the lock up front (``BEGIN IMMEDIATE``) and a write that still meets
  "database is locked" (or a PostgreSQL serialization failure) is retried whole.
- A write is one transaction: bad input raises :class:`HistoryError` and stores nothing.
- The store's own schema is versioned in ``deploycheck_meta`` and upgraded in place; a store
  written by a newer pytest-deploycheck is read, never written.
- Error messages show the URL with its password replaced by ``***``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score.results import RunResult, merge_runs
from pytest_deploycheck.score.scoring import Score

from .engine import DEFAULT_URL, create_engine, is_retryable, redact_url, resolve_url
from .pruning import prune_deployments, replace_round
from .records import (
    AlertEvent,
    AlertState,
    Deployment,
    OutboxEntry,
    RollbackRecord,
    StoredRun,
)
from .rows import (
    deployment_from_row,
    dumps,
    failed_items_value,
    redact_tree,
    sample_row,
    samples_from_row,
    stored_run_from_row,
)
from .schema import (
    SCHEMA_VERSION,
    alert_events_table,
    alert_state_table,
    bundle_sizes_table,
    collect_rounds_table,
    deployments_table,
    outbox_table,
    prepare_schema,
    rollbacks_table,
    runs_table,
    samples_table,
)
from .upsert import upsert

DEFAULT_KEEP = 500
_OUTBOX_KEEP = timedelta(days=7)
_LOCK_RETRIES = 8

T = TypeVar("T")


class HistoryStore:
    """Read and write deployment history in one SQL database."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: int = DEFAULT_KEEP,
        redact: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Wrap an engine; prefer :meth:`open`, which also prepares the schema."""
        self.engine = engine
        self.keep = keep
        self.url = engine.url.render_as_string(hide_password=True)
        self._password = engine.url.password
        self._redact = redact or (lambda text: text)
        self._sleep = sleep
        self.schema_version = SCHEMA_VERSION

    @classmethod
    def open(
        cls,
        url: str = DEFAULT_URL,
        *,
        root: Path | None = None,
        keep: int = DEFAULT_KEEP,
        redact: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> HistoryStore:
        """Open (and create or upgrade) the store at ``url``; SQLite paths are under ``root``."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise HistoryError(f"history.keep must be an integer >= 1 (got {keep!r})")
        parsed = resolve_url(url, root)
        try:
            engine = create_engine(parsed)
        except (ArgumentError, SQLAlchemyError, ImportError) as error:
            raise HistoryError(
                f"history store {redact_url(url)}: cannot use this URL: {error}; "
                "check history.url (is the database driver installed?)"
            ) from None
        store = cls(engine, keep=keep, redact=redact, sleep=sleep)
        try:
            store._prepare_schema()
        except BaseException:
            engine.dispose()
            raise
        return store

    @classmethod
    def from_config(
        cls,
        section: Mapping[str, Any] | None,
        root: Path,
        *,
        redact: Callable[[str], str] | None = None,
    ) -> HistoryStore:
        """Open the store the ``history`` section describes (defaults filled in here)."""
        section = section or {}
        return cls.open(
            str(section.get("url", DEFAULT_URL)),
            root=root,
            keep=section.get("keep", DEFAULT_KEEP),
            redact=redact,
        )

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def writable(self) -> bool:
        """False when the store was written by a newer pytest-deploycheck."""
        return self.schema_version <= SCHEMA_VERSION

    # -- deployments and runs -------------------------------------------------------------

    def record_deployment(self, deployment: Deployment) -> None:
        """Record ``deployment`` unless a deployment of that id is already known."""
        self._check_deploy_id(deployment.id)
        self._write(lambda conn: self._ensure_deployment(conn, deployment))

    def save_run(
        self, run: RunResult, score: Score | None = None, deployment: Deployment | None = None
    ) -> int:
        """Store ``run`` (and the score the gate gave it); return the run's id.

        The deployment is created when new (from ``deployment`` when given). A run with a
        ``round`` is a collect round; saving a round again replaces it.
        """
        self._check_run(run)
        if deployment is not None and deployment.id != run.deploy_id:
            raise HistoryError(
                f"history store {self.url}: run of {run.deploy_id!r} cannot be saved under "
                f"deployment {deployment.id!r}"
            )
        info = deployment or Deployment(id=run.deploy_id, created_at=run.started_at)
        sample_rows = [sample_row(samples, self._redact) for samples in run.operations.values()]

        def work(conn: Connection) -> int:
            seq, created = self._ensure_deployment(conn, info)
            run_id = conn.execute(
                sa.insert(runs_table).returning(runs_table.c.id),
                {
                    "deployment_seq": seq,
                    "phase": run.phase,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "health_ok": run.health_ok,
                    "key_checks_failed": dumps(run.key_checks_failed),
                    "items": dumps(run.items.to_dict()),
                    "score": None if score is None else score.score,
                    "band": None if score is None else score.band.value,
                    "verdict": None if score is None else score.verdict.value,
                    "components": dumps({} if score is None else score.components.as_dict()),
                    "failed_items": failed_items_value(run.failed_items, self._redact),
                },
            ).scalar_one()
            if sample_rows:
                conn.execute(
                    sa.insert(samples_table), [{"run_id": run_id, **row} for row in sample_rows]
                )
            if run.round is not None:
                replace_round(conn, seq, run.round, run_id, run.finished_at)
            if created:
                prune_deployments(conn, self.keep)
            return int(run_id)

        return self._write(work)

    def set_verdict(self, run_id: int, verdict: str) -> None:
        """Record the verdict a run got once compared with the previous deployment."""
        self._write(
            lambda conn: conn.execute(
                sa.update(runs_table).where(runs_table.c.id == run_id), {"verdict": verdict}
            )
        )

    def deployments(
        self,
        limit: int | None = 10,
        *,
        before: str | None = None,
        environment: str | None = None,
        with_runs: bool = False,
        service: str | None = None,
    ) -> list[Deployment]:
        """The latest deployments, newest first; ``before`` a deploy id to look further back,
        ``with_runs`` to skip deployments that have no run yet, ``service`` to keep those of
        one service (and those recorded before deployments named their service)."""
        query = sa.select(deployments_table).order_by(deployments_table.c.seq.desc())
        if environment is not None:
            query = query.where(deployments_table.c.environment == environment)
        if service is not None:
            column = deployments_table.c.service
            query = query.where(sa.or_(column == service, column.is_(None)))
        if with_runs:
            query = query.where(
                sa.exists().where(runs_table.c.deployment_seq == deployments_table.c.seq)
            )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            if before is not None:
                query = query.where(deployments_table.c.seq < self._seq(conn, before))
            return [deployment_from_row(row) for row in conn.execute(query).mappings()]

    def deployment(self, deploy_id: str) -> Deployment:
        """The deployment ``deploy_id``; HistoryError when unknown."""
        with self._read() as conn:
            row = (
                conn.execute(
                    sa.select(deployments_table).where(deployments_table.c.id == deploy_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise HistoryError(self._unknown(deploy_id))
        return deployment_from_row(row)

    def previous(
        self, deploy_id: str, *, environment: str | None = None, service: str | None = None
    ) -> Deployment | None:
        """The deployment recorded just before ``deploy_id``, if any."""
        found = self.deployments(1, before=deploy_id, environment=environment, service=service)
        return found[0] if found else None

    def services(self) -> list[str]:
        """The names of the services whose deployments the store holds, sorted."""
        column = deployments_table.c.service
        with self._read() as conn:
            rows = conn.execute(sa.select(column).where(column.is_not(None)).distinct())
            return sorted(str(name) for (name,) in rows)

    def runs(self, deploy_id: str) -> list[StoredRun]:
        """Every run of ``deploy_id``, oldest first."""
        return self.runs_of([deploy_id]).get(deploy_id, [])

    def runs_of(self, deploy_ids: Sequence[str]) -> dict[str, list[StoredRun]]:
        """The runs of several deployments at once (two queries, whatever their number)."""
        if not deploy_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                sa.select(runs_table, deployments_table.c.id.label("deploy_id"))
                .join(deployments_table)
                .where(deployments_table.c.id.in_(list(deploy_ids)))
                .order_by(runs_table.c.id)
            ).mappings()
            runs = {row["id"]: stored_run_from_row(row) for row in rows}
            if runs:
                samples = conn.execute(
                    sa.select(samples_table).where(samples_table.c.run_id.in_(list(runs)))
                ).mappings()
                for row in samples:
                    runs[row["run_id"]].result.operations[row["label"]] = samples_from_row(row)
            rounds = conn.execute(
                sa.select(collect_rounds_table.c.run_id, collect_rounds_table.c.round).where(
                    collect_rounds_table.c.run_id.in_(list(runs))
                )
            )
            for run_id, number in rounds:
                runs[run_id].result.round = number
        grouped: dict[str, list[StoredRun]] = {deploy_id: [] for deploy_id in deploy_ids}
        for stored in runs.values():
            grouped[stored.result.deploy_id].append(stored)
        return grouped

    def load_result(self, deploy_id: str) -> RunResult:
        """Every sample of ``deploy_id`` (all runs and rounds) merged into one result."""
        results = self.load_results([deploy_id])
        if deploy_id not in results:
            self.deployment(deploy_id)  # raises when unknown
            raise HistoryError(
                f"history store {self.url}: deployment {deploy_id!r} has no run recorded yet; "
                "run `pytest -m phase2` or `deploycheck collect` for it first"
            )
        return results[deploy_id]

    def load_results(self, deploy_ids: Sequence[str]) -> dict[str, RunResult]:
        """Merged results of each deployment in ``deploy_ids`` that has at least one run."""
        grouped = self.runs_of(deploy_ids)
        return {
            deploy_id: merge_runs(stored.result for stored in runs)
            for deploy_id, runs in grouped.items()
            if runs
        }

    def collect_rounds(self, deploy_id: str) -> list[int]:
        """The collect round numbers stored for ``deploy_id``, in order."""
        with self._read() as conn:
            seq = self._seq(conn, deploy_id)
            rows = conn.execute(
                sa.select(collect_rounds_table.c.round)
                .where(collect_rounds_table.c.deployment_seq == seq)
                .order_by(collect_rounds_table.c.round)
            )
            return [number for (number,) in rows]

    def count_deployments(self) -> int:
        """How many deployments the store holds."""
        with self._read() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(deployments_table))
            return int(count.scalar_one())

    def prune(self, keep: int | None = None) -> int:
        """Delete all but the newest ``keep`` deployments (default: the store's); return how
        many were deleted."""
        return self._write(
            lambda conn: prune_deployments(conn, self.keep if keep is None else keep)
        )

    # -- bundle sizes ---------------------------------------------------------------------

    def record_bundle_sizes(self, deploy_id: str, sizes: Mapping[str, int]) -> None:
        """Store the size in bytes of each bundle of ``deploy_id`` (replacing earlier ones)."""
        self._check_deploy_id(deploy_id)
        for name, size in sizes.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise HistoryError(
                    f"history store {self.url}: bundle {name!r} size must be a number of bytes "
                    f">= 0 (got {size!r})"
                )

        def work(conn: Connection) -> None:
            seq, _ = self._ensure_deployment(
                conn, Deployment(id=deploy_id, created_at=datetime.now(UTC))
            )
            conn.execute(
                sa.delete(bundle_sizes_table).where(
                    bundle_sizes_table.c.deployment_seq == seq,
                    bundle_sizes_table.c.name.in_(list(sizes)),
                )
            )
            if sizes:
                conn.execute(
                    sa.insert(bundle_sizes_table),
                    [{"deployment_seq": seq, "name": n, "bytes": b} for n, b in sizes.items()],
                )

        self._write(work)

    def bundle_sizes(self, deploy_id: str) -> dict[str, int]:
        """The bundle sizes of ``deploy_id`` (empty when none were recorded)."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(bundle_sizes_table.c.name, bundle_sizes_table.c.bytes)
                .join(deployments_table)
                .where(deployments_table.c.id == deploy_id)
            )
            return {name: int(size) for name, size in rows}

    def previous_bundle_sizes(self, deploy_id: str | None = None) -> dict[str, int]:
        """The bundle sizes of the latest deployment before ``deploy_id`` (or of the latest
        deployment at all) that recorded any; empty when there is none."""
        with self._read() as conn:
            latest = sa.select(sa.func.max(bundle_sizes_table.c.deployment_seq))
            if deploy_id is not None:
                seq = self._seq_or_none(conn, deploy_id)
                if seq is not None:
                    latest = latest.where(bundle_sizes_table.c.deployment_seq < seq)
            rows = conn.execute(
                sa.select(bundle_sizes_table.c.name, bundle_sizes_table.c.bytes).where(
                    bundle_sizes_table.c.deployment_seq == latest.scalar_subquery()
                )
            )
            return {name: int(size) for name, size in rows}

    # -- alerts ---------------------------------------------------------------------------

    def alert_state(self, key: str) -> AlertState | None:
        """The stored state of alert ``key``, or None when it never fired."""
        with self._read() as conn:
            row = (
                conn.execute(sa.select(alert_state_table).where(alert_state_table.c.key == key))
                .mappings()
                .first()
            )
        return None if row is None else AlertState(**dict(row))

    def alert_states(self) -> list[AlertState]:
        """Every stored alert state, by key."""
        with self._read() as conn:
            rows = conn.execute(sa.select(alert_state_table).order_by(alert_state_table.c.key))
            return [AlertState(**dict(row)) for row in rows.mappings()]

    def save_alert_state(self, state: AlertState) -> None:
        """Insert or replace the state of ``state.key``."""
        row = self._alert_state_row(state)
        self._write(lambda conn: upsert(conn, alert_state_table, row, keys=["key"]))

    def _alert_state_row(self, state: AlertState) -> dict[str, Any]:
        return {
            "key": state.key,
            "level": state.level,
            "consecutive_failures": state.consecutive_failures,
            "consecutive_successes": state.consecutive_successes,
            "last_sent_level": state.last_sent_level,
            "last_sent_at": state.last_sent_at,
            "opened_at": state.opened_at,
            "resolved_at": state.resolved_at,
            "updated_at": state.updated_at or datetime.now(UTC),
            "message": self._redact(state.message),
        }

    def save_alert(
        self,
        state: AlertState | None,
        events: Sequence[AlertEvent] = (),
        outbox: Sequence[OutboxEntry] = (),
    ) -> None:
        """In one transaction: save ``state`` (when given), append ``events`` and queue the
        ``outbox`` notifications. Saving the same outbox entries again changes nothing, so a
        write that failed may be repeated whole."""
        state_row = None if state is None else self._alert_state_row(state)
        event_rows = [self._alert_event_row(event) for event in events]
        outbox_rows = [
            {
                "id": entry.id,
                "key": entry.key,
                "channel": entry.channel,
                "probe": entry.probe,
                "kind": entry.kind,
                "level": entry.level,
                "title": self._redact(entry.title),
                "body": self._redact(entry.body),
                "at": entry.at,
                "attempts": entry.attempts,
                "last_error": None if entry.last_error is None else self._redact(entry.last_error),
                "delivered_at": entry.delivered_at,
            }
            for entry in outbox
        ]

        def work(conn: Connection) -> None:
            if state_row is not None:
                upsert(conn, alert_state_table, state_row, keys=["key"])
            if event_rows:
                conn.execute(sa.insert(alert_events_table), event_rows)
            for row in outbox_rows:
                upsert(conn, outbox_table, row, keys=["id"], update=())

        self._write(work)

    def record_delivery(
        self, event: AlertEvent, *, outbox_id: str | None, delivered: bool, attempts: int
    ) -> None:
        """Log how sending to a channel ended (``event``) and, for an outbox entry, count the
        ``attempts`` and mark it delivered when it was, in one transaction."""
        row = self._alert_event_row(event)

        def work(conn: Connection) -> None:
            conn.execute(sa.insert(alert_events_table), row)
            if outbox_id is not None:
                conn.execute(
                    sa.update(outbox_table)
                    .where(outbox_table.c.id == outbox_id)
                    .values(
                        attempts=outbox_table.c.attempts + attempts,
                        last_error=None if delivered else row["message"],
                        delivered_at=event.at if delivered else None,
                    )
                )
            if delivered:
                # delivered notifications are kept a while for the record, not forever
                conn.execute(
                    sa.delete(outbox_table).where(
                        outbox_table.c.delivered_at < event.at - _OUTBOX_KEEP
                    )
                )

        self._write(work)

    def pending_notifications(self, key_prefix: str = "") -> list[OutboxEntry]:
        """The undelivered outbox entries whose alert key starts with ``key_prefix``, oldest
        first."""
        query = (
            sa.select(outbox_table)
            .where(outbox_table.c.delivered_at.is_(None))
            .order_by(outbox_table.c.at, outbox_table.c.id)
        )
        if key_prefix:
            query = query.where(outbox_table.c.key.startswith(key_prefix, autoescape=True))
        with self._read() as conn:
            return [OutboxEntry(**dict(row)) for row in conn.execute(query).mappings()]

    def record_alert_event(self, event: AlertEvent) -> None:
        """Append ``event`` to the alert log."""
        row = self._alert_event_row(event)
        self._write(lambda conn: conn.execute(sa.insert(alert_events_table), row))

    def _alert_event_row(self, event: AlertEvent) -> dict[str, Any]:
        return {
            "key": event.key,
            "kind": event.kind,
            "level": event.level,
            "at": event.at,
            "message": self._redact(event.message),
            "channel": event.channel,
            "deploy_id": event.deploy_id,
        }

    def alert_events(self, key: str | None = None, limit: int = 100) -> list[AlertEvent]:
        """The latest alert events (of ``key`` when given), oldest first."""
        query = sa.select(alert_events_table).order_by(alert_events_table.c.id.desc())
        if key is not None:
            query = query.where(alert_events_table.c.key == key)
        with self._read() as conn:
            rows = list(conn.execute(query.limit(limit)).mappings())
        return [AlertEvent(**{k: v for k, v in row.items() if k != "id"}) for row in reversed(rows)]

    # -- rollbacks ------------------------------------------------------------------------

    def record_rollback(self, rollback: RollbackRecord) -> None:
        """Append ``rollback`` to the rollback log."""
        row = {
            "at": rollback.at,
            "deploy_id": rollback.deploy_id,
            "command": dumps([self._redact(arg) for arg in rollback.command]),
            "exit_code": rollback.exit_code,
            "outcome": rollback.outcome,
            "duration_s": rollback.duration_s,
            "output": self._redact(rollback.output)[-4000:],
        }
        self._write(lambda conn: conn.execute(sa.insert(rollbacks_table), row))

    def rollbacks(self, limit: int = 20) -> list[RollbackRecord]:
        """The latest rollbacks, oldest first."""
        query = sa.select(rollbacks_table).order_by(rollbacks_table.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = list(conn.execute(query).mappings())
        return [
            RollbackRecord(
                at=row["at"],
                command=tuple(json.loads(row["command"])),
                exit_code=row["exit_code"],
                outcome=row["outcome"],
                deploy_id=row["deploy_id"],
                duration_s=row["duration_s"],
                output=row["output"],
            )
            for row in reversed(rows)
        ]

    # -- internals ------------------------------------------------------------------------

    def _prepare_schema(self) -> None:
        self.schema_version = self._transaction(prepare_schema, action="prepare the schema")

    def _write(self, work: Callable[[Connection], T]) -> T:
        if not self.writable:
            raise HistoryError(
                f"history store {self.url} has schema version {self.schema_version}, newer "
                f"than this pytest-deploycheck understands ({SCHEMA_VERSION}); it is left "
                "untouched: upgrade pytest-deploycheck to write to it"
            )
        return self._transaction(work, action="write")

    def _transaction(self, work: Callable[[Connection], T], *, action: str) -> T:
        delay = 0.05
        for attempt in range(_LOCK_RETRIES):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(deploycheck_write=True)
                    with conn.begin():
                        return work(conn)
            except DBAPIError as error:
                if attempt + 1 < _LOCK_RETRIES and is_retryable(error):
                    self._sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                raise self._error(action, error) from None
            except SQLAlchemyError as error:
                raise self._error(action, error) from None
        raise AssertionError("unreachable")  # the last attempt returns or raises

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as error:
            raise self._error("read", error) from None

    def _error(self, action: str, error: SQLAlchemyError) -> HistoryError:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()
        message = detail[0] if detail else type(error).__name__
        if self._password:
            message = message.replace(self._password, "***")
        return HistoryError(f"history store {self.url}: cannot {action}: {message}")

    def _unknown(self, deploy_id: str) -> str:
        return (
            f"history store {self.url}: no deployment {deploy_id!r}; "
            "`deploycheck report` without --deploy-id shows the latest one"
        )

    def _seq_or_none(self, conn: Connection, deploy_id: str, *, lock: bool = False) -> int | None:
        query = sa.select(deployments_table.c.seq).where(deployments_table.c.id == deploy_id)
        if lock:
            # FOR KEY SHARE on PostgreSQL (nothing on SQLite, whose writers take the whole
            # database): a pruner deleting this deployment waits for our commit, or we wait
            # for its commit and then see the deployment gone, so a run never points at a
            # deployment deleted under it.
            query = query.with_for_update(read=True, key_share=True)
        seq = conn.execute(query).scalar_one_or_none()
        return None if seq is None else int(seq)

    def _seq(self, conn: Connection, deploy_id: str) -> int:
        seq = self._seq_or_none(conn, deploy_id)
        if seq is None:
            raise HistoryError(self._unknown(deploy_id))
        return seq

    def _ensure_deployment(self, conn: Connection, deployment: Deployment) -> tuple[int, bool]:
        """The deployment's seq (locked against pruning until the commit), and whether this
        call created it."""
        row = {
            "id": deployment.id,
            "created_at": deployment.created_at,
            "commit": deployment.commit,
            "branch": deployment.branch,
            "environment": deployment.environment,
            "metadata": dumps(redact_tree(deployment.metadata, self._redact)),
            "service": deployment.service,
        }
        for attempt in range(3):
            seq = self._seq_or_none(conn, deployment.id, lock=True)
            if seq is not None:
                self._check_service(conn, deployment)
                return seq, False
            try:
                # A savepoint, so losing a race to another writer leaves our transaction usable.
                with conn.begin_nested():
                    seq = conn.execute(
                        sa.insert(deployments_table).returning(deployments_table.c.seq), row
                    ).scalar_one()
            except IntegrityError:
                if attempt == 2:
                    raise
                continue  # another writer created it first (a pruner may have deleted it since)
            return int(seq), True
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _check_service(self, conn: Connection, deployment: Deployment) -> None:
        """A deploy id names one deployment: runs of another service must not join it."""
        stored = conn.execute(
            sa.select(deployments_table.c.service).where(deployments_table.c.id == deployment.id)
        ).scalar_one_or_none()
        if deployment.service and stored and stored != deployment.service:
            raise HistoryError(
                f"history store {self.url}: deployment {deployment.id!r} is one of service "
                f"{stored!r}, not {deployment.service!r}; nothing stored: give each service "
                "its own deploy ids (--deploy-id)"
            )

    def _check_deploy_id(self, deploy_id: object) -> None:
        if not isinstance(deploy_id, str) or not deploy_id.strip() or len(deploy_id) > 200:
            raise HistoryError(
                f"history store {self.url}: a deploy id must be a non-empty string of at most "
                f"200 characters (got {deploy_id!r}); pass --deploy-id"
            )

    def _check_run(self, run: RunResult) -> None:
        self._check_deploy_id(run.deploy_id)
        problems: list[str] = []
        if not run.phase or len(run.phase) > 40:
            problems.append(f"phase must be 1 to 40 characters (got {run.phase!r})")
        for name in ("started_at", "finished_at"):
            value = getattr(run, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                problems.append(f"{name} must be a timezone-aware datetime (got {value!r})")
        if run.round is not None and (isinstance(run.round, bool) or run.round < 0):
            problems.append(f"round must be an integer >= 0 or None (got {run.round!r})")
        for label, samples in run.operations.items():
            if label != samples.label or not label or len(label) > 500:
                problems.append(f"operation {label!r} holds samples labelled {samples.label!r}")
            bad = [v for v in samples.latencies_ms if not (math.isfinite(v) and v >= 0)]
            if bad:
                problems.append(f"{label}: latencies must be finite and >= 0 ms (got {bad[0]!r})")
        if problems:
            listed = "; ".join(problems)
            raise HistoryError(f"history store {self.url}: run not saved, nothing stored: {listed}")

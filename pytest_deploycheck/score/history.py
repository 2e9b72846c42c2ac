"""The history store: deployments, runs, samples, alert state, rollbacks and bundle sizes.

One interface over SQLAlchemy Core, opened from a URL (storage chosen by scheme, as in
pytest-benchmark): ``sqlite:///.deploycheck/history.db`` by default, relative to the project
root, or any SQLAlchemy URL such as ``postgresql+psycopg://user:pw@host/db`` where a team
shares history. Every table is prefixed ``deploycheck_`` so a shared database stays tidy.

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
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from pytest_deploycheck.core.errors import HistoryError

from .results import ItemCounts, OperationSamples, RunResult, merge_runs
from .scoring import Score

__all__ = [
    "CI_COMMIT_VARIABLES",
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "AlertEvent",
    "AlertState",
    "Deployment",
    "HistoryStore",
    "RollbackRecord",
    "StoredRun",
    "describe_deployment",
    "redact_url",
    "resolve_deploy_id",
]

DEFAULT_URL = "sqlite:///.deploycheck/history.db"
DEFAULT_KEEP = 500
SCHEMA_VERSION = 1

# The first variable set wins; each is the commit being built on that CI.
CI_COMMIT_VARIABLES = (
    "GITHUB_SHA",  # GitHub Actions
    "CI_COMMIT_SHA",  # GitLab CI
    "BUILDKITE_COMMIT",  # Buildkite
    "CIRCLE_SHA1",  # CircleCI
    "TRAVIS_COMMIT",  # Travis CI
    "BITBUCKET_COMMIT",  # Bitbucket Pipelines
    "BUILD_SOURCEVERSION",  # Azure Pipelines
    "DRONE_COMMIT_SHA",  # Drone, Woodpecker
    "SEMAPHORE_GIT_SHA",  # Semaphore
    "APPVEYOR_REPO_COMMIT",  # AppVeyor
    "CODEBUILD_RESOLVED_SOURCE_VERSION",  # AWS CodeBuild
    "GIT_COMMIT",  # Jenkins git plugin
)
CI_BRANCH_VARIABLES = (
    "GITHUB_HEAD_REF",  # set on pull requests only, so it goes before GITHUB_REF_NAME
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "TRAVIS_BRANCH",
    "BITBUCKET_BRANCH",
    "BUILD_SOURCEBRANCHNAME",
    "DRONE_BRANCH",
    "SEMAPHORE_GIT_BRANCH",
    "APPVEYOR_REPO_BRANCH",
    "GIT_BRANCH",
)

# Failure texts are for display; a flood of them must not bloat the store.
_MAX_FAILURES_STORED = 20
_MAX_FAILURE_CHARS = 500
_LOCK_RETRIES = 8

T = TypeVar("T")


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment: what was deployed, where and when."""

    id: str
    created_at: datetime
    commit: str | None = None
    branch: str | None = None
    environment: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as stored: its measurements and the score the gate gave it at the time."""

    id: int
    result: RunResult
    score: float | None
    band: str | None
    verdict: str | None
    components: Mapping[str, float | None]


@dataclass(slots=True)
class AlertState:
    """Where one monitored probe stands, kept so a restarted monitor neither forgets nor
    re-sends. ``level`` is 0 (clear), 1 warning, 2 elevated, 3 critical."""

    key: str
    level: int = 0
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_sent_level: int = 0
    last_sent_at: datetime | None = None
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """Something that happened to an alert: ``opened``, ``escalated``, ``resolved``, ``sent``,
    ``send_failed``... ``channel`` names the notifier when there is one."""

    key: str
    kind: str
    level: int
    at: datetime
    message: str = ""
    channel: str | None = None
    deploy_id: str | None = None


@dataclass(frozen=True, slots=True)
class RollbackRecord:
    """One rollback: the argv it ran, how it ended and what the health check said after."""

    at: datetime
    command: tuple[str, ...]
    exit_code: int | None
    outcome: str
    deploy_id: str | None = None
    duration_s: float | None = None
    output: str = ""


# -- deploy ids ---------------------------------------------------------------------------

GitRunner = Callable[[Sequence[str], Path], str | None]


def _run_git(args: Sequence[str], cwd: Path) -> str | None:
    """The stripped output of ``git args`` in ``cwd``, or None when git is missing or fails."""
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    output = completed.stdout.strip()
    return output if completed.returncode == 0 and output else None


def resolve_deploy_id(
    explicit: str | None,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    git: GitRunner = _run_git,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """The deployment id: ``--deploy-id``, else a CI commit variable, else ``git rev-parse
    HEAD`` in ``cwd``, else a UTC timestamp id such as ``local-20250102T030405Z``."""
    if explicit and explicit.strip():
        return explicit.strip()
    for name in ("DEPLOYCHECK_DEPLOY_ID", *CI_COMMIT_VARIABLES):
        value = environ.get(name, "").strip()
        if value:
            return value
    head = git(["rev-parse", "HEAD"], cwd)
    if head:
        return head
    return "local-" + now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def describe_deployment(
    deploy_id: str,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    environment: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    git: GitRunner = _run_git,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Deployment:
    """A :class:`Deployment` for ``deploy_id`` with the commit and branch CI or git report."""
    commit = next((environ[n] for n in CI_COMMIT_VARIABLES if environ.get(n)), None)
    commit = commit or git(["rev-parse", "HEAD"], cwd)
    branch = next((environ[n] for n in CI_BRANCH_VARIABLES if environ.get(n)), None)
    if branch is None:
        branch = git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
        branch = None if branch == "HEAD" else branch  # a detached HEAD has no branch
    return Deployment(
        id=deploy_id,
        created_at=now(),
        commit=commit,
        branch=branch,
        environment=environment or environ.get("DEPLOYCHECK_ENVIRONMENT") or None,
        metadata=dict(metadata or {}),
    )


# -- schema -------------------------------------------------------------------------------


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

# Upgrade steps: UPGRADES[n] takes a store at version n - 1 to version n. Each runs in the
# transaction that bumps the version, so a failed upgrade leaves the store as it was.
UPGRADES: dict[int, Callable[[Connection], None]] = {}


# -- URLs and errors ----------------------------------------------------------------------


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``, even when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)


def _resolve_url(url: str, root: Path | None) -> sa.URL:
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


def _is_retryable(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    if "database is locked" in text or "database table is locked" in text or "busy" in text:
        return True
    # PostgreSQL: serialization_failure, deadlock_detected.
    return getattr(error.orig, "sqlstate", None) in {"40001", "40P01"}


# -- the store ----------------------------------------------------------------------------


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
        parsed = _resolve_url(url, root)
        try:
            engine = _create_engine(parsed)
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
        sample_rows = [self._sample_row(samples) for samples in run.operations.values()]

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
                    "key_checks_failed": _dumps(run.key_checks_failed),
                    "items": _dumps(run.items.to_dict()),
                    "score": None if score is None else score.score,
                    "band": None if score is None else score.band.value,
                    "verdict": None if score is None else score.verdict.value,
                    "components": _dumps({} if score is None else score.components.as_dict()),
                },
            ).scalar_one()
            if sample_rows:
                conn.execute(
                    sa.insert(samples_table), [{"run_id": run_id, **row} for row in sample_rows]
                )
            if run.round is not None:
                self._replace_round(conn, seq, run.round, run_id, run.finished_at)
            if created:
                self._prune(conn, self.keep)
            return int(run_id)

        return self._write(work)

    def deployments(
        self,
        limit: int | None = 10,
        *,
        before: str | None = None,
        environment: str | None = None,
        with_runs: bool = False,
    ) -> list[Deployment]:
        """The latest deployments, newest first; ``before`` a deploy id to look further back,
        ``with_runs`` to skip deployments that have no run yet."""
        query = sa.select(deployments_table).order_by(deployments_table.c.seq.desc())
        if environment is not None:
            query = query.where(deployments_table.c.environment == environment)
        if with_runs:
            query = query.where(
                sa.exists().where(runs_table.c.deployment_seq == deployments_table.c.seq)
            )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            if before is not None:
                query = query.where(deployments_table.c.seq < self._seq(conn, before))
            return [_deployment(row) for row in conn.execute(query).mappings()]

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
        return _deployment(row)

    def previous(self, deploy_id: str, *, environment: str | None = None) -> Deployment | None:
        """The deployment recorded just before ``deploy_id``, if any."""
        found = self.deployments(1, before=deploy_id, environment=environment)
        return found[0] if found else None

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
            runs = {row["id"]: _stored_run(row) for row in rows}
            if runs:
                samples = conn.execute(
                    sa.select(samples_table).where(samples_table.c.run_id.in_(list(runs)))
                ).mappings()
                for row in samples:
                    runs[row["run_id"]].result.operations[row["label"]] = _samples(row)
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
        return self._write(lambda conn: self._prune(conn, self.keep if keep is None else keep))

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
        row = {
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

        def work(conn: Connection) -> None:
            updated = conn.execute(
                sa.update(alert_state_table).where(alert_state_table.c.key == state.key),
                {k: v for k, v in row.items() if k != "key"},
            )
            if updated.rowcount == 0:
                conn.execute(sa.insert(alert_state_table), row)

        self._write(work)

    def record_alert_event(self, event: AlertEvent) -> None:
        """Append ``event`` to the alert log."""
        row = {
            "key": event.key,
            "kind": event.kind,
            "level": event.level,
            "at": event.at,
            "message": self._redact(event.message),
            "channel": event.channel,
            "deploy_id": event.deploy_id,
        }
        self._write(lambda conn: conn.execute(sa.insert(alert_events_table), row))

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
            "command": _dumps([self._redact(arg) for arg in rollback.command]),
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
        def work(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":
                # Two processes creating a fresh store at once must not both run CREATE TABLE.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7236501)"))
            if not sa.inspect(conn).has_table(meta_table.name):
                metadata.create_all(conn)
                conn.execute(
                    sa.insert(meta_table), {"key": "schema_version", "value": str(SCHEMA_VERSION)}
                )
                self.schema_version = SCHEMA_VERSION
                return
            stored = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one_or_none()
            version = int(stored) if stored and stored.isdigit() else 0
            self.schema_version = version
            if version >= SCHEMA_VERSION:
                return
            metadata.create_all(conn)  # tables that did not exist at that version
            for step in range(version + 1, SCHEMA_VERSION + 1):
                if step in UPGRADES:
                    UPGRADES[step](conn)
            conn.execute(
                sa.update(meta_table).where(meta_table.c.key == "schema_version"),
                {"value": str(SCHEMA_VERSION)},
            )
            if stored is None:
                conn.execute(
                    sa.insert(meta_table), {"key": "schema_version", "value": str(SCHEMA_VERSION)}
                )
            self.schema_version = SCHEMA_VERSION

        self._transaction(work, action="prepare the schema")

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
                if attempt + 1 < _LOCK_RETRIES and _is_retryable(error):
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

    def _seq_or_none(self, conn: Connection, deploy_id: str) -> int | None:
        seq = conn.execute(
            sa.select(deployments_table.c.seq).where(deployments_table.c.id == deploy_id)
        ).scalar_one_or_none()
        return None if seq is None else int(seq)

    def _seq(self, conn: Connection, deploy_id: str) -> int:
        seq = self._seq_or_none(conn, deploy_id)
        if seq is None:
            raise HistoryError(self._unknown(deploy_id))
        return seq

    def _ensure_deployment(self, conn: Connection, deployment: Deployment) -> tuple[int, bool]:
        """The deployment's seq, and whether this call created it."""
        seq = self._seq_or_none(conn, deployment.id)
        if seq is not None:
            return seq, False
        row = {
            "id": deployment.id,
            "created_at": deployment.created_at,
            "commit": deployment.commit,
            "branch": deployment.branch,
            "environment": deployment.environment,
            "metadata": _dumps(_redact_tree(deployment.metadata, self._redact)),
        }
        try:
            # A savepoint, so losing a race to another writer leaves our transaction usable.
            with conn.begin_nested():
                conn.execute(sa.insert(deployments_table), row)
        except IntegrityError:
            return self._seq(conn, deployment.id), False
        return self._seq(conn, deployment.id), True

    def _replace_round(
        self, conn: Connection, seq: int, number: int, run_id: int, at: datetime
    ) -> None:
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

    def _prune(self, conn: Connection, keep: int) -> int:
        threshold = conn.execute(
            sa.select(deployments_table.c.seq)
            .order_by(deployments_table.c.seq.desc())
            .offset(keep - 1)
            .limit(1)
        ).scalar_one_or_none()
        if threshold is None:
            return 0
        old_runs = sa.select(runs_table.c.id).where(runs_table.c.deployment_seq < threshold)
        conn.execute(sa.delete(samples_table).where(samples_table.c.run_id.in_(old_runs)))
        for table in (collect_rounds_table, bundle_sizes_table, runs_table):
            conn.execute(sa.delete(table).where(table.c.deployment_seq < threshold))
        deleted = conn.execute(
            sa.delete(deployments_table).where(deployments_table.c.seq < threshold)
        )
        return int(deleted.rowcount or 0)

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

    def _sample_row(self, samples: OperationSamples) -> dict[str, Any]:
        failures = [
            self._redact(text)[:_MAX_FAILURE_CHARS]
            for text in samples.failures[:_MAX_FAILURES_STORED]
        ]
        return {
            "label": samples.label,
            "outcomes": "".join("1" if ok else "0" for ok in samples.outcomes),
            "latencies_ms": _dumps([round(v, 3) for v in samples.latencies_ms]),
            "failures": _dumps(failures),
        }


def _create_engine(url: sa.URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
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


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _redact_tree(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_tree(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_tree(v, redact) for v in value]
    return value


def _deployment(row: sa.RowMapping) -> Deployment:
    return Deployment(
        id=row["id"],
        created_at=row["created_at"],
        commit=row["commit"],
        branch=row["branch"],
        environment=row["environment"],
        metadata=json.loads(row["metadata"] or "{}"),
    )


def _stored_run(row: sa.RowMapping) -> StoredRun:
    result = RunResult(
        deploy_id=row["deploy_id"],
        phase=row["phase"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        health_ok=row["health_ok"],
        key_checks_failed=json.loads(row["key_checks_failed"]),
        items=ItemCounts.from_dict(json.loads(row["items"])),
    )
    return StoredRun(
        id=row["id"],
        result=result,
        score=row["score"],
        band=row["band"],
        verdict=row["verdict"],
        components=json.loads(row["components"]),
    )


def _samples(row: sa.RowMapping) -> OperationSamples:
    return OperationSamples(
        label=row["label"],
        outcomes=[flag == "1" for flag in row["outcomes"]],
        latencies_ms=[float(v) for v in json.loads(row["latencies_ms"])],
        failures=json.loads(row["failures"]),
    )

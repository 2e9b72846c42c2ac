"""The records the history store takes and returns: a deployment, a stored run, an alert's
state and its events, a notification waiting in the outbox, a rollback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytest_deploycheck.score.results import RunResult


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment: what was deployed, where and when."""

    id: str
    created_at: datetime
    commit: str | None = None
    branch: str | None = None
    environment: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # service.name of the config that recorded it (None: recorded before stores named them)
    service: str | None = None


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
class OutboxEntry:
    """A notification for one channel, kept until the channel took it: ``id`` is chosen by
    the writer (a UUID's hex), ``delivered_at`` is None while it is undelivered."""

    id: str
    key: str
    channel: str
    probe: str
    kind: str
    level: int
    title: str
    body: str
    at: datetime
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None


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

"""The alert escalation state machine: pure, so every transition is tested without a clock.

One probe (``health``, ``GET /providers``) has one :class:`~.history.AlertState`. Each
observation moves it:

- a failure counts one more consecutive failure; the level is the count, capped at 3
  (1 warning, 2 elevated, 3 critical: rollback recommended), and never goes down while the
  alert is open;
- ``resolve_after`` consecutive successes close an open alert (level back to 0);
- an alert is sent when its level rises above the last level sent, a reminder when it stays
  open for ``remind_every`` after the last send, and a resolution when a sent alert closes.

Whether (and when) an alert was sent is part of the state, which the monitor stores: a
restarted monitor continues where the last one stopped and sends nothing twice (as Gatus
does). A clear probe that keeps answering changes nothing, so it costs no write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pytest_deploycheck.core.units import format_duration
from pytest_deploycheck.score.history import AlertEvent, AlertState

__all__ = [
    "LEVEL_NAMES",
    "MAX_LEVEL",
    "AlertPolicy",
    "Notification",
    "NotificationKind",
    "Observation",
    "Transition",
    "evaluate",
]

MAX_LEVEL = 3
LEVEL_NAMES = {0: "clear", 1: "warning", 2: "elevated", 3: "critical"}

# The texts users of the original monitoring scripts know, one per level.
_LEVEL_ADVICE = {
    1: "Monitoring for additional failures...",
    2: "Elevated monitoring - potential issue detected",
    3: "Critical - rollback recommended: run `deploycheck rollback`",
}
_TIMES = {1: "once", 2: "twice"}


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """When alerts close and repeat: ``remind_every`` in seconds, None never reminds."""

    resolve_after: int = 2
    remind_every: float | None = 900.0

    def __post_init__(self) -> None:
        if self.resolve_after < 1:
            raise ValueError(f"resolve_after must be >= 1 (got {self.resolve_after!r})")
        if self.remind_every is not None and self.remind_every <= 0:
            raise ValueError(f"remind_every must be > 0 or None (got {self.remind_every!r})")


@dataclass(frozen=True, slots=True)
class Observation:
    """One probe's outcome: ``key`` is the stored alert key, ``probe`` what people read."""

    key: str
    probe: str
    ok: bool
    detail: str = ""
    latency_ms: float | None = None
    context: str = ""


class NotificationKind(StrEnum):
    """What a notification says."""

    ALERT = "alert"  # opened, or escalated to a higher level
    REMINDER = "reminder"  # still open, sent again after remind_every
    RESOLVED = "resolved"  # closed after resolve_after successes
    ROLLBACK = "rollback"  # the monitor ran the rollback by itself


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for the terminal and the channels. For a resolution, ``level`` is the level
    the alert had reached, so channels that received it receive its end too."""

    key: str
    probe: str
    kind: NotificationKind
    level: int
    title: str
    body: str
    at: datetime

    @property
    def text(self) -> str:
        """Title and body, as one block of plain text."""
        return f"{self.title}\n{self.body}" if self.body else self.title

    def redacted(self, redact: Callable[[str], str]) -> Notification:
        """A copy with ``redact`` applied to the title and the body, which quote probe URLs
        and what the server answered."""
        return dataclasses.replace(self, title=redact(self.title), body=redact(self.body))


@dataclass(frozen=True, slots=True)
class Transition:
    """The state after one observation, what to send, and what to log."""

    state: AlertState
    notifications: tuple[Notification, ...] = ()
    events: tuple[AlertEvent, ...] = ()
    changed: bool = False


def evaluate(
    state: AlertState | None, observation: Observation, now: datetime, policy: AlertPolicy
) -> Transition:
    """Apply ``observation`` (seen at ``now``) to ``state`` (None: never alerted)."""
    before = state or AlertState(key=observation.key)
    after = dataclasses.replace(before)
    notifications: list[Notification] = []
    events: list[AlertEvent] = []

    def event(kind: str, level: int, message: str) -> None:
        events.append(AlertEvent(observation.key, kind, level, now, message))

    if observation.ok:
        after.consecutive_failures = 0
        if after.level > 0:
            after.consecutive_successes += 1
            if after.consecutive_successes >= policy.resolve_after:
                resolution = _resolution(after, observation, now)
                event("resolved", after.level, resolution.title)
                if after.last_sent_level > 0:
                    notifications.append(resolution)
                    after.last_sent_at = now
                after.level = 0
                after.last_sent_level = 0
                after.consecutive_successes = 0
                after.resolved_at = now
    else:
        after.consecutive_successes = 0
        after.consecutive_failures += 1
        level = max(after.level, min(MAX_LEVEL, after.consecutive_failures))
        if after.level == 0:
            after.opened_at = now
            after.resolved_at = None
            event("opened", level, observation.detail)
        elif level > after.level:
            event("escalated", level, observation.detail)
        after.level = level
        after.message = observation.detail
        if after.level > after.last_sent_level:
            notifications.append(_alert(after, observation, now, NotificationKind.ALERT))
            after.last_sent_level = after.level
            after.last_sent_at = now
    if after.level > 0 and not notifications and _reminder_due(after, now, policy):
        notifications.append(_alert(after, observation, now, NotificationKind.REMINDER))
        event("reminded", after.level, observation.detail)
        after.last_sent_at = now
    changed = after != before
    if changed:
        after.updated_at = now
    return Transition(after, tuple(notifications), tuple(events), changed)


def _reminder_due(state: AlertState, now: datetime, policy: AlertPolicy) -> bool:
    if policy.remind_every is None or state.last_sent_at is None or state.last_sent_level == 0:
        return False
    return (now - state.last_sent_at).total_seconds() >= policy.remind_every


def _alert(
    state: AlertState, observation: Observation, now: datetime, kind: NotificationKind
) -> Notification:
    level = state.level
    failures = state.consecutive_failures
    if kind is NotificationKind.REMINDER:
        title = (
            f"REMINDER: ALERT LEVEL {level}: {observation.probe} still failing "
            f"({failures} consecutive failures)"
            if failures
            else f"REMINDER: ALERT LEVEL {level}: {observation.probe} not resolved yet"
        )
    else:
        times = _TIMES.get(failures, f"{failures} times")
        title = f"ALERT LEVEL {level}: {observation.probe} failed {times}"
    lines = [_LEVEL_ADVICE[level]]
    detail = observation.detail or state.message
    if detail:
        lines.append(f"Last failure: {detail}")
    if state.opened_at is not None:
        lines.append(f"Open since {state.opened_at:%Y-%m-%d %H:%M:%S %Z}")
    if observation.context:
        lines.append(observation.context)
    return Notification(
        observation.key, observation.probe, kind, level, title, "\n".join(lines), now
    )


def _resolution(state: AlertState, observation: Observation, now: datetime) -> Notification:
    title = f"RESOLVED: {observation.probe} is answering again"
    lines = [
        f"{state.consecutive_successes} consecutive successes after reaching "
        f"level {state.level} ({LEVEL_NAMES[state.level]})"
    ]
    if state.opened_at is not None:
        open_for = format_duration(max(0.0, (now - state.opened_at).total_seconds()))
        lines.append(f"Open for {open_for}, since {state.opened_at:%Y-%m-%d %H:%M:%S %Z}")
    if observation.context:
        lines.append(observation.context)
    return Notification(
        observation.key,
        observation.probe,
        NotificationKind.RESOLVED,
        state.level,
        title,
        "\n".join(lines),
        now,
    )

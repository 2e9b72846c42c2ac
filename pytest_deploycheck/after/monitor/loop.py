"""The monitor loop: rounds on a schedule, alert state in the store, notifications out."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pytest_deploycheck.after.alerts import (
    LEVEL_NAMES,
    Notification,
    NotificationKind,
    Observation,
    evaluate,
)
from pytest_deploycheck.after.metrics import MonitorMetrics
from pytest_deploycheck.after.notify import Delivery, Dispatcher
from pytest_deploycheck.after.rollback import RollbackOutcome
from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score.history import (
    AlertEvent,
    AlertState,
    HistoryStore,
    OutboxEntry,
    RollbackRecord,
)

from .display import MonitorReporter, SilentReporter
from .journal import Journal
from .probing import Prober
from .settings import MonitorSettings

__all__ = ["NOTIFY_DRAIN", "Monitor", "MonitorResult"]

_TICK = 1.0  # seconds between two progress updates while waiting
NOTIFY_DRAIN = 30.0  # how long a finishing monitor waits for channels to deliver


@dataclass
class MonitorResult:
    """What a monitor run saw: its exit code is the highest alert level reached (0: none),
    even when the history store was away for a while."""

    planned: int
    rounds: int = 0
    highest_level: int = 0
    interrupted: bool = False
    notifications: list[Notification] = field(default_factory=list)
    rollbacks: list[RollbackOutcome] = field(default_factory=list)
    undelivered: int = 0
    unsaved: int = 0
    levels: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """The highest level reached: 0 none, 1 warning, 2 elevated, 3 critical."""
        return self.highest_level

    def describe(self) -> str:
        """A closing summary (plain text)."""
        state = "interrupted after" if self.interrupted else "ran"
        lines = [
            f"monitor {state} {self.rounds} of {self.planned} rounds; highest alert level "
            f"{self.highest_level} ({LEVEL_NAMES[self.highest_level]})"
        ]
        still_open = {probe: level for probe, level in self.levels.items() if level}
        if still_open:
            opened = ", ".join(f"{probe} (level {level})" for probe, level in still_open.items())
            lines.append(f"still open: {opened}")
        if self.undelivered:
            lines.append(
                f"{self.undelivered} notification(s) could not be delivered in time; the "
                "history store keeps them and the next monitor sends them"
            )
        if self.unsaved:
            lines.append(
                f"{self.unsaved} write(s) could not be saved: the history store is still "
                "unreachable"
            )
        return "\n".join(lines)


class Monitor:
    """The monitor loop: rounds on a schedule, alert state in the store, notifications out.

    ``redact`` (the session's ``redactor.redact``) masks every probe detail as it comes in,
    and every notification and rollback report as it goes out.

    Every notification for a channel is written to the store's outbox before it is sent and
    marked when the channel took it; what an earlier monitor left undelivered is sent first.
    Writes go through a :class:`~.journal.Journal`, so a store that goes away stops nothing.
    """

    def __init__(
        self,
        *,
        settings: MonitorSettings,
        prober: Prober,
        store: HistoryStore,
        scope: str,
        redact: Callable[[str], str],
        context: str = "",
        deploy_id: str | None = None,
        dispatcher: Dispatcher | None = None,
        metrics: MonitorMetrics | None = None,
        reporter: MonitorReporter | None = None,
        auto_rollback: Callable[[], RollbackOutcome] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.prober = prober
        self.store = store
        self.scope = scope
        self.redact = redact
        self.context = context
        self.deploy_id = deploy_id
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.reporter: MonitorReporter = reporter or SilentReporter()
        self.auto_rollback = auto_rollback
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self._states: dict[str, AlertState] = {}
        self._rolled_back = False
        self.journal = Journal(store, note=self._note, clock=clock)

    def key(self, probe: str) -> str:
        """The stored alert key of ``probe``: scoped by service and environment."""
        return f"{self.scope}:{probe}"

    def on_delivery(self, delivery: Delivery) -> None:
        """Log a channel's delivery and mark its outbox entry (called from the channel's
        thread)."""
        notification = delivery.notification
        event = AlertEvent(
            key=notification.key,
            kind="sent" if delivery.ok else "send_failed",
            level=notification.level,
            at=self.now(),
            message=notification.title if delivery.ok else (delivery.error or ""),
            channel=delivery.channel,
            deploy_id=self.deploy_id,
        )
        self.journal.write(
            lambda store: store.record_delivery(
                event, outbox_id=delivery.ref, delivered=delivery.ok, attempts=delivery.attempts
            )
        )
        if self.metrics is not None:
            self.metrics.delivered(delivery.channel, delivery.ok)
        self.reporter.delivery(delivery)

    def run(self) -> MonitorResult:
        """Probe on schedule until the duration is over or Ctrl-C; never raises for a probe
        or a channel that fails."""
        settings = self.settings
        result = MonitorResult(planned=settings.rounds)
        keys = {self.key(probe): probe for probe in settings.probes}
        self._states = {s.key: s for s in self.store.alert_states() if s.key in keys}
        undelivered = self.store.pending_notifications(f"{self.scope}:") if self.dispatcher else []
        open_alerts = [state for state in self._states.values() if state.level > 0]
        for state in self._states.values():
            result.levels[keys[state.key]] = state.level
            if self.metrics is not None:
                self.metrics.set_level(keys[state.key], state.level)
        channels = [c.name for c in self.dispatcher.channels] if self.dispatcher else []
        self.reporter.started(settings, channels, open_alerts)
        self._resend(undelivered)
        start = self.clock()
        try:
            for index in range(settings.rounds):
                moment = start + index * settings.interval
                while (remaining := moment - self.clock()) > 0:
                    self.reporter.waiting(index + 1, settings.rounds, remaining)
                    self.sleep(min(_TICK, remaining))
                if index and self.clock() - start >= settings.duration:
                    break  # rounds ran late; the duration is what the user asked for
                self.journal.flush()  # what waited for the store, before this round's writes
                self._round(index + 1, result)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            if self.dispatcher is not None:
                result.undelivered = self.dispatcher.close(NOTIFY_DRAIN)
            result.unsaved = self.journal.flush() + self.journal.dropped
        return result

    def _note(self, text: str) -> None:
        self.reporter.note(self.redact(text))

    def _resend(self, entries: Sequence[OutboxEntry]) -> None:
        """Send again, first, what an earlier monitor could not deliver."""
        if not entries or self.dispatcher is None:
            return
        gone: set[str] = set()
        for entry in entries:
            notification = Notification(
                key=entry.key,
                probe=entry.probe,
                kind=NotificationKind(entry.kind),
                level=entry.level,
                title=entry.title,
                body=entry.body,
                at=entry.at,
            )
            if not self.dispatcher.resend(entry.channel, notification, entry.id):
                gone.add(entry.channel)
        sent = len(entries) - sum(entry.channel in gone for entry in entries)
        if sent:
            self._note(f"resending {sent} notification(s) an earlier monitor could not deliver")
        if gone:
            self._note(
                "undelivered notification(s) for channel(s) no longer configured are kept: "
                + ", ".join(sorted(gone))
            )

    def _round(self, number: int, result: MonitorResult) -> None:
        # Masked before anything sees them: details end up in the alert state, the events,
        # the terminal and every channel.
        outcomes = [
            dataclasses.replace(outcome, detail=self.redact(outcome.detail))
            for outcome in self.prober()
        ]
        at = self.now()
        critical: list[AlertState] = []
        for outcome in outcomes:
            observation = Observation(
                self.key(outcome.probe),
                outcome.probe,
                outcome.ok,
                outcome.detail,
                outcome.latency_ms,
                self.context,
            )
            transition = evaluate(
                self._states.get(observation.key), observation, at, self.settings.policy
            )
            state = transition.state
            if transition.changed:
                self._states[state.key] = state
            # Recorded before anything is sent, so a Ctrl-C while notifying loses nothing.
            result.levels[outcome.probe] = state.level
            result.highest_level = max(result.highest_level, state.level)
            events = [dataclasses.replace(e, deploy_id=self.deploy_id) for e in transition.events]
            # The state, its events and the outbox entries in one write, before anything is
            # sent: a monitor that dies now resends what a channel has not taken, no more.
            self._save(
                state if transition.changed else None,
                events,
                transition.notifications,
                result,
            )
            if self.metrics is not None:
                self.metrics.observe(outcome.probe, outcome.ok, outcome.latency_ms, state.level)
            if state.level >= 3:
                critical.append(state)
        result.rounds = number
        if self.metrics is not None:
            self.metrics.finish_round([outcome.ok for outcome in outcomes])
        self.reporter.round_finished(number, self.settings.rounds, outcomes, result.levels)
        if critical and self.auto_rollback is not None and not self._rolled_back:
            self._roll_back(critical, result)

    def _save(
        self,
        state: AlertState | None,
        events: Sequence[AlertEvent],
        notifications: Sequence[Notification],
        result: MonitorResult,
    ) -> None:
        """Write the state, events and outbox entries at once, then send the notifications."""
        redacted = [notification.redacted(self.redact) for notification in notifications]
        outbox: list[OutboxEntry] = []
        refs: list[dict[str, str]] = []
        for notification in redacted:
            wanted = {
                channel.name: uuid.uuid4().hex
                for channel in (self.dispatcher.channels if self.dispatcher else ())
                if channel.wants(notification)
            }
            refs.append(wanted)
            outbox.extend(_outbox_entry(notification, name, ref) for name, ref in wanted.items())
        if state is not None or events or outbox:
            saved = None if state is None else dataclasses.replace(state)
            self.journal.write(lambda store: store.save_alert(saved, events, outbox))
        for notification, wanted in zip(redacted, refs, strict=True):
            channels = self.dispatcher.dispatch(notification, wanted) if self.dispatcher else []
            result.notifications.append(notification)
            self.reporter.notification(notification, channels)

    def _roll_back(self, critical: Sequence[AlertState], result: MonitorResult) -> None:
        assert self.auto_rollback is not None
        self._rolled_back = True
        opened = min((s.opened_at for s in critical if s.opened_at is not None), default=None)
        if opened is not None and any(r.at >= opened for r in self._rollbacks()):
            # A monitor before a restart already rolled back for this alert: once is enough.
            return
        outcome = self.auto_rollback()
        record = outcome.record
        if record is not None:
            self.journal.write(lambda store: store.record_rollback(record))
        description = outcome.describe(self.redact)
        result.rollbacks.append(outcome)
        self.reporter.rollback(outcome, description)
        at = self.now()
        verdict = "succeeded" if outcome.ok else f"FAILED ({outcome.outcome})"
        probes = ", ".join(state.key.split(":", 1)[-1] for state in critical)
        events = [
            AlertEvent(
                state.key, "rollback", state.level, at, outcome.outcome, None, self.deploy_id
            )
            for state in critical
        ]
        notification = Notification(
            key=critical[0].key,
            probe=probes,
            kind=NotificationKind.ROLLBACK,
            level=3,
            title=f"AUTOMATIC ROLLBACK {verdict} after a critical alert on {probes}",
            body="\n".join(filter(None, [description, self.context])),
            at=at,
        )
        self._save(None, events, [notification], result)

    def _rollbacks(self) -> list[RollbackRecord]:
        try:
            return self.store.rollbacks(limit=50)
        except HistoryError:
            return []  # the store is away: roll back (once in this run) rather than not at all


def _outbox_entry(notification: Notification, channel: str, ref: str) -> OutboxEntry:
    return OutboxEntry(
        id=ref,
        key=notification.key,
        channel=channel,
        probe=notification.probe,
        kind=notification.kind.value,
        level=notification.level,
        title=notification.title,
        body=notification.body,
        at=notification.at,
    )

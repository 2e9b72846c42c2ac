"""What the monitor shows on the terminal while it runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pytest_deploycheck.after.alerts import LEVEL_NAMES, Notification, NotificationKind
from pytest_deploycheck.after.notify import Delivery
from pytest_deploycheck.after.rollback import RollbackOutcome
from pytest_deploycheck.core.units import format_duration
from pytest_deploycheck.score.history import AlertState

from .probing import ProbeOutcome
from .settings import MonitorSettings

__all__ = ["MonitorReporter", "RichMonitorReporter", "SilentReporter", "format_notification"]


class MonitorReporter(Protocol):
    """What the monitor tells the terminal. ``delivery`` is called from channel threads.

    Every text it receives (probe details, notifications, the rollback's ``description``) is
    already redacted.
    """

    def started(
        self, settings: MonitorSettings, channels: Sequence[str], open_alerts: Sequence[AlertState]
    ) -> None: ...

    def waiting(self, number: int, total: int, remaining: float) -> None: ...

    def round_finished(
        self, number: int, total: int, outcomes: Sequence[ProbeOutcome], levels: Mapping[str, int]
    ) -> None: ...

    def notification(self, notification: Notification, channels: Sequence[str]) -> None: ...

    def delivery(self, delivery: Delivery) -> None: ...

    def rollback(self, outcome: RollbackOutcome, description: str) -> None: ...

    def note(self, text: str) -> None:
        """News about the monitor itself: the history store went away or came back,
        notifications an earlier run left undelivered are sent again."""


class SilentReporter:
    """A reporter that shows nothing (the default, and the tests')."""

    def started(
        self, settings: MonitorSettings, channels: Sequence[str], open_alerts: Sequence[AlertState]
    ) -> None:
        return None

    def waiting(self, number: int, total: int, remaining: float) -> None:
        return None

    def round_finished(
        self, number: int, total: int, outcomes: Sequence[ProbeOutcome], levels: Mapping[str, int]
    ) -> None:
        return None

    def notification(self, notification: Notification, channels: Sequence[str]) -> None:
        return None

    def delivery(self, delivery: Delivery) -> None:
        return None

    def rollback(self, outcome: RollbackOutcome, description: str) -> None:
        return None

    def note(self, text: str) -> None:
        return None


_STYLES = {1: "yellow", 2: "bold dark_orange", 3: "bold red"}
_MARKS = {1: "⚠ ", 2: "⚠ ", 3: "🚨"}


def format_notification(notification: Notification) -> str:
    """A notification for the terminal, in rich markup (server text escaped).

    The monitor hands its reporter notifications already redacted.
    """
    from rich.markup import escape

    if notification.kind is NotificationKind.RESOLVED:
        style, mark = "bold green", "✅"
    elif notification.kind is NotificationKind.ROLLBACK:
        style, mark = "bold magenta", "↩ "
    else:
        style, mark = _STYLES[notification.level], _MARKS[notification.level]
    lines = [f"[{style}]{mark} {escape(notification.title)}[/]"]
    lines.extend(f"   {escape(line)}" for line in notification.body.splitlines())
    return "\n".join(lines)


class RichMonitorReporter:
    """Draws the monitor on a rich console: a status line between rounds, a line per round
    with failures, every notification, failed deliveries. Use it as a context manager."""

    def __init__(self, console: Any, *, every_round: bool = False) -> None:
        self.console = console
        self.every_round = every_round
        self._status: Any = None
        self._summary = "all clear"

    def __enter__(self) -> RichMonitorReporter:
        self._status = self.console.status("starting the monitor")
        self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()

    def started(
        self, settings: MonitorSettings, channels: Sequence[str], open_alerts: Sequence[AlertState]
    ) -> None:
        from rich.markup import escape

        self.console.print(
            f"monitoring {len(settings.probes)} probe(s) every {format_duration(settings.interval)}"
            f" for {format_duration(settings.duration)} ({settings.rounds} rounds); "
            f"channels: {escape(', '.join(channels)) if channels else 'terminal only'}"
        )
        for state in open_alerts:
            self.console.print(
                f"  [yellow]open alert carried over[/]: {escape(state.key)} at level "
                f"{state.level} ({LEVEL_NAMES[state.level]}), {state.consecutive_failures} "
                "consecutive failure(s)"
            )

    def waiting(self, number: int, total: int, remaining: float) -> None:
        if self._status is not None:
            self._status.update(
                f"round {number}/{total} in {format_duration(math.ceil(remaining))}; "
                f"{self._summary}"
            )

    def round_finished(
        self, number: int, total: int, outcomes: Sequence[ProbeOutcome], levels: Mapping[str, int]
    ) -> None:
        from rich.markup import escape

        failed = [outcome for outcome in outcomes if not outcome.ok]
        open_levels = {probe: level for probe, level in levels.items() if level}
        self._summary = (
            "open alerts: " + ", ".join(f"{p} L{lvl}" for p, lvl in open_levels.items())
            if open_levels
            else "all clear"
        )
        if failed or self.every_round:
            self.console.print(
                f"round {number}/{total}: {len(outcomes) - len(failed)}/{len(outcomes)} probes ok"
            )
            for outcome in failed[:10]:
                self.console.print(f"  [red]✗[/] {escape(outcome.probe)}: {escape(outcome.detail)}")
            if len(failed) > 10:
                self.console.print(f"  ... and {len(failed) - 10} more")

    def notification(self, notification: Notification, channels: Sequence[str]) -> None:
        from rich.markup import escape

        self.console.print(format_notification(notification))
        if channels:
            self.console.print(f"   [dim]-> {escape(', '.join(channels))}[/]")

    def delivery(self, delivery: Delivery) -> None:
        from rich.markup import escape

        if not delivery.ok:
            self.console.print(
                f"[red]notification to {escape(delivery.channel)} failed after "
                f"{delivery.attempts} attempt(s), given up[/]: {escape(delivery.error or '')}"
            )

    def rollback(self, outcome: RollbackOutcome, description: str) -> None:
        from rich.markup import escape

        style = "green" if outcome.ok else "bold red"
        self.console.print(f"[{style}]{escape(description)}[/]")

    def note(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"[yellow]monitor[/]: {escape(text)}")

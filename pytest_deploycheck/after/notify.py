"""Notification channels: Apprise URLs from the ``notify`` section, each with its own queue.

Every channel is validated when the monitor starts (a URL Apprise cannot use is a
:class:`ConfigError` naming the channel, never printing the URL: it carries a token). A
:class:`Dispatcher` gives each channel a worker thread, so a slow or failing channel delays
neither the probes nor the other channels; a failed send is retried with exponential backoff,
then given up and reported through ``on_delivery``. The terminal is not a channel: the monitor
shows every notification itself.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pytest_deploycheck.core.errors import ConfigError, NotificationError

from .alerts import Notification, NotificationKind

__all__ = [
    "AppriseSender",
    "Channel",
    "Delivery",
    "Dispatcher",
    "NotifySettings",
    "Sender",
    "apprise_problem",
    "notify_settings",
]

DEFAULT_LEVELS = frozenset({1, 2, 3})
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
_MAX_BACKOFF = 60.0
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True, slots=True)
class Channel:
    """A notification channel. ``url`` is a secret: it never appears in messages or logs."""

    name: str
    url: str = field(repr=False)
    levels: frozenset[int] = DEFAULT_LEVELS

    def wants(self, notification: Notification) -> bool:
        """Whether this channel receives ``notification``.

        An alert or a reminder goes to the channels taking its level. A resolution, or a
        rollback report, goes where the alert went: to the channels taking any level up to
        the one the alert reached.
        """
        if notification.kind in (NotificationKind.ALERT, NotificationKind.REMINDER):
            return notification.level in self.levels
        return min(self.levels) <= notification.level


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """The ``notify`` section with its defaults applied."""

    channels: tuple[Channel, ...] = ()
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True, slots=True)
class Delivery:
    """How sending one notification to one channel ended."""

    channel: str
    notification: Notification
    ok: bool
    attempts: int
    error: str | None = None
    ref: str | None = None  # the caller's name for this delivery (the monitor's outbox id)


Sender = Callable[[Channel, Notification], None]
"""Sends one notification to one channel, raising NotificationError when it fails."""


def apprise_problem(url: str) -> str | None:
    """Why Apprise cannot use ``url``, or None when it can (the URL is never quoted)."""
    import apprise

    if apprise.Apprise.instantiate(url) is not None:
        return None
    match = _SCHEME.match(url)
    if match is None:
        return "is not a URL: write it as scheme://..., such as slack://... or jsons://host/path"
    return (
        f"is a {match.group(1)}:// URL that Apprise cannot use (unknown scheme, or a part "
        "missing); see https://github.com/caronc/apprise/wiki for the URL of each service"
    )


def notify_settings(
    section: Mapping[str, Any],
    *,
    validate: Callable[[str], str | None] = apprise_problem,
    source: str = "deployment-config.json",
) -> NotifySettings:
    """Parse and validate the ``notify`` section; ConfigError lists every bad channel."""
    problems: list[str] = []
    channels: list[Channel] = []
    taken: set[str] = set()
    for index, entry in enumerate(section.get("channels") or ()):
        url = str(entry.get("url", "")).strip()
        name = str(entry.get("name") or _scheme(url) or f"channel{index + 1}")
        where = f"notify.channels[{index}] ({name})"
        if name in taken:
            problems.append(f"{where}: the name {name!r} is used twice; give each a 'name'")
        taken.add(name)
        if not url:
            problems.append(f"{where}: url is empty; is its ${{VAR}} set in the environment?")
            continue
        reason = validate(url)
        if reason is not None:
            problems.append(f"{where}: url {reason}")
            continue
        levels = frozenset(int(level) for level in entry.get("levels") or DEFAULT_LEVELS)
        channels.append(Channel(name, url, levels))
    if problems:
        raise ConfigError(problems, source=source)
    retries = int(section.get("retries", DEFAULT_RETRIES))
    return NotifySettings(tuple(channels), retries)


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


class AppriseSender:
    """Sends through Apprise, keeping one Apprise object per channel (they are slow to make)."""

    _TYPES: ClassVar[Mapping[NotificationKind, str]] = {
        NotificationKind.RESOLVED: "success",
        NotificationKind.ROLLBACK: "info",
    }

    def __init__(self) -> None:
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, channel: Channel, notification: Notification) -> None:
        service = self._service(channel)
        notify_type = self._TYPES.get(
            notification.kind, "failure" if notification.level >= 3 else "warning"
        )
        result = service.notify(
            body=notification.body, title=notification.title, notify_type=notify_type
        )
        if not result:
            reasons = [
                entry.message
                for entry in result.logs()
                if entry.level in ("WARNING", "ERROR", "CRITICAL")
            ]
            reason = reasons[-1] if reasons else f"Apprise reported {result.status.name}"
            raise NotificationError(f"channel {channel.name}: {reason}")

    def _service(self, channel: Channel) -> Any:
        import apprise

        with self._lock:
            service = self._services.get(channel.name)
            if service is None:
                service = apprise.Apprise()
                if not service.add(channel.url):
                    raise NotificationError(f"channel {channel.name}: Apprise refused its URL")
                self._services[channel.name] = service
        return service


_STOP = object()


class Dispatcher:
    """Delivers notifications to channels in the background, in order, per channel.

    ``redact`` (the session's ``redactor.redact``) masks secrets in every title, body and
    error before anything leaves the process.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        redact: Callable[[str], str],
        send: Sender | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.channels = tuple(channels)
        self._send = send or AppriseSender()
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._on_delivery = on_delivery
        self._redact = redact
        self._queues: dict[str, queue.Queue[object]] = {}
        self._pending: int | None = None
        self._threads: list[threading.Thread] = []
        for channel in self.channels:
            inbox: queue.Queue[object] = queue.Queue()
            self._queues[channel.name] = inbox
            thread = threading.Thread(
                target=self._work,
                args=(channel, inbox),
                name=f"deploycheck-notify-{channel.name}",
                daemon=True,  # a channel stuck past close() must not keep the process alive
            )
            thread.start()
            self._threads.append(thread)

    def dispatch(
        self, notification: Notification, refs: Mapping[str, str] | None = None
    ) -> list[str]:
        """Queue ``notification``, redacted, for every channel that wants it; return their
        names. ``refs`` names each channel's delivery; its :class:`Delivery` carries it."""
        names = [channel.name for channel in self.channels if channel.wants(notification)]
        if names:
            redacted = notification.redacted(self._redact)
            for name in names:
                self._queues[name].put((redacted, (refs or {}).get(name)))
        return names

    def resend(self, channel: str, notification: Notification, ref: str | None = None) -> bool:
        """Queue ``notification`` for ``channel`` alone (one an earlier run could not
        deliver); False when no such channel is configured."""
        inbox = self._queues.get(channel)
        if inbox is None:
            return False
        inbox.put((notification.redacted(self._redact), ref))
        return True

    def close(self, timeout: float = 30.0) -> int:
        """Deliver what is queued, waiting at most ``timeout`` seconds in all; return how many
        notifications were still pending when the wait ended. Closing twice is harmless."""
        if self._pending is not None:
            return self._pending
        for inbox in self._queues.values():
            inbox.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        # A worker still busy holds one notification in hand and the rest (plus the stop
        # marker) in its queue.
        self._pending = sum(
            inbox.qsize()
            for inbox, thread in zip(self._queues.values(), self._threads, strict=True)
            if thread.is_alive()
        )
        return self._pending

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _work(self, channel: Channel, inbox: queue.Queue[object]) -> None:
        while True:
            item = inbox.get()
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            notification, ref = item
            delivery = self._deliver(channel, notification, ref)
            if self._on_delivery is not None:
                # A failure to report a delivery must not kill the channel's worker.
                with contextlib.suppress(Exception):
                    self._on_delivery(delivery)

    def _deliver(self, channel: Channel, notification: Notification, ref: str | None) -> Delivery:
        error = ""
        attempts = 0
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(min(self._backoff * 2 ** (attempt - 1), _MAX_BACKOFF))
            attempts = attempt + 1
            try:
                self._send(channel, notification)
            except NotificationError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - any plugin failure is a failed send
                error = f"channel {channel.name}: {type(exc).__name__}: {exc}"
            else:
                return Delivery(channel.name, notification, True, attempts, ref=ref)
        return Delivery(channel.name, notification, False, attempts, self._redact(error), ref)

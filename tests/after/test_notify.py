"""Notification channels: validation, level filters, background delivery with retries."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pytest_deploycheck.after.alerts import Notification, NotificationKind
from pytest_deploycheck.after.notify import (
    AppriseSender,
    Channel,
    Delivery,
    Dispatcher,
    apprise_problem,
    notify_settings,
)
from pytest_deploycheck.core.errors import ConfigError, NotificationError
from pytest_deploycheck.core.redaction import Redactor

AT = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def note(
    level: int, kind: NotificationKind = NotificationKind.ALERT, title: str = ""
) -> Notification:
    return Notification("svc:health", "health", kind, level, title or f"L{level}", "body", AT)


def accept_all(url: str) -> str | None:
    return None


def keep(text: str) -> str:
    """A redactor for tests with no secrets."""
    return text


# -- settings -------------------------------------------------------------------------------


def test_settings_apply_defaults_and_name_channels_by_scheme() -> None:
    settings = notify_settings(
        {
            "channels": [
                {"url": "slack://a/b/c"},
                {"url": "json://h/x", "name": "ops", "levels": [3]},
            ]
        },
        validate=accept_all,
    )
    assert settings.retries == 3
    assert [(c.name, sorted(c.levels)) for c in settings.channels] == [
        ("slack", [1, 2, 3]),
        ("ops", [3]),
    ]
    assert "slack://a/b/c" not in repr(settings.channels[0])  # the URL is a secret


def test_every_bad_channel_is_reported_at_once_without_its_url() -> None:
    section = {
        "channels": [
            {"url": "slack://T0KEN-SECRET-VALUE"},
            {"url": "json://127.0.0.1:9/hook", "name": "hook"},
            {"url": "  ", "name": "empty"},
            {"url": "json://127.0.0.1:9/other", "name": "hook"},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        notify_settings(section, source="deploy.json")
    message = str(caught.value)
    assert message.startswith("deploy.json: 3 problems")
    assert "notify.channels[0] (slack): url is a slack:// URL that Apprise cannot use" in message
    assert "notify.channels[2] (empty): url is empty" in message
    assert "notify.channels[3] (hook): the name 'hook' is used twice" in message
    assert "T0KEN" not in message


def test_apprise_problem_accepts_usable_urls() -> None:
    assert apprise_problem("json://127.0.0.1:8080/hook") is None
    assert apprise_problem("mailto://user:pw@example.com") is None
    assert "is not a URL" in (apprise_problem("hooks.example.com/x") or "")


@pytest.mark.parametrize(
    ("kind", "level", "levels", "wanted"),
    [
        (NotificationKind.ALERT, 1, {2, 3}, False),
        (NotificationKind.ALERT, 2, {2, 3}, True),
        (NotificationKind.REMINDER, 1, {2, 3}, False),
        (NotificationKind.REMINDER, 3, {3}, True),
        (NotificationKind.RESOLVED, 1, {2, 3}, False),  # it never saw the alert
        (NotificationKind.RESOLVED, 2, {2, 3}, True),
        (NotificationKind.RESOLVED, 3, {1}, True),
        (NotificationKind.ROLLBACK, 3, {3}, True),
    ],
)
def test_a_channel_takes_its_levels_and_the_end_of_what_it_took(
    kind: NotificationKind, level: int, levels: set[int], wanted: bool
) -> None:
    channel = Channel("ops", "json://h/x", frozenset(levels))
    assert channel.wants(note(level, kind)) is wanted


# -- delivery -------------------------------------------------------------------------------


class Recorder:
    """A sender that fails the first ``failures[name]`` sends to each channel."""

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.failures = dict(failures or {})
        self.sent: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, channel: Channel, notification: Notification) -> None:
        with self.lock:
            if self.failures.get(channel.name, 0) > 0:
                self.failures[channel.name] -= 1
                raise NotificationError(f"channel {channel.name}: refused by {channel.url}")
            self.sent.append((channel.name, notification.title))


def deliveries_of(
    dispatcher_kwargs: dict[str, Any], *notifications: Notification
) -> list[Delivery]:
    results: list[Delivery] = []
    dispatcher = Dispatcher(on_delivery=results.append, **{"redact": keep, **dispatcher_kwargs})
    for notification in notifications:
        dispatcher.dispatch(notification)
    assert dispatcher.close(timeout=5) == 0
    return results


def test_a_failed_send_is_retried_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    sender = Recorder({"ops": 2})
    [delivery] = deliveries_of(
        {"channels": [Channel("ops", "json://h/x")], "send": sender, "sleep": sleeps.append},
        note(1),
    )
    assert (delivery.ok, delivery.attempts, delivery.error) == (True, 3, None)
    assert sleeps == [1.0, 2.0]
    assert sender.sent == [("ops", "L1")]


def test_a_channel_that_keeps_failing_is_given_up_with_a_redacted_reason() -> None:
    sender = Recorder({"bad": 99})
    results = deliveries_of(
        {
            "channels": [Channel("bad", "json://secret-host/x"), Channel("good", "json://h/y")],
            "send": sender,
            "retries": 2,
            "sleep": lambda _: None,
            "redact": lambda text: text.replace("json://secret-host/x", "***"),
        },
        note(1),
        note(2),
    )
    failed = [d for d in results if d.channel == "bad"]
    assert [(d.ok, d.attempts) for d in failed] == [(False, 3), (False, 3)]
    assert failed[0].error == "channel bad: refused by ***"
    assert sender.sent == [("good", "L1"), ("good", "L2")]


def test_unexpected_plugin_errors_count_as_failed_sends() -> None:
    def explode(channel: Channel, notification: Notification) -> None:
        raise RuntimeError("plugin bug")

    [delivery] = deliveries_of(
        {"channels": [Channel("x", "json://h")], "send": explode, "retries": 0}, note(3)
    )
    assert not delivery.ok
    assert delivery.error == "channel x: RuntimeError: plugin bug"


def test_only_channels_that_want_a_notification_get_it() -> None:
    sender = Recorder()
    dispatcher = Dispatcher(
        [Channel("all", "a://"), Channel("critical", "b://", frozenset({3}))],
        send=sender,
        redact=keep,
    )
    assert dispatcher.dispatch(note(1)) == ["all"]
    assert dispatcher.dispatch(note(3)) == ["all", "critical"]
    dispatcher.close(timeout=5)
    assert sorted(sender.sent) == [("all", "L1"), ("all", "L3"), ("critical", "L3")]


def test_a_stuck_channel_delays_neither_the_caller_nor_the_other_channels() -> None:
    release = threading.Event()
    fast_done = threading.Event()
    order: list[str] = []

    def send(channel: Channel, notification: Notification) -> None:
        if channel.name == "slow":
            release.wait(5)
        order.append(f"{channel.name}:{notification.title}")

    def delivered(delivery: Delivery) -> None:
        if delivery.channel == "fast" and delivery.notification.title == "L2":
            fast_done.set()

    dispatcher = Dispatcher(
        [Channel("slow", "a://"), Channel("fast", "b://")],
        send=send,
        on_delivery=delivered,
        redact=keep,
    )
    dispatcher.dispatch(note(1))
    dispatcher.dispatch(note(2))
    assert fast_done.wait(5), "the fast channel waited for the slow one"
    assert order == ["fast:L1", "fast:L2"]
    assert dispatcher.close(timeout=0.05) == 2  # L1 in hand, L2 queued
    release.set()


def test_channels_receive_the_title_and_body_redacted() -> None:
    token = "tok-5e3r3t-abc"
    received: list[Notification] = []
    leaky = Notification(
        "svc:health",
        "health",
        NotificationKind.ALERT,
        1,
        f"ALERT LEVEL 1: GET /items?api_key={token} failed once",
        f"Last failure: GET /health answered 503, expected 200: 'bad token {token}'",
        AT,
    )
    dispatcher = Dispatcher(
        [Channel("ops", "a://")],
        send=lambda channel, notification: received.append(notification),
        redact=Redactor([token]).redact,
    )
    assert dispatcher.dispatch(leaky) == ["ops"]
    assert dispatcher.close(timeout=5) == 0
    [sent] = received
    assert sent.title == "ALERT LEVEL 1: GET /items?api_key=*** failed once"
    assert sent.body == "Last failure: GET /health answered 503, expected 200: 'bad token ***'"
    assert (sent.kind, sent.level, sent.at) == (leaky.kind, leaky.level, leaky.at)


def test_each_channel_receives_in_order() -> None:
    sender = Recorder()
    deliveries_of(
        {"channels": [Channel("ops", "a://")], "send": sender},
        *(note(1, title=f"n{i}") for i in range(20)),
    )
    assert [title for _, title in sender.sent] == [f"n{i}" for i in range(20)]


# -- Apprise against a real endpoint ---------------------------------------------------------


@contextlib.contextmanager
def webhook(status: int = 200) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), received
    finally:
        server.shutdown()
        server.server_close()


def test_apprise_sender_posts_title_body_and_type_to_a_json_webhook() -> None:
    with webhook() as (port, received):
        sender = AppriseSender()
        channel = Channel("hook", f"json://127.0.0.1:{port}/hook")
        sender(channel, note(3, title="ALERT LEVEL 3: health failed 3 times"))
        sender(channel, note(3, NotificationKind.RESOLVED, "RESOLVED: health is answering again"))
    assert [(r["title"], r["message"], r["type"]) for r in received] == [
        ("ALERT LEVEL 3: health failed 3 times", "body", "failure"),
        ("RESOLVED: health is answering again", "body", "success"),
    ]


def test_apprise_sender_raises_when_the_endpoint_refuses() -> None:
    with (
        webhook(status=500) as (port, received),
        pytest.raises(NotificationError, match="channel hook: Failed to send JSON"),
    ):
        AppriseSender()(Channel("hook", f"json://127.0.0.1:{port}/hook"), note(1))
    assert len(received) == 1

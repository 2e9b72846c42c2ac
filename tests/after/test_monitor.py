"""``deploycheck monitor`` with an injected clock: 30-minute runs in milliseconds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from pytest_deploycheck.after.alerts import Notification, NotificationKind
from pytest_deploycheck.after.metrics import MetricsServer, MonitorMetrics
from pytest_deploycheck.after.monitor import (
    HttpProber,
    MonitorResult,
    MonitorSettings,
    ProbeOutcome,
    RichMonitorReporter,
    run_monitor,
)
from pytest_deploycheck.after.monitor import command as monitor_command
from pytest_deploycheck.after.notify import Channel, Delivery
from pytest_deploycheck.after.rollback import CommandResult, RollbackOutcome
from pytest_deploycheck.core.errors import ConfigError, NotificationError
from pytest_deploycheck.core.spec import Operation, load_spec
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.live.probes import ProbeRequest, build_probe
from pytest_deploycheck.score.history import AlertState, HistoryStore
from tests.fakes import T0, FakeClock
from tests.live_server import REPO_ROOT

SPEC = """
openapi: 3.1.0
info: {title: Items, version: '1'}
paths:
  /items/{item_id}:
    get:
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}, example: i-1}
      responses: {'200': {description: ok}}
"""
HEALTH_KEY = "items/test:health"


class Service:
    """Answers health and items; ``broken(t)`` says when health fails (t: fake seconds)."""

    def __init__(self, clock: FakeClock, broken: Callable[[float], bool] = lambda t: False):
        self.clock = clock
        self.broken = broken
        self.item_status = 200
        self.healed = False
        self.echo_credentials = False  # a careless error page repeats the request's credentials

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            down = self.broken(self.clock.t) and not self.healed
            body = {"status": "down" if down else "ok"}
            if down and self.echo_credentials:
                body["received"] = request.headers.get("authorization", "")
            return httpx.Response(503 if down else 200, json=body)
        return httpx.Response(self.item_status, json={"id": "i-1"})


class Sender:
    """Records what each channel received; ``failing`` channels raise."""

    def __init__(self, failing: Sequence[str] = ()) -> None:
        self.failing = set(failing)
        self.sent: list[tuple[str, str, int, str]] = []
        self.bodies: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, channel: Channel, notification: Notification) -> None:
        if channel.name in self.failing:
            raise NotificationError(f"channel {channel.name}: 502 Bad Gateway")
        with self.lock:
            self.sent.append(
                (channel.name, notification.kind.value, notification.level, notification.title)
            )
            self.bodies.append(notification.body)


class Reporter:
    """Records rounds and notifications; ``on_round`` may act between rounds."""

    def __init__(self, on_round: Callable[[int], None] | None = None) -> None:
        self.on_round = on_round
        self.rounds: list[tuple[int, list[ProbeOutcome]]] = []
        self.notes: list[Notification] = []
        self.deliveries: list[Delivery] = []
        self.rollbacks: list[RollbackOutcome] = []
        self.rollback_texts: list[str] = []
        self.open_at_start: list[AlertState] = []
        self.notes_about_the_monitor: list[str] = []

    def started(self, settings: Any, channels: Sequence[str], open_alerts: Sequence[Any]) -> None:
        self.open_at_start = list(open_alerts)

    def waiting(self, number: int, total: int, remaining: float) -> None:
        return None

    def round_finished(
        self, number: int, total: int, outcomes: Sequence[ProbeOutcome], levels: Mapping[str, int]
    ) -> None:
        self.rounds.append((number, list(outcomes)))
        if self.on_round is not None:
            self.on_round(number)

    def notification(self, notification: Notification, channels: Sequence[str]) -> None:
        self.notes.append(notification)

    def delivery(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def rollback(self, outcome: RollbackOutcome, description: str) -> None:
        self.rollbacks.append(outcome)
        self.rollback_texts.append(description)

    def note(self, text: str) -> None:
        self.notes_about_the_monitor.append(text)


def write_config(root: Path, **sections: Any) -> Path:
    (root / "items.yaml").write_text(SPEC, encoding="utf-8")
    config = {
        "service": {"name": "items", "environment": "test"},
        "spec": "items.yaml",
        "target": {"base_url": "http://items.test"},
        "health": {"path": "/health", "body": {"status": "ok"}},
        **sections,
    }
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def monitor(
    root: Path,
    store: HistoryStore,
    service: Service,
    *,
    reporter: Reporter | None = None,
    sender: Sender | None = None,
    notify_sleep: Callable[[float], None] = lambda _: None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> MonitorResult:
    sections = {k: options.pop(k) for k in list(options) if k in _SECTIONS}
    session = DeployCheckSession(
        write_config(root, **sections), deploy_id="d-1", environ=dict(environ or {})
    )
    transport = httpx.MockTransport(service)
    return run_monitor(
        session,
        store,
        reporter=reporter,
        clock=service.clock,
        sleep=service.clock.sleep,
        now=service.clock.now,
        sender=sender or Sender(),
        notify_sleep=notify_sleep,
        transport=transport,
        **options,
    )


_SECTIONS = {"target", "monitor", "notify", "rollback", "health", "availability"}
HOOK = {"channels": [{"url": "json://127.0.0.1:9/hook", "name": "hook"}]}


# -- settings -------------------------------------------------------------------------------


def test_defaults_are_60s_for_30m_and_watch_is_30s_for_60m() -> None:
    default = MonitorSettings.from_config({})
    assert (default.interval, default.duration, default.rounds) == (60.0, 1800.0, 30)
    watch = MonitorSettings.from_config({}, watch=True)
    assert (watch.interval, watch.duration, watch.rounds) == (30.0, 3600.0, 120)
    assert default.policy.resolve_after == 2
    assert default.policy.remind_every == 900.0
    assert default.probes == ("health",)


def test_configured_and_command_line_values_win_in_that_order() -> None:
    section = {
        "interval": "10s",
        "duration": "5m",
        "watch": {"interval": "5s"},
        "remind_every": "0s",
    }
    settings = MonitorSettings.from_config(section)
    assert (settings.interval, settings.rounds, settings.policy.remind_every) == (10.0, 30, None)
    assert MonitorSettings.from_config(section, watch=True).interval == 5.0
    assert MonitorSettings.from_config(section, watch=True).duration == 3600.0
    assert MonitorSettings.from_config(section, interval="1m", duration="2m").rounds == 2


def test_bad_command_line_durations_are_config_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        MonitorSettings.from_config({}, interval="0s", duration="soon")
    assert "--interval: must be longer than 0 (got '0s')" in str(caught.value)
    assert "--duration: expected a duration" in str(caught.value)


# -- rounds and escalation ---------------------------------------------------------------------


def test_a_healthy_30_minute_monitor_runs_30_rounds_and_writes_nothing(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    reporter = Reporter()
    result = monitor(tmp_path, store, Service(clock), reporter=reporter)

    assert (result.rounds, result.planned, result.exit_code) == (30, 30, 0)
    assert clock.t == pytest.approx(29 * 60)
    assert result.notifications == []
    assert store.alert_states() == []
    assert store.alert_events() == []


def test_failures_escalate_1_2_3_then_resolve_and_exit_with_the_highest_level(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    # rounds every minute; health fails at minutes 2, 3, 4 and 5
    service = Service(clock, broken=lambda t: 120 <= t < 360)
    sender = Sender()
    result = monitor(
        tmp_path,
        store,
        service,
        sender=sender,
        monitor={"interval": "1m", "duration": "10m"},
        notify=HOOK,
    )

    assert result.exit_code == 3
    assert [(n.kind.value, n.level) for n in result.notifications] == [
        ("alert", 1),
        ("alert", 2),
        ("alert", 3),
        ("resolved", 3),
    ]
    assert result.notifications[0].title == "ALERT LEVEL 1: health failed once"
    assert "GET /health answered 503, expected 200" in result.notifications[0].body
    assert (
        "Service: items (test) at http://items.test; deployment d-1" in result.notifications[0].body
    )
    assert result.notifications[3].at == T0 + timedelta(minutes=7)  # 2 successes: 6 and 7
    assert [(c, k, lvl) for c, k, lvl, _ in sender.sent] == [
        ("hook", "alert", 1),
        ("hook", "alert", 2),
        ("hook", "alert", 3),
        ("hook", "resolved", 3),
    ]
    state = store.alert_state(HEALTH_KEY)
    assert state is not None
    assert (state.level, state.last_sent_level, state.resolved_at) == (
        0,
        0,
        T0 + timedelta(minutes=7),
    )
    kinds = [(e.kind, e.level, e.channel) for e in store.alert_events(HEALTH_KEY)]
    assert [k for k in kinds if k[0] != "sent"] == [
        ("opened", 1, None),
        ("escalated", 2, None),
        ("escalated", 3, None),
        ("resolved", 3, None),
    ]
    assert sorted(k for k in kinds if k[0] == "sent") == [
        ("sent", 1, "hook"),
        ("sent", 2, "hook"),
        ("sent", 3, "hook"),
        ("sent", 3, "hook"),
    ]
    assert all(e.deploy_id == "d-1" for e in store.alert_events(HEALTH_KEY))


def test_channels_receive_only_their_levels_and_the_resolution_of_what_they_got(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: 60 <= t < 180)  # two failures: level 2
    sender = Sender()
    channels = [
        {"url": "json://127.0.0.1:9/a", "name": "pager", "levels": [3]},
        {"url": "json://127.0.0.1:9/b", "name": "chat", "levels": [2, 3]},
    ]
    monitor(
        tmp_path,
        store,
        service,
        sender=sender,
        monitor={"interval": "1m", "duration": "6m"},
        notify={"channels": channels},
    )
    assert sorted((c, k, lvl) for c, k, lvl, _ in sender.sent) == [
        ("chat", "alert", 2),
        ("chat", "resolved", 2),
    ]


def test_a_restarted_monitor_continues_the_level_and_sends_nothing_twice(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    sender = Sender()
    settings = {"interval": "1m", "duration": "2m", "remind_every": "1h"}
    first = monitor(tmp_path, store, service, sender=sender, monitor=settings, notify=HOOK)
    assert first.exit_code == 2

    reporter = Reporter()
    second = monitor(
        tmp_path, store, service, sender=sender, reporter=reporter, monitor=settings, notify=HOOK
    )

    assert [(s.key, s.level) for s in reporter.open_at_start] == [(HEALTH_KEY, 2)]
    assert [(n.kind.value, n.level) for n in second.notifications] == [("alert", 3)]
    assert second.exit_code == 3
    assert [lvl for _, _, lvl, _ in sender.sent] == [1, 2, 3]


def test_an_open_alert_is_reminded_every_remind_every(tmp_path: Path, store: HistoryStore) -> None:
    clock = FakeClock()
    result = monitor(
        tmp_path,
        store,
        Service(clock, broken=lambda t: True),
        monitor={"interval": "1m", "duration": "30m", "remind_every": "10m"},
    )
    kinds = [(n.kind.value, int((n.at - T0).total_seconds() // 60)) for n in result.notifications]
    assert kinds == [
        ("alert", 0),
        ("alert", 1),
        ("alert", 2),
        ("reminder", 12),
        ("reminder", 22),
    ]


def test_a_failing_channel_is_retried_and_never_stops_the_monitor(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    backoff: list[float] = []
    sender = Sender(failing=["broken"])
    reporter = Reporter()
    channels = [
        {"url": "json://127.0.0.1:9/a", "name": "broken"},
        {"url": "json://127.0.0.1:9/b", "name": "fine"},
    ]
    result = monitor(
        tmp_path,
        store,
        Service(clock, broken=lambda t: 60 <= t < 120),
        sender=sender,
        reporter=reporter,
        notify_sleep=backoff.append,
        monitor={"interval": "1m", "duration": "5m"},
        notify={"channels": channels, "retries": 2},
    )
    assert result.rounds == 5
    assert [c for c, *_ in sender.sent] == ["fine", "fine"]  # the alert and its resolution
    failed = [d for d in reporter.deliveries if not d.ok]
    assert [(d.channel, d.attempts, d.error) for d in failed] == [
        ("broken", 3, "channel broken: 502 Bad Gateway")
    ] * 2
    assert backoff == [1.0, 2.0, 1.0, 2.0]
    events = store.alert_events(HEALTH_KEY)
    assert [e.message for e in events if e.kind == "send_failed"] == [
        "channel broken: 502 Bad Gateway"
    ] * 2


def test_operation_probes_use_the_availability_request_and_judgement(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock)
    service.item_status = 500
    result = monitor(
        tmp_path,
        store,
        service,
        monitor={"interval": "1m", "duration": "1m", "probes": ["health", "GET /items/{item_id}"]},
    )
    assert result.levels == {"health": 0, "GET /items/{item_id}": 1}
    [alert] = result.notifications
    assert alert.title == "ALERT LEVEL 1: GET /items/{item_id} failed once"
    assert "GET http://items.test/items/i-1 answered 500: a server error" in alert.body


def test_unknown_probes_and_bad_channels_stop_it_before_the_first_probe(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    with pytest.raises(ConfigError, match=r"monitor.probes: 'GET /nope' is not an operation"):
        monitor(tmp_path, store, Service(clock), monitor={"probes": ["GET /nope"]})
    with pytest.raises(ConfigError, match=r"notify.channels\[0\] \(json\): url is a json://"):
        monitor(tmp_path, store, Service(clock), notify={"channels": [{"url": "json://"}]})
    assert clock.t == 0


def test_ctrl_c_stops_cleanly_and_exits_with_the_level_reached(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()

    def interrupt(number: int) -> None:
        if number == 2:
            raise KeyboardInterrupt

    result = monitor(
        tmp_path,
        store,
        Service(clock, broken=lambda t: True),
        reporter=Reporter(on_round=interrupt),
        monitor={"interval": "1m", "duration": "30m"},
    )
    assert (result.interrupted, result.rounds, result.exit_code) == (True, 2, 2)
    assert "monitor interrupted after 2 of 30 rounds; highest alert level 2" in result.describe()
    assert "still open: health (level 2)" in result.describe()


# -- automatic rollback -----------------------------------------------------------------------


class Rollback:
    """A rollback runner that heals the service when called (or not)."""

    def __init__(self, service: Service, heals: bool = True) -> None:
        self.service = service
        self.heals = heals
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
    ) -> CommandResult:
        self.calls.append(list(argv))
        self.service.healed = self.heals
        return CommandResult(0, "rolled back to v41\n", 0.5)


def test_level_3_runs_the_rollback_once_checks_health_and_reports(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    runner = Rollback(service)
    sender = Sender()
    reporter = Reporter()
    result = monitor(
        tmp_path,
        store,
        service,
        sender=sender,
        reporter=reporter,
        rollback_runner=runner,
        monitor={"interval": "1m", "duration": "8m"},
        notify=HOOK,
        rollback={"command": ["wrangler", "rollback"], "auto": True},
    )
    assert runner.calls == [["wrangler", "rollback"]]
    [outcome] = reporter.rollbacks
    [shown] = reporter.rollback_texts
    assert shown.startswith("rollback command succeeded in 500ms: wrangler rollback\n")
    assert (outcome.outcome, outcome.health is not None and outcome.health.ok) == (
        "succeeded",
        True,
    )
    assert [(n.kind.value, n.level) for n in result.notifications] == [
        ("alert", 1),
        ("alert", 2),
        ("alert", 3),
        ("rollback", 3),
        ("resolved", 3),
    ]
    rollback_note = result.notifications[3]
    assert rollback_note.title == "AUTOMATIC ROLLBACK succeeded after a critical alert on health"
    assert "health check after the rollback: ok" in rollback_note.body
    assert [k for _, k, _, _ in sender.sent].count("rollback") == 1
    [record] = store.rollbacks()
    assert (record.command, record.outcome, record.deploy_id) == (
        ("wrangler", "rollback"),
        "succeeded",
        "d-1",
    )
    assert result.exit_code == 3


def test_a_rollback_that_does_not_help_is_not_repeated_even_after_a_restart(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    runner = Rollback(service, heals=False)
    options: dict[str, Any] = {
        "rollback_runner": runner,
        "monitor": {"interval": "1m", "duration": "6m"},
        "rollback": {"command": ["kubectl", "rollout", "undo", "deployment/api"], "auto": True},
    }
    reporter = Reporter()
    first = monitor(tmp_path, store, service, reporter=reporter, **options)
    second = monitor(tmp_path, store, service, **options)

    assert len(runner.calls) == 1
    [outcome] = reporter.rollbacks
    assert outcome.outcome == "unhealthy"
    assert first.notifications[3].title.startswith("AUTOMATIC ROLLBACK FAILED (unhealthy)")
    assert all(n.kind is not NotificationKind.ROLLBACK for n in second.notifications)
    assert len(store.rollbacks()) == 1


# -- metrics and the terminal -----------------------------------------------------------------


def test_metrics_are_served_while_the_monitor_runs(tmp_path: Path, store: HistoryStore) -> None:
    clock = FakeClock()
    servers: list[MetricsServer] = []
    scraped: list[str] = []

    def scrape(number: int) -> None:
        if number == 2:
            scraped.append(httpx.get(servers[0].url, timeout=5).text)

    monitor(
        tmp_path,
        store,
        Service(clock, broken=lambda t: True),
        reporter=Reporter(on_round=scrape),
        metrics_port=0,
        on_metrics=servers.append,
        monitor={"interval": "1m", "duration": "3m"},
    )
    [text] = scraped
    assert 'deploycheck_alert_level{probe="health",service="items"} 2.0' in text
    assert 'deploycheck_probe_up{probe="health",service="items"} 0.0' in text
    assert 'deploycheck_rounds_total{service="items"} 2.0' in text
    with pytest.raises(httpx.ConnectError):
        httpx.get(servers[0].url, timeout=2)  # closed when the monitor ends


def test_the_rich_reporter_prints_the_seed_alert_texts(tmp_path: Path, store: HistoryStore) -> None:
    clock = FakeClock()
    console = Console(record=True, width=200, force_terminal=False)
    with RichMonitorReporter(console) as reporter:
        monitor(
            tmp_path,
            store,
            Service(clock, broken=lambda t: 60 <= t < 240),
            reporter=reporter,  # type: ignore[arg-type]
            monitor={"interval": "1m", "duration": "6m"},
            notify=HOOK,
        )
    text = console.export_text()
    assert "monitoring 1 probe(s) every 1m for 6m (6 rounds); channels: hook" in text
    assert "⚠  ALERT LEVEL 1: health failed once\n   Monitoring for additional failures..." in text
    assert (
        "ALERT LEVEL 2: health failed twice\n   Elevated monitoring - potential issue detected"
        in text
    )
    assert "🚨 ALERT LEVEL 3: health failed 3 times" in text
    assert "✅ RESOLVED: health is answering again" in text
    assert "round 2/6: 0/1 probes ok\n  ✗ health: GET /health answered 503" in text


# -- secrets and resources ----------------------------------------------------------------------


def test_secrets_in_probe_details_and_the_rollback_reach_no_channel_terminal_or_store(
    tmp_path: Path, store: HistoryStore
) -> None:
    token = "tok-m0n1t0r-5ecret"
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    service.echo_credentials = True
    runner = Rollback(service)
    sender = Sender()
    console = Console(record=True, width=200, force_terminal=False)
    with RichMonitorReporter(console) as reporter:
        result = monitor(
            tmp_path,
            store,
            service,
            sender=sender,
            reporter=reporter,  # type: ignore[arg-type]
            rollback_runner=runner,
            environ={"API_TOKEN": token},
            target={
                "base_url": "http://items.test",
                "headers": {"Authorization": "Bearer ${API_TOKEN}"},
            },
            monitor={"interval": "1m", "duration": "6m"},
            notify=HOOK,
            rollback={"command": ["wrangler", "rollback", "--token", "${API_TOKEN}"], "auto": True},
        )

    assert runner.calls == [["wrangler", "rollback", "--token", token]]  # the command needs it
    assert [kind for _, kind, _, _ in sender.sent] == [
        "alert",
        "alert",
        "alert",
        "rollback",
        "resolved",
    ]
    assert '"received":"***"' in sender.bodies[0]
    assert "wrangler rollback --token '***'" in sender.bodies[3]
    terminal = console.export_text()
    assert "Last failure: GET /health answered 503, expected 200:" in terminal
    assert '"received":"***"' in terminal
    assert "wrangler rollback --token '***'" in terminal
    state = store.alert_state(HEALTH_KEY)
    assert state is not None
    seen = [
        terminal,
        *sender.bodies,
        *(title for _, _, _, title in sender.sent),
        *(n.text for n in result.notifications),
        state.message,
        *(event.message for event in store.alert_events()),
    ]
    assert [text for text in seen if token in text] == []


class ClosingTransport(httpx.MockTransport):
    """Notes when the client that owns it closes it."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        super().__init__(handler)
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_failure_while_setting_up_still_closes_the_prober(
    tmp_path: Path, store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_metrics(service: str) -> MonitorMetrics:
        raise RuntimeError("the metrics registry is broken")

    monkeypatch.setattr(monitor_command, "MonitorMetrics", broken_metrics)
    transport = ClosingTransport(Service(FakeClock()))
    session = DeployCheckSession(write_config(tmp_path), deploy_id="d-1", environ={})
    with pytest.raises(RuntimeError, match="the metrics registry is broken"):
        run_monitor(session, store, sender=Sender(), transport=transport)
    assert transport.closed


def test_the_prober_is_closed_after_a_normal_run(tmp_path: Path, store: HistoryStore) -> None:
    clock = FakeClock()
    transport = ClosingTransport(Service(clock))
    session = DeployCheckSession(write_config(tmp_path), deploy_id="d-1", environ={})
    result = run_monitor(
        session,
        store,
        sender=Sender(),
        transport=transport,
        clock=clock,
        sleep=clock.sleep,
        now=clock.now,
        duration="2m",
    )
    assert (result.rounds, transport.closed) == (2, True)


def test_a_prober_that_cannot_build_its_requests_closes_its_client(tmp_path: Path) -> None:
    write_config(tmp_path)
    transport = ClosingTransport(Service(FakeClock()))

    def unbuildable(operation: Operation) -> ProbeRequest:
        raise ValueError(f"no example for {operation.label}")

    with pytest.raises(ValueError, match="no example for GET /items/"):
        HttpProber(
            "http://items.test",
            ["GET /items/{item_id}"],
            spec=load_spec(tmp_path / "items.yaml"),
            build_request=unbuildable,
            transport=transport,
        )
    assert transport.closed


def test_a_monitor_probe_is_timed_on_the_wire(tmp_path: Path) -> None:
    write_config(tmp_path)

    class TracingTransport(httpx.BaseTransport):
        """A connection that takes 100 ms to open, then answers in 10 ms."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            trace = request.extensions["trace"]
            time.sleep(0.1)
            trace("http11.send_request_headers.started", {})
            time.sleep(0.01)
            trace("http11.receive_response_body.complete", {})
            return httpx.Response(200)

    spec = load_spec(tmp_path / "items.yaml")
    prober = HttpProber(
        "http://items.test",
        ["GET /items/{item_id}"],
        spec=spec,
        build_request=lambda operation: build_probe(spec, operation),
        transport=TracingTransport(),
    )
    try:
        [outcome] = prober()
    finally:
        prober.close()
    assert outcome.ok
    assert outcome.latency_ms is not None
    assert 10 <= outcome.latency_ms < 60


def test_a_monitor_round_against_a_drip_ends_at_the_deadline(fault_server: str) -> None:
    """A byte every 200 ms passes every per-read timeout; each probe still ends at 500 ms."""
    spec = load_spec(REPO_ROOT / "tests" / "fixtures" / "specs" / "items.openapi.json")
    prober = HttpProber(
        f"{fault_server}/drip",
        ["health", "GET /items"],
        spec=spec,
        build_request=lambda operation: build_probe(spec, operation),
        health={"path": "/health"},
        timeout=0.5,
    )
    started = time.monotonic()
    try:
        outcomes = prober()
    finally:
        prober.close()
    assert time.monotonic() - started < 2.5
    assert [outcome.ok for outcome in outcomes] == [False, False]
    assert "no complete answer within 500ms" in outcomes[0].detail
    assert "no complete answer within 500ms" in outcomes[1].detail

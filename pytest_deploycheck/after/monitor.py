"""``deploycheck monitor``: probe the deployment every interval and escalate what fails.

Each round probes ``monitor.probes`` (``health`` and operation labels) and feeds every outcome
to the escalation state machine (:mod:`.alerts`): 1 failure warning, 2 elevated, 3 or more
critical, ``resolve_after`` successes resolve. Alert state lives in the history store, so a
restarted monitor carries on at the stored level and sends nothing twice. Notifications go to
the terminal (the reporter) and to the configured channels (:mod:`.notify`); ``--metrics-port``
exports Prometheus metrics (:mod:`.metrics`). With ``rollback.auto``, the first critical alert
runs the rollback once, and the health check after it says whether the service came back.

Probe details (URLs, what the server answered) pass through the session's redactor before
they reach the alert state, the terminal or a channel.

The clock, the sleep and the prober are injected: a 30-minute monitor runs in milliseconds
in the tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from pytest_deploycheck.core.errors import ConfigError, HistoryError
from pytest_deploycheck.core.spec import Operation, Spec
from pytest_deploycheck.core.units import format_duration, parse_duration
from pytest_deploycheck.core.wire import WireTimer
from pytest_deploycheck.live.availability import ProbeResult, judge
from pytest_deploycheck.live.health import HealthResult, check_health
from pytest_deploycheck.live.probes import ProbeRequest
from pytest_deploycheck.score.history import AlertEvent, AlertState, HistoryStore
from pytest_deploycheck.score.scoring import ScoringSettings, score_run

from .alerts import (
    LEVEL_NAMES,
    AlertPolicy,
    Notification,
    NotificationKind,
    Observation,
    evaluate,
)
from .metrics import MetricsServer, MonitorMetrics
from .notify import AppriseSender, Delivery, Dispatcher, Sender, notify_settings
from .rollback import (
    CommandRunner,
    RollbackOutcome,
    RollbackSettings,
    perform_rollback,
    run_command,
)

__all__ = [
    "HEALTH_PROBE",
    "HttpProber",
    "Monitor",
    "MonitorReporter",
    "MonitorResult",
    "MonitorSettings",
    "ProbeOutcome",
    "Prober",
    "RichMonitorReporter",
    "format_notification",
    "run_monitor",
]

HEALTH_PROBE = "health"
_DEFAULTS: dict[str, Any] = {
    "interval": "60s",
    "duration": "30m",
    "watch": {"interval": "30s", "duration": "60m"},
    "probes": [HEALTH_PROBE],
    "timeout": "5s",
    "concurrency": 10,
    "resolve_after": 2,
    "remind_every": "15m",
}
_TICK = 1.0  # seconds between two progress updates while waiting
_NOTIFY_DRAIN = 30.0  # how long a finishing monitor waits for channels to deliver


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """The ``monitor`` section with its defaults applied; times in seconds."""

    interval: float = 60.0
    duration: float = 1800.0
    probes: tuple[str, ...] = (HEALTH_PROBE,)
    timeout: float = 5.0
    concurrency: int = 10
    policy: AlertPolicy = field(default_factory=AlertPolicy)

    @property
    def rounds(self) -> int:
        """How many rounds fit in the duration: one at 0, then one per interval."""
        return max(1, math.ceil(self.duration / self.interval - 1e-9))

    @classmethod
    def from_config(
        cls,
        section: Mapping[str, Any],
        *,
        watch: bool = False,
        interval: str | float | None = None,
        duration: str | float | None = None,
        source: str = "deployment-config.json",
    ) -> MonitorSettings:
        """Parse ``section``; ``watch`` takes ``monitor.watch``; ``interval`` and ``duration``
        (from the command line) win over both."""
        base: Mapping[str, Any] = section
        if watch:
            base = {**_DEFAULTS["watch"], **(section.get("watch") or {})}
        problems: list[str] = []

        def seconds(name: str, override: str | float | None, written: Any) -> float:
            where = f"--{name}" if override is not None else f"monitor.{name}"
            value = override if override is not None else written
            try:
                parsed = parse_duration(value)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                return 1.0
            if parsed <= 0:
                problems.append(f"{where}: must be longer than 0 (got {value!r})")
                return 1.0
            return parsed

        every = seconds("interval", interval, base.get("interval", _DEFAULTS["interval"]))
        length = seconds("duration", duration, base.get("duration", _DEFAULTS["duration"]))
        remind = parse_duration(section.get("remind_every", _DEFAULTS["remind_every"]))
        if problems:
            raise ConfigError(problems, source=source)
        return cls(
            interval=every,
            duration=length,
            probes=tuple(str(p) for p in section.get("probes") or _DEFAULTS["probes"]),
            timeout=parse_duration(section.get("timeout", _DEFAULTS["timeout"])),
            concurrency=int(section.get("concurrency", _DEFAULTS["concurrency"])),
            policy=AlertPolicy(
                resolve_after=int(section.get("resolve_after", _DEFAULTS["resolve_after"])),
                # "0s" switches reminders off
                remind_every=remind or None,
            ),
        )


# -- probing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """One probe in one round: whether it passed, why not, and how long it took."""

    probe: str
    ok: bool
    detail: str = ""
    latency_ms: float | None = None


Prober = Callable[[], list[ProbeOutcome]]
"""Runs one round of probes."""


class HttpProber:
    """Probes health and operations over HTTP, keeping its connections across rounds.

    Operations are probed from a pool of ``concurrency`` threads sharing one synchronous
    client: for a monitor that sends thousands of small requests, httpx's synchronous stack
    costs about half the CPU of its asynchronous one, and CPU is what a long monitor spends.
    """

    def __init__(
        self,
        base_url: str,
        probes: Sequence[str],
        *,
        spec: Spec | None,
        build_request: Callable[[Operation], ProbeRequest],
        health: Mapping[str, Any] | None = None,
        allowed: Mapping[str, frozenset[int]] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        concurrency: int = 10,
        verify: bool = True,
        transport: httpx.BaseTransport | None = None,
        source: str = "deployment-config.json",
    ) -> None:
        operations = {op.label: op for op in spec.operations} if spec is not None else {}
        unknown = [p for p in probes if p != HEALTH_PROBE and p not in operations]
        if unknown:
            example = next(iter(operations), "GET /health")
            raise ConfigError(
                [
                    f"monitor.probes: {label!r} is not an operation of the spec; use "
                    f'"health" or an operation label such as {example!r}'
                    for label in unknown
                ],
                source=source,
            )
        self.probes = tuple(probes)
        self._health = {**(health or {}), "retries": 0} if HEALTH_PROBE in probes else None
        self._operations = {p: operations[p] for p in probes if p != HEALTH_PROBE}
        self._allowed = dict(allowed or {})
        self._timeout = timeout
        width = max(1, concurrency)
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            verify=verify,
            transport=transport,
            limits=httpx.Limits(max_connections=width, max_keepalive_connections=width),
        )
        self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="deploycheck-probe")
        try:
            # Built once and sent every round: building (URL merging, parsing) is a good share
            # of a probe's CPU, and the requests never change.
            self._requests = {
                label: self._build(build_request(operation))
                for label, operation in self._operations.items()
            }
        except BaseException:
            self.close()  # nobody else holds this half-built prober to close it
            raise

    def _build(self, probe: ProbeRequest) -> httpx.Request:
        kwargs: dict[str, Any] = {"params": probe.params, "headers": probe.headers}
        if probe.has_body:
            kwargs["json"] = probe.json
        return self._client.build_request(probe.method, probe.url_path, **kwargs)

    def __call__(self) -> list[ProbeOutcome]:
        outcomes: list[ProbeOutcome] = []
        if self._health is not None:
            outcomes.append(self._probe_health(check_health(self._client, self._health)))
        results = self._pool.map(self._send, self._requests.items())
        for result in results:
            operation = self._operations[result.label]
            findings = judge(operation, result, self._allowed.get(result.label, frozenset()))
            latency = result.latency_ms if result.status is not None else None
            if findings:
                outcomes.append(ProbeOutcome(result.label, False, findings[0].message, latency))
            else:
                detail = f"{result.status} in {result.latency_ms:.0f} ms"
                outcomes.append(ProbeOutcome(result.label, True, detail, latency))
        return outcomes

    def _send(self, item: tuple[str, httpx.Request]) -> ProbeResult:
        """One probe, as the availability check sends it; errors become a result."""
        label, request = item
        url = str(request.url)
        timer = WireTimer()
        started = time.perf_counter()
        try:
            # one thread at a time sends a given request, so the timer can ride on it
            response = self._client.send(timer.attach(request, sync=True))
        except httpx.TimeoutException:
            error = f"no answer within {format_duration(self._timeout)} (timeout)"
        except httpx.ConnectError as exc:
            error = f"connection failed: {exc or 'refused'}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            elapsed = timer.latency_ms(started, time.perf_counter())
            return ProbeResult(label, request.method, url, response.status_code, elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        return ProbeResult(label, request.method, url, None, elapsed, error)

    def _probe_health(self, result: HealthResult) -> ProbeOutcome:
        if result.findings:
            return ProbeOutcome(HEALTH_PROBE, False, result.findings[0].message, result.latency_ms)
        detail = f"{result.status} in {result.latency_ms or 0:.0f} ms"
        return ProbeOutcome(HEALTH_PROBE, True, detail, result.latency_ms)

    def close(self) -> None:
        """Stop the threads (abandoning queued probes) and close the connections."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()


# -- reporting ------------------------------------------------------------------------------


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


class _Silent:
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


# -- the monitor ----------------------------------------------------------------------------


@dataclass
class MonitorResult:
    """What a monitor run saw: its exit code is the highest alert level reached (0: none)."""

    planned: int
    rounds: int = 0
    highest_level: int = 0
    interrupted: bool = False
    notifications: list[Notification] = field(default_factory=list)
    rollbacks: list[RollbackOutcome] = field(default_factory=list)
    undelivered: int = 0
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
            lines.append(f"{self.undelivered} notification(s) could not be delivered in time")
        return "\n".join(lines)


class Monitor:
    """The monitor loop: rounds on a schedule, alert state in the store, notifications out.

    ``redact`` (the session's ``redactor.redact``) masks every probe detail as it comes in,
    and every notification and rollback report as it goes out.
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
        self.reporter: MonitorReporter = reporter or _Silent()
        self.auto_rollback = auto_rollback
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self._states: dict[str, AlertState] = {}
        self._rolled_back = False

    def key(self, probe: str) -> str:
        """The stored alert key of ``probe``: scoped by service and environment."""
        return f"{self.scope}:{probe}"

    def on_delivery(self, delivery: Delivery) -> None:
        """Log a channel's delivery (called from the channel's thread)."""
        notification = delivery.notification
        self.store.record_alert_event(
            AlertEvent(
                key=notification.key,
                kind="sent" if delivery.ok else "send_failed",
                level=notification.level,
                at=self.now(),
                message=notification.title if delivery.ok else (delivery.error or ""),
                channel=delivery.channel,
                deploy_id=self.deploy_id,
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
        open_alerts = [state for state in self._states.values() if state.level > 0]
        for state in self._states.values():
            result.levels[keys[state.key]] = state.level
            if self.metrics is not None:
                self.metrics.set_level(keys[state.key], state.level)
        channels = [c.name for c in self.dispatcher.channels] if self.dispatcher else []
        self.reporter.started(settings, channels, open_alerts)
        start = self.clock()
        try:
            for index in range(settings.rounds):
                moment = start + index * settings.interval
                while (remaining := moment - self.clock()) > 0:
                    self.reporter.waiting(index + 1, settings.rounds, remaining)
                    self.sleep(min(_TICK, remaining))
                if index and self.clock() - start >= settings.duration:
                    break  # rounds ran late; the duration is what the user asked for
                self._round(index + 1, result)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            if self.dispatcher is not None:
                result.undelivered = self.dispatcher.close(_NOTIFY_DRAIN)
        return result

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
                self.store.save_alert_state(state)
                self._states[state.key] = state
            # Recorded before anything is sent, so a Ctrl-C while notifying loses nothing.
            result.levels[outcome.probe] = state.level
            result.highest_level = max(result.highest_level, state.level)
            for event in transition.events:
                self.store.record_alert_event(dataclasses.replace(event, deploy_id=self.deploy_id))
            if self.metrics is not None:
                self.metrics.observe(outcome.probe, outcome.ok, outcome.latency_ms, state.level)
            for notification in transition.notifications:
                self._notify(notification, result)
            if state.level >= 3:
                critical.append(state)
        result.rounds = number
        if self.metrics is not None:
            self.metrics.finish_round([outcome.ok for outcome in outcomes])
        self.reporter.round_finished(number, self.settings.rounds, outcomes, result.levels)
        if critical and self.auto_rollback is not None and not self._rolled_back:
            self._roll_back(critical, result)

    def _notify(self, notification: Notification, result: MonitorResult) -> None:
        notification = notification.redacted(self.redact)
        channels = self.dispatcher.dispatch(notification) if self.dispatcher else []
        result.notifications.append(notification)
        self.reporter.notification(notification, channels)

    def _roll_back(self, critical: Sequence[AlertState], result: MonitorResult) -> None:
        assert self.auto_rollback is not None
        self._rolled_back = True
        opened = min((s.opened_at for s in critical if s.opened_at is not None), default=None)
        if opened is not None and any(r.at >= opened for r in self.store.rollbacks(limit=50)):
            # A monitor before a restart already rolled back for this alert: once is enough.
            return
        outcome = self.auto_rollback()
        description = outcome.describe(self.redact)
        result.rollbacks.append(outcome)
        self.reporter.rollback(outcome, description)
        at = self.now()
        verdict = "succeeded" if outcome.ok else f"FAILED ({outcome.outcome})"
        probes = ", ".join(state.key.split(":", 1)[-1] for state in critical)
        for state in critical:
            self.store.record_alert_event(
                AlertEvent(
                    state.key, "rollback", state.level, at, outcome.outcome, None, self.deploy_id
                )
            )
        notification = Notification(
            key=critical[0].key,
            probe=probes,
            kind=NotificationKind.ROLLBACK,
            level=3,
            title=f"AUTOMATIC ROLLBACK {verdict} after a critical alert on {probes}",
            body="\n".join(filter(None, [description, self.context])),
            at=at,
        )
        self._notify(notification, result)


# -- the command ----------------------------------------------------------------------------


def run_monitor(
    session: Any,
    store: HistoryStore,
    *,
    watch: bool = False,
    interval: str | None = None,
    duration: str | None = None,
    metrics_port: int | None = None,
    metrics_address: str = "127.0.0.1",
    reporter: MonitorReporter | None = None,
    on_metrics: Callable[[MetricsServer], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    prober: Prober | None = None,
    sender: Sender | None = None,
    notify_sleep: Callable[[float], None] = time.sleep,
    rollback_runner: CommandRunner = run_command,
    transport: httpx.BaseTransport | None = None,
) -> MonitorResult:
    """``deploycheck monitor`` for a :class:`~.session.DeployCheckSession`.

    Everything the config can get wrong (probes, channels, the rollback command) is checked
    before the first probe. ``on_metrics`` receives the metrics server once it listens.
    """
    config = session.config
    source = str(config.path)
    settings = MonitorSettings.from_config(
        session.section("monitor"),
        watch=watch,
        interval=interval,
        duration=duration,
        source=source,
    )
    notify = notify_settings(session.section("notify"), source=source)
    rollback_section = session.section("rollback")
    rollback = (
        RollbackSettings.from_config(rollback_section, source=source)
        if rollback_section.get("auto")
        else None
    )
    redactor = session.redactor
    base_url = session.base_url()
    health_section = session.section("health")
    availability = session.section("availability")
    allowed = {
        label: frozenset(int(code) for code in codes)
        for label, codes in (availability.get("allow_status") or {}).items()
    }
    deploy_id = session.deployment_id
    scope = f"{config.service_name}/{config.environment}"
    context = (
        f"Service: {config.service_name} ({config.environment}) at "
        f"{redactor.redact_url(base_url)}; deployment {deploy_id}"
    )
    monitor: Monitor | None = None

    def health_after_rollback() -> HealthResult:
        with httpx.Client(
            base_url=base_url,
            headers=dict(config.headers),
            timeout=config.timeout,
            verify=config.verify_tls,
            transport=transport,
        ) as client:
            return check_health(client, health_section, sleep=sleep)

    def auto() -> RollbackOutcome:
        assert rollback is not None
        return perform_rollback(
            rollback,
            root=session.root,
            store=store,
            deploy_id=deploy_id,
            yes=True,
            dry_run=False,
            interactive=False,
            confirm=lambda _prompt: True,
            # the monitor always checks health after its own rollback
            health=health_after_rollback,
            environ=session.environ,
            redactor=redactor,
            runner=rollback_runner,
            now=now,
        )

    # Everything that holds threads, connections or a port is closed on the way out, however
    # far the set-up got.
    with contextlib.ExitStack() as resources:
        if prober is None:
            owned = HttpProber(
                base_url,
                settings.probes,
                spec=session.spec if any(p != HEALTH_PROBE for p in settings.probes) else None,
                build_request=session.probe_request,
                health=health_section,
                allowed=allowed,
                headers=config.headers,
                timeout=settings.timeout,
                concurrency=settings.concurrency,
                verify=config.verify_tls,
                transport=transport,
                source=source,
            )
            resources.callback(owned.close)
            prober = owned
        metrics = MonitorMetrics(config.service_name)
        dispatcher = Dispatcher(
            notify.channels,
            send=sender or AppriseSender(),
            retries=notify.retries,
            sleep=notify_sleep,
            on_delivery=lambda delivery: monitor.on_delivery(delivery) if monitor else None,
            redact=redactor.redact,
        )
        # Before the monitor runs there is nothing queued worth waiting for.
        resources.callback(lambda: dispatcher.close(0 if monitor is None else _NOTIFY_DRAIN))
        if metrics_port is not None:
            _publish_score(metrics, store, deploy_id, session.section("scoring"))
            server = metrics.serve(metrics_port, metrics_address)
            resources.callback(server.close)
            if on_metrics is not None:
                on_metrics(server)
        monitor = Monitor(
            settings=settings,
            prober=prober,
            store=store,
            scope=scope,
            redact=redactor.redact,
            context=context,
            deploy_id=deploy_id,
            dispatcher=dispatcher,
            metrics=metrics,
            reporter=reporter,
            auto_rollback=auto if rollback is not None else None,
            clock=clock,
            sleep=sleep,
            now=now,
        )
        return monitor.run()


def _publish_score(
    metrics: MonitorMetrics, store: HistoryStore, deploy_id: str, scoring: Mapping[str, Any]
) -> None:
    try:
        result = store.load_result(deploy_id)
    except HistoryError:
        return  # nothing measured for this deployment yet: no score to show
    metrics.set_score(deploy_id, score_run(result, ScoringSettings.from_config(scoring)).score)

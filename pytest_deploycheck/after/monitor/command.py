"""``deploycheck monitor`` for a session: everything checked, then the loop run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from pytest_deploycheck.after.metrics import MetricsServer, MonitorMetrics
from pytest_deploycheck.after.notify import AppriseSender, Dispatcher, Sender, notify_settings
from pytest_deploycheck.after.rollback import (
    CommandRunner,
    RollbackOutcome,
    RollbackSettings,
    perform_rollback,
    run_command,
)
from pytest_deploycheck.core.bounds import bounded_client
from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.live.health import HealthResult, check_health
from pytest_deploycheck.score.history import HistoryStore
from pytest_deploycheck.score.scoring import ScoringSettings, score_run

from .display import MonitorReporter
from .loop import NOTIFY_DRAIN, Monitor, MonitorResult
from .probing import HttpProber, Prober
from .settings import HEALTH_PROBE, MonitorSettings

__all__ = ["run_monitor"]


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
    """``deploycheck monitor`` for a :class:`~pytest_deploycheck.gate.session.DeployCheckSession`.

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
    scope = f"{session.service_name}/{config.environment}"
    context = (
        f"Service: {session.service_name} ({config.environment}) at "
        f"{redactor.redact_url(base_url)}; deployment {deploy_id}"
    )
    monitor: Monitor | None = None

    def health_after_rollback() -> HealthResult:
        with bounded_client(
            base_url,
            config.bounds,
            headers=config.headers,
            verify=config.verify_tls,
            transport=transport,
        ) as client:
            return check_health(client, health_section, sleep=sleep, redactor=redactor)

    def auto() -> RollbackOutcome:
        assert rollback is not None
        return perform_rollback(
            rollback,
            root=session.root,
            store=None,  # the monitor records it, through its journal
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
                redactor=redactor,
                bounds=config.bounds,
            )
            resources.callback(owned.close)
            prober = owned
        metrics = MonitorMetrics(session.service_name)
        dispatcher = Dispatcher(
            notify.channels,
            send=sender or AppriseSender(),
            retries=notify.retries,
            sleep=notify_sleep,
            on_delivery=lambda delivery: monitor.on_delivery(delivery) if monitor else None,
            redact=redactor.redact,
        )
        # Before the monitor runs there is nothing queued worth waiting for.
        resources.callback(lambda: dispatcher.close(0 if monitor is None else NOTIFY_DRAIN))
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

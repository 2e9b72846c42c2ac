"""``deploycheck monitor``: probe the deployment every interval and escalate what fails.

Each round probes ``monitor.probes`` (``health`` and operation labels) and feeds every outcome
to the escalation state machine (``after.alerts``): 1 failure warning, 2 elevated, 3 or more
critical, ``resolve_after`` successes resolve. Alert state lives in the history store, so a
restarted monitor carries on at the stored level and sends nothing twice. Notifications go to
the terminal (the reporter) and to the configured channels (``after.notify``), through the
store's outbox: each is marked when its channel took it, and what a monitor left undelivered
the next one sends first. The store may go away mid-run: writes wait in a journal until it is
back, and probing and alerting go on. ``--metrics-port``
exports Prometheus metrics (``after.metrics``). With ``rollback.auto``, the first critical alert
runs the rollback once, and the health check after it says whether the service came back.

Probe details (URLs, what the server answered) pass through the session's redactor before
they reach the alert state, the terminal or a channel.

The clock, the sleep and the prober are injected: a 30-minute monitor runs in milliseconds
in the tests.

Modules: ``settings`` (the section), ``probing`` (one round of HTTP probes), ``display``
(the terminal), ``journal`` (writes to the store, kept while it is away), ``loop`` (the
``Monitor``), ``command`` (``run_monitor``). They may import
``core``, ``live``, ``score`` and the other ``after`` modules.
"""

from __future__ import annotations

from .command import run_monitor
from .display import MonitorReporter, RichMonitorReporter, format_notification
from .loop import Monitor, MonitorResult
from .probing import HttpProber, ProbeOutcome, Prober
from .settings import HEALTH_PROBE, MonitorSettings

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

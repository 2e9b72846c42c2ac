"""Prometheus metrics of the monitor, on a registry of its own, served by ``--metrics-port``.

An existing Prometheus and Grafana can take over at scale: every probe exports its alert
level, whether it is up, its latency histogram and its failures; the monitor exports its
rounds, the share of probes up and the last score of the deployment.

    deploycheck_alert_level{service,probe}            0 clear .. 3 critical
    deploycheck_probe_up{service,probe}               1 answered, 0 failed (last round)
    deploycheck_probe_latency_seconds{service,probe}  histogram
    deploycheck_probe_failures_total{service,probe}   counter
    deploycheck_availability_ratio{service}           probes up / probes (last round)
    deploycheck_rounds_total{service}                 counter
    deploycheck_score{service,deploy_id}              last score, 0-100
    deploycheck_notifications_total{service,channel,outcome}  sent / failed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pytest_deploycheck.core.errors import ConfigError

__all__ = ["LATENCY_BUCKETS", "MetricsServer", "MonitorMetrics"]

# Seconds; from a fast local answer to the slowest a probe timeout usually allows.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class MetricsServer:
    """A running metrics endpoint; ``url`` is where Prometheus scrapes it."""

    address: str
    port: int
    _server: Any
    _thread: Any

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class MonitorMetrics:
    """The monitor's metrics, on ``registry`` (a new one by default, never the global one)."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry(auto_describe=True)
        probe = ["service", "probe"]
        self.alert_level = Gauge(
            "deploycheck_alert_level",
            "Alert level of a probe: 0 clear, 1 warning, 2 elevated, 3 critical.",
            probe,
            registry=self.registry,
        )
        self.probe_up = Gauge(
            "deploycheck_probe_up",
            "Whether the probe answered in the last round (1) or failed (0).",
            probe,
            registry=self.registry,
        )
        self.latency = Histogram(
            "deploycheck_probe_latency_seconds",
            "Latency of the probe's answers.",
            probe,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.failures = Counter(
            "deploycheck_probe_failures",
            "Failed probes.",
            probe,
            registry=self.registry,
        )
        self.availability = Gauge(
            "deploycheck_availability_ratio",
            "Share of the probes that answered in the last round.",
            ["service"],
            registry=self.registry,
        )
        self.rounds = Counter(
            "deploycheck_rounds",
            "Probe rounds run by the monitor.",
            ["service"],
            registry=self.registry,
        )
        self.score = Gauge(
            "deploycheck_score",
            "The last deployment score (0-100) in the history store.",
            ["service", "deploy_id"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "deploycheck_notifications",
            "Notifications delivered to channels, by outcome (sent or failed).",
            ["service", "channel", "outcome"],
            registry=self.registry,
        )

    def observe(self, probe: str, ok: bool, latency_ms: float | None, level: int) -> None:
        """Record one probe's outcome and its alert level after it."""
        self.alert_level.labels(self.service, probe).set(level)
        self.probe_up.labels(self.service, probe).set(1 if ok else 0)
        if latency_ms is not None:
            self.latency.labels(self.service, probe).observe(latency_ms / 1000)
        if not ok:
            self.failures.labels(self.service, probe).inc()

    def set_level(self, probe: str, level: int) -> None:
        """Set a probe's alert level (a restored one, before its first round)."""
        self.alert_level.labels(self.service, probe).set(level)

    def finish_round(self, outcomes: Sequence[bool]) -> None:
        """Count a round and the share of its probes that answered."""
        self.rounds.labels(self.service).inc()
        if outcomes:
            self.availability.labels(self.service).set(sum(outcomes) / len(outcomes))

    def set_score(self, deploy_id: str, score: float) -> None:
        """Publish the deployment's score."""
        self.score.labels(self.service, deploy_id).set(score)

    def delivered(self, channel: str, ok: bool) -> None:
        """Count one delivery to a channel."""
        self.notifications.labels(self.service, channel, "sent" if ok else "failed").inc()

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return bytes(generate_latest(self.registry))

    def serve(self, port: int, address: str = "127.0.0.1") -> MetricsServer:
        """Serve ``/metrics`` on ``address:port`` (port 0: any free one) in a daemon thread."""
        from prometheus_client import start_http_server

        try:
            server, thread = start_http_server(port, addr=address, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                [
                    f"--metrics-port {port}: cannot listen on {address}:{port}: "
                    f"{exc.strerror or exc}; choose another port (0 picks a free one)"
                ],
                source="deploycheck monitor",
            ) from None
        actual = int(server.server_address[1])
        return MetricsServer(address, actual, server, thread)

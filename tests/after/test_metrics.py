"""Prometheus metrics of the monitor: values, a registry of its own, the HTTP endpoint."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pytest_deploycheck.after.metrics import MonitorMetrics
from pytest_deploycheck.core.errors import DeployCheckError


def samples(metrics: MonitorMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parsed = text_string_to_metric_families(metrics.render().decode())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parsed
        for sample in family.samples
    }


def test_observations_set_level_up_latency_and_failures() -> None:
    metrics = MonitorMetrics("booking-api")
    metrics.observe("health", True, 12.0, 0)
    metrics.observe("GET /providers", False, 30.0, 1)
    metrics.observe("GET /providers", False, None, 2)
    metrics.finish_round([True, False])
    metrics.set_score("abc123", 87.5)
    metrics.delivered("ops", True)
    metrics.delivered("ops", False)

    values = samples(metrics)
    providers = (("probe", "GET /providers"), ("service", "booking-api"))
    health = (("probe", "health"), ("service", "booking-api"))
    assert values["deploycheck_alert_level", providers] == 2
    assert values["deploycheck_alert_level", health] == 0
    assert values["deploycheck_probe_up", providers] == 0
    assert values["deploycheck_probe_up", health] == 1
    assert values["deploycheck_probe_failures_total", providers] == 2
    assert values["deploycheck_probe_latency_seconds_count", providers] == 1  # None: no answer
    assert values["deploycheck_probe_latency_seconds_sum", providers] == pytest.approx(0.030)
    assert values["deploycheck_probe_latency_seconds_bucket", (("le", "0.025"), *health)] == 1
    assert values["deploycheck_availability_ratio", (("service", "booking-api"),)] == 0.5
    assert values["deploycheck_rounds_total", (("service", "booking-api"),)] == 1
    assert (
        values["deploycheck_score", (("deploy_id", "abc123"), ("service", "booking-api"))] == 87.5
    )
    sent = (("channel", "ops"), ("outcome", "sent"), ("service", "booking-api"))
    assert values["deploycheck_notifications_total", sent] == 1


def test_each_monitor_has_its_own_registry() -> None:
    first, second = MonitorMetrics("a"), MonitorMetrics("b")  # same names, no clash
    first.observe("health", False, 5.0, 1)
    assert ("deploycheck_alert_level", (("probe", "health"), ("service", "a"))) in samples(first)
    assert not any(name == "deploycheck_alert_level" for name, _ in samples(second))


def test_the_metrics_endpoint_serves_the_registry_on_127_0_0_1() -> None:
    metrics = MonitorMetrics("booking-api")
    metrics.observe("health", False, 8.0, 3)
    server = metrics.serve(0)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        response = httpx.get(server.url, timeout=5)
    finally:
        server.close()
    assert response.status_code == 200
    assert 'deploycheck_alert_level{probe="health",service="booking-api"} 3.0' in response.text


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DeployCheckError, match=rf"--metrics-port {port}: cannot listen on"):
            MonitorMetrics("x").serve(port)

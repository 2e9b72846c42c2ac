"""One round of probes: health and operations over HTTP, judged as availability judges."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from pytest_deploycheck.core.bounds import Bounds, bounded_client, describe_error
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.spec import Operation, Spec
from pytest_deploycheck.core.units import format_duration
from pytest_deploycheck.core.wire import WireTimer
from pytest_deploycheck.live.availability import ProbeResult, judge
from pytest_deploycheck.live.health import HealthResult, check_health
from pytest_deploycheck.live.probes import ProbeRequest

from .settings import HEALTH_PROBE

__all__ = ["HttpProber", "ProbeOutcome", "Prober"]


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
        redactor: Redactor | None = None,
        bounds: Bounds | None = None,
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
        # health answers are quoted in findings: masked before they are shortened
        self._redactor = redactor or Redactor.for_headers(dict(headers or {}))
        self._health = {**(health or {}), "retries": 0} if HEALTH_PROBE in probes else None
        self._operations = {p: operations[p] for p in probes if p != HEALTH_PROBE}
        self._allowed = dict(allowed or {})
        self._timeout = timeout
        width = max(1, concurrency)
        # every probe within the target's bounds, its deadline the monitor's timeout
        self._client = bounded_client(
            base_url,
            (bounds or Bounds()).with_timeout(timeout),
            headers=headers,
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
            outcomes.append(
                self._probe_health(
                    check_health(self._client, self._health, redactor=self._redactor)
                )
            )
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
            error = f"no complete answer within {format_duration(self._timeout)} (timeout)"
        except httpx.HTTPError as exc:
            error = describe_error(exc)
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

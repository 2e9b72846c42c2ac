"""Performance: latency percentiles of each operation against thresholds.

For one operation, ``warmup`` requests open the connections, then ``samples`` requests run
with at most ``concurrency`` in flight, straight through an httpx transport (the client's
layers cost CPU time that would hold back the next request). Each latency, in milliseconds,
is a wire latency (:class:`.wire.WireTimer`): from writing the request to the arrival of the
answer's last byte, as wrk measures it, without the client's own Python work. p50, p95 and
p99 use linear interpolation between closest ranks (Hyndman and Fan type 7, numpy's default):
for sorted x of n values, h = (n - 1) q and p = x[h] + (h - floor h)(x[h+1] - x[h]).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_deploycheck.core.bounds import (
    AnswerTooLarge,
    AsyncBoundedTransport,
    Bounds,
    describe_error,
)
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, failures
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.spec import Operation, Spec
from pytest_deploycheck.core.stats import percentile
from pytest_deploycheck.core.units import format_duration, parse_duration

from .probes import ProbeRequest, build_probe

if TYPE_CHECKING:
    # imported where requests are sent: planning the items (performance_operations) runs
    # at every pytest start and needs no network code
    import httpx

__all__ = [
    "PERCENTILES",
    "Measurement",
    "PerformanceResult",
    "PerformanceSettings",
    "RequestSample",
    "judge_latencies",
    "measure",
    "performance_operations",
    "performance_settings",
    "run_performance",
]

PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}
SAFE_METHODS = frozenset({"get", "head", "options"})
_DEFAULTS: dict[str, Any] = {
    "samples": 50,
    "concurrency": 5,
    "warmup": 3,
    "max_time": "2m",
    "thresholds": {"p50": "200ms", "p95": "500ms", "p99": "1s"},
}

RequestBuilder = Callable[[Operation], ProbeRequest]
# answers that are not the operation's: (rule, what they were, first status, why it matters)
_UNANSWERED = (
    (
        "performance-redirect",
        "redirects",
        300,
        "which are followed only up to target.max_redirects (none by default), so the latency "
        "is that of a redirect, not of the operation",
    ),
    (
        "performance-client-error",
        "client errors",
        400,
        "so the latency is that of an error answer; give the request values that exist "
        "(availability.parameters, which performance shares) or leave the operation out "
        "(performance.exclude)",
    ),
)


@dataclass(frozen=True, slots=True)
class PerformanceSettings:
    """Effective settings for one operation; thresholds in seconds (None: not checked)."""

    samples: int
    concurrency: int
    warmup: int
    max_time: float
    thresholds: Mapping[str, float]


RequestSample = tuple[bool, float | None]


@dataclass(slots=True)
class Measurement:
    """The raw outcome of a measurement: per request, whether it succeeded and its latency.

    A request succeeds when it gets a 2xx answer (or a redirect the spec documents). A 5xx or
    a transport error gives a reason in ``errors``; a 4xx (the request was wrong, so its
    latency is an error answer's) or an undocumented 3xx (redirects are not followed, so it
    is not the operation's answer) counts in ``client_errors``. The latency is None when no
    answer came at all (a timeout, a refused connection).
    """

    samples: list[RequestSample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    client_errors: Counter[int] = field(default_factory=Counter)
    timed_out: bool = False

    @property
    def latencies_ms(self) -> list[float]:
        return [latency for _, latency in self.samples if latency is not None]

    @property
    def outcomes(self) -> list[bool]:
        return [ok for ok, _ in self.samples]


@dataclass(frozen=True, slots=True)
class PerformanceResult:
    """Latencies of one operation, their percentiles (ms) and the findings against thresholds.

    ``samples`` holds (succeeded, latency in ms or None) per measured request: the input of
    the deployment score.
    """

    label: str
    samples: list[RequestSample]
    percentiles: dict[str, float]
    thresholds: Mapping[str, float]
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return not failures(self.findings)

    @property
    def latencies_ms(self) -> list[float]:
        """The latency of every request that got an answer."""
        return [latency for _, latency in self.samples if latency is not None]

    @property
    def outcomes(self) -> list[bool]:
        return [ok for ok, _ in self.samples]


def performance_settings(section: Mapping[str, Any], label: str) -> PerformanceSettings:
    """Settings for ``label``: per-operation thresholds override the global ones."""
    thresholds = {**_DEFAULTS["thresholds"], **(section.get("thresholds") or {})}
    thresholds.update((section.get("operations") or {}).get(label) or {})
    return PerformanceSettings(
        samples=int(section.get("samples", _DEFAULTS["samples"])),
        concurrency=int(section.get("concurrency", _DEFAULTS["concurrency"])),
        warmup=int(section.get("warmup", _DEFAULTS["warmup"])),
        max_time=parse_duration(section.get("max_time", _DEFAULTS["max_time"])),
        thresholds={
            name: parse_duration(value)
            for name, value in thresholds.items()
            if name in PERCENTILES and value is not None
        },
    )


def performance_operations(spec: Spec, section: Mapping[str, Any]) -> list[str]:
    """Labels to measure, in spec order: ``include``, else every safe operation without a
    required body (GET, HEAD, OPTIONS: load must not create or cancel anything); minus
    ``exclude``. Raises ConfigError for labels the spec lacks.
    """
    labels = [operation.label for operation in spec.operations]
    problems = [
        f"performance.{key}: {label!r} is not an operation of {spec.name}"
        for key in ("include", "exclude", "operations")
        for label in section.get(key) or ()
        if label not in labels
    ]
    if problems:
        raise ConfigError(problems)
    if section.get("include") is not None:
        chosen = set(section["include"])
        selected = [label for label in labels if label in chosen]
    else:
        selected = [op.label for op in spec.operations if _measurable_by_default(spec, op)]
    excluded = set(section.get("exclude") or ())
    return [label for label in selected if label not in excluded]


def _measurable_by_default(spec: Spec, operation: Operation) -> bool:
    body = spec.resolve(operation.definition.get("requestBody"))
    required_body = isinstance(body, Mapping) and bool(body.get("required"))
    return operation.method in SAFE_METHODS and not required_body


async def measure(
    transport: httpx.AsyncBaseTransport,
    make_request: Callable[[], httpx.Request],
    *,
    samples: int,
    concurrency: int,
    warmup: int = 0,
    max_time: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    documented: Callable[[int], bool] = lambda status: False,
) -> Measurement:
    """Send ``warmup`` then ``samples`` requests through ``transport``, at most
    ``concurrency`` at once.

    A request that fails (a transport error or a 5xx) is an outcome False with a reason in
    ``errors``; it has a latency only when the server answered. A 4xx is a success when
    ``documented(status)`` says the spec documents it for the operation, else a client error.
    After ``max_time`` seconds the measurement stops with what it has and ``timed_out`` set.
    """
    result = Measurement()
    width = max(1, concurrency)

    async def run(count: int, record: bool) -> None:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await _one(transport, make_request, result if record else None, clock, documented)

        await asyncio.gather(*(worker() for _ in range(min(width, count))))

    try:
        async with asyncio.timeout(max_time):
            await run(warmup, record=False)
            await run(samples, record=True)
    except TimeoutError:
        result.timed_out = True
    return result


async def _one(
    transport: httpx.AsyncBaseTransport,
    make_request: Callable[[], httpx.Request],
    result: Measurement | None,
    clock: Callable[[], float],
    documented: Callable[[int], bool],
) -> None:
    import httpx

    from pytest_deploycheck.core.wire import WireTimer

    timer = WireTimer(clock)
    request = timer.attach(make_request())
    started = clock()
    try:
        response = await transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        error = "timeout"
        latency = None
    except AnswerTooLarge:
        error = "answer over target.max_body"
        latency = None
    except httpx.HTTPError as exc:
        error = describe_error(exc)
        latency = None
    else:
        latency = timer.latency_ms(started, clock())
        error = str(response.status_code) if response.status_code >= 500 else ""
    if result is None:
        return
    # an undocumented 4xx (the request was wrong) or redirect (not followed) is not the
    # operation's answer; a documented one is
    status = response.status_code if latency is not None else 0
    client_error = not error and latency is not None and 300 <= status < 500
    client_error = client_error and not documented(status)
    result.samples.append((not error and not client_error, latency))
    if client_error:
        result.client_errors[response.status_code] += 1
    if error:
        result.errors.append(error)


def judge_latencies(
    label: str, latencies_ms: Sequence[float], thresholds: Mapping[str, float]
) -> tuple[dict[str, float], list[Finding]]:
    """Percentiles (ms) of ``latencies_ms`` and a finding for each threshold exceeded."""
    if not latencies_ms:
        return {}, [
            Finding("performance-no-samples", f"{label}: no request got an answer", location=label)
        ]
    measured = {name: percentile(latencies_ms, q) for name, q in PERCENTILES.items()}
    findings = []
    for name in PERCENTILES:
        limit = thresholds.get(name)
        if limit is not None and measured[name] > limit * 1000:
            message = (
                f"{label}: {name} is {measured[name]:.0f}ms, over the {format_duration(limit)} "
                f"threshold ({len(latencies_ms)} samples; p50 {measured['p50']:.0f}ms, "
                f"p95 {measured['p95']:.0f}ms, p99 {measured['p99']:.0f}ms)"
            )
            findings.append(Finding(f"performance-{name}", message, location=label))
    return measured, findings


def run_performance(
    base_url: str,
    spec: Spec,
    label: str,
    section: Mapping[str, Any],
    *,
    build_request: RequestBuilder | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    verify: bool | str = True,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.perf_counter,
    bounds: Bounds | None = None,
) -> PerformanceResult:
    """Measure ``label`` at ``base_url`` and judge its percentiles against the thresholds.

    ``build_request`` turns the operation into a request (the same one as availability's
    probe by default); ``timeout`` bounds each request, from connecting to the answer's last
    byte, ``bounds`` the size of its answer, and ``max_time`` the whole item. Redirects are
    not followed here: a 3xx counts against the operation.
    """
    operation = next((op for op in spec.operations if op.label == label), None)
    if operation is None:
        raise ConfigError([f"performance: {label!r} is not an operation of {spec.name}"])
    settings = performance_settings(section, label)
    probe = (build_request or (lambda op: build_probe(spec, op)))(operation)

    import httpx

    from pytest_deploycheck.core.wire import timed_transport

    async def go() -> Measurement:
        limits = httpx.Limits(max_connections=settings.concurrency)
        inner = transport or timed_transport(base_url, verify=verify, limits=limits, clock=clock)
        chosen = AsyncBoundedTransport(inner, Bounds(timeout, (bounds or Bounds()).max_body))
        # The client only builds the request (base URL, default and configured headers, the
        # timeout) and closes the transport; requests go straight to the transport.
        async with httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=chosen,
            trust_env=False,
        ) as client:
            extra: dict[str, Any] = {"json": probe.json} if probe.has_body else {}
            template = client.build_request(
                probe.method, probe.url_path, params=probe.params, headers=probe.headers, **extra
            )

            def make_request() -> httpx.Request:
                return httpx.Request(
                    template.method,
                    template.url,
                    headers=template.headers,
                    content=template.content,
                    extensions=template.extensions,
                )

            return await measure(
                chosen,
                make_request,
                samples=settings.samples,
                concurrency=settings.concurrency,
                warmup=settings.warmup,
                max_time=settings.max_time,
                clock=clock,
                documented=operation.documents,
            )

    measurement = asyncio.run(go())
    percentiles, findings = judge_latencies(label, measurement.latencies_ms, settings.thresholds)
    if measurement.errors:
        counts = Counter(measurement.errors)
        summary = ", ".join(f"{reason} x{count}" for reason, count in counts.most_common())
        message = (
            f"{label}: {len(measurement.errors)} of {len(measurement.outcomes)} requests "
            f"failed ({summary})"
        )
        findings.append(Finding("performance-errors", message, location=label))
    for rule, kind, first, why in _UNANSWERED:
        seen = {k: v for k, v in measurement.client_errors.items() if first <= k < first + 100}
        if seen:
            statuses = ", ".join(f"{status} x{count}" for status, count in sorted(seen.items()))
            message = (
                f"{label}: {sum(seen.values())} of {len(measurement.outcomes)} answers were "
                f"{kind} ({statuses}), {why}"
            )
            findings.append(Finding(rule, message, location=label))
    if measurement.timed_out:
        message = (
            f"{label}: did not finish within {format_duration(settings.max_time)} "
            f"(performance.max_time); {len(measurement.outcomes)} of {settings.samples} "
            "samples were taken"
        )
        findings.append(Finding("performance-timeout", message, location=label))
    redactor = Redactor.for_headers(headers or {})
    findings = [finding.redacted(redactor.redact) for finding in findings]
    return PerformanceResult(
        label=label,
        samples=measurement.samples,
        percentiles=percentiles,
        thresholds=settings.thresholds,
        findings=findings,
    )

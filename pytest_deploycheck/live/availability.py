"""Availability: every operation answers, without a 5xx, a timeout or a connection error.

The sweep sends one probe per operation, concurrently and bounded; ``judge`` turns each answer
into findings. A 404 or 405 means the route is missing, unless the spec documents it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from pytest_deploycheck.core.bounds import describe_error
from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.spec import Operation
from pytest_deploycheck.core.units import format_duration
from pytest_deploycheck.core.wire import WireTimer

from .probes import ProbeRequest

__all__ = [
    "SHARD_CONNECTIONS",
    "ProbeResult",
    "judge",
    "send_probe",
    "shard_count",
    "sweep",
]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe got back: a status, or the error that stopped it, and the latency."""

    label: str
    method: str
    url: str
    status: int | None
    latency_ms: float
    error: str | None = None

    @property
    def answered(self) -> bool:
        """True when the service answered without a server error."""
        return self.error is None and self.status is not None and self.status < 500


# The request never got an answer because the connection broke; an idempotent one can be
# sent again without changing anything twice.
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


async def send_probe(
    client: httpx.AsyncClient,
    label: str,
    request: ProbeRequest,
    timeout: float,
    clock: Callable[[], float] = time.perf_counter,
) -> ProbeResult:
    """Send one probe and time it; network errors become a result, never an exception.

    An answer's latency is its wire latency (:class:`.wire.WireTimer`): opening a connection
    or waiting for a pooled one does not count. A probe without an answer is timed whole.
    """
    kwargs: dict[str, object] = {"params": request.params, "headers": request.headers}
    if request.has_body:
        kwargs["json"] = request.json
    timer = WireTimer(clock)
    started = clock()
    url = request.url_path
    try:
        built = client.build_request(request.method, request.url_path, **kwargs)  # type: ignore[arg-type]
        url = str(built.url)
        retry = _DROPPED if request.method.upper() in _IDEMPOTENT else ()
        extensions = built.extensions
        try:
            response = await client.send(timer.attach(built))
        except retry:
            # A kept-alive connection the server had just closed (as many do after a 5xx)
            # says nothing of this operation: send it once more, on a new connection, timed
            # by a timer of its own (not chained after the first one).
            built.extensions = extensions
            timer = WireTimer(clock)
            started = clock()
            response = await client.send(timer.attach(built))
        await response.aclose()
    except httpx.TimeoutException:
        elapsed = (clock() - started) * 1000
        error = f"no complete answer within {format_duration(timeout)} (timeout)"
        return ProbeResult(label, request.method, url, None, elapsed, error)
    except httpx.HTTPError as exc:
        elapsed = (clock() - started) * 1000
        return ProbeResult(label, request.method, url, None, elapsed, describe_error(exc))
    elapsed = timer.latency_ms(started, clock())
    return ProbeResult(label, request.method, url, response.status_code, elapsed)


async def sweep(
    clients: httpx.AsyncClient | Sequence[httpx.AsyncClient],
    requests: Mapping[str, ProbeRequest],
    *,
    concurrency: int = 50,
    timeout: float = 10.0,
) -> dict[str, ProbeResult]:
    """Probe every request concurrently, at most ``concurrency`` at a time.

    With several clients, requests are spread over them, each with an equal share of the
    concurrency: httpcore's pool does work quadratic in its size on every request, so
    ten pools of five connections are far cheaper than one pool of fifty.
    """
    shards = [clients] if isinstance(clients, httpx.AsyncClient) else list(clients)
    share = max(1, -(-max(1, concurrency) // len(shards)))
    gates = [asyncio.Semaphore(share) for _ in shards]

    async def bounded(index: int, label: str, request: ProbeRequest) -> ProbeResult:
        shard = index % len(shards)
        async with gates[shard]:
            return await send_probe(shards[shard], label, request, timeout)

    probes = (bounded(i, label, request) for i, (label, request) in enumerate(requests.items()))
    results = await asyncio.gather(*probes)
    return {result.label: result for result in results}


SHARD_CONNECTIONS = 5


def shard_count(concurrency: int) -> int:
    """How many clients a sweep of this concurrency spreads its requests over."""
    return max(1, -(-concurrency // SHARD_CONNECTIONS))


def judge(
    operation: Operation, result: ProbeResult, allowed: frozenset[int] = frozenset()
) -> list[Finding]:
    """Findings for one probe: empty when the operation is available."""
    where = f"{result.method} {result.url}"
    if result.error is not None:
        return [Finding("availability-error", f"{where}: {result.error}", location=result.label)]
    assert result.status is not None
    if result.status >= 500 and result.status not in allowed:
        message = f"{where} answered {result.status}: a server error"
        return [Finding("availability-server-error", message, location=result.label)]
    if result.status in (401, 403) and result.status not in allowed:
        message = (
            f"{where} answered {result.status}: the target refused the probe's credentials, "
            "so the operation was not exercised; send them with target.headers (such as "
            '{"Authorization": "Bearer ${API_TOKEN}"}), or accept the status in '
            "availability.allow_status"
        )
        return [Finding("availability-unauthorized", message, location=result.label)]
    missing = result.status in (404, 405) and result.status not in allowed
    if missing and not operation.documents(result.status):
        message = (
            f"{where} answered {result.status}, which the spec does not document for this "
            "operation: the route is missing or the probe's parameters do not exist; set "
            "availability.parameters to ids that exist, document the status, or accept it "
            "for this operation in availability.allow_status"
        )
        return [Finding("availability-not-found", message, location=result.label)]
    redirect = 300 <= result.status < 400 and result.status not in allowed
    if redirect and not operation.documents(result.status):
        message = (
            f"{where} answered {result.status}, a redirect the spec does not document for "
            "this operation: redirects are followed only up to target.max_redirects (none by "
            "default), so the operation itself never answered; document the redirect, follow "
            "it with target.max_redirects, or accept it in availability.allow_status"
        )
        return [Finding("availability-redirect", message, location=result.label)]
    return []

"""Availability: every operation answers, without a 5xx, a timeout or a connection error.

The sweep sends one probe per operation, concurrently and bounded; ``judge`` turns each answer
into findings. A 404 or 405 means the route is missing, unless the spec documents it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from .findings import Finding
from .probes import ProbeRequest
from .spec import Operation
from .units import format_duration

__all__ = ["ProbeResult", "judge", "send_probe", "sweep"]


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


async def send_probe(
    client: httpx.AsyncClient,
    label: str,
    request: ProbeRequest,
    timeout: float,
    clock: Callable[[], float] = time.perf_counter,
) -> ProbeResult:
    """Send one probe and time it; network errors become a result, never an exception."""
    kwargs: dict[str, object] = {"params": request.params, "headers": request.headers}
    if request.has_body:
        kwargs["json"] = request.json
    started = clock()
    url = request.url_path
    try:
        built = client.build_request(request.method, request.url_path, **kwargs)  # type: ignore[arg-type]
        url = str(built.url)
        response = await client.send(built)
        await response.aclose()
    except httpx.TimeoutException:
        elapsed = (clock() - started) * 1000
        error = f"no answer within {format_duration(timeout)} (timeout)"
        return ProbeResult(label, request.method, url, None, elapsed, error)
    except httpx.HTTPError as exc:
        elapsed = (clock() - started) * 1000
        return ProbeResult(label, request.method, url, None, elapsed, _describe(exc))
    elapsed = (clock() - started) * 1000
    return ProbeResult(label, request.method, url, response.status_code, elapsed)


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc or 'refused'}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP exchange: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def sweep(
    client: httpx.AsyncClient,
    requests: Mapping[str, ProbeRequest],
    *,
    concurrency: int = 20,
    timeout: float = 10.0,
) -> dict[str, ProbeResult]:
    """Probe every request concurrently, at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def bounded(label: str, request: ProbeRequest) -> ProbeResult:
        async with gate:
            return await send_probe(client, label, request, timeout)

    results = await asyncio.gather(*(bounded(k, r) for k, r in requests.items()))
    return {result.label: result for result in results}


def _documents(operation: Operation, status: int) -> bool:
    responses = operation.definition.get("responses") or {}
    keys = {str(key).upper() for key in responses}
    return str(status) in keys or f"{str(status)[0]}XX" in keys


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
    missing = result.status in (404, 405) and result.status not in allowed
    if missing and not _documents(operation, result.status):
        message = (
            f"{where} answered {result.status}, which the spec does not document for this "
            "operation: the route is missing or the probe's parameters do not exist; set "
            "availability.parameters to ids that exist, or document the status"
        )
        return [Finding("availability-not-found", message, location=result.label)]
    return []

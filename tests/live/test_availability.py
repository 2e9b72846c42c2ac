from __future__ import annotations

import asyncio

import httpx
import pytest

from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.live.availability import ProbeResult, judge, send_probe, sweep
from pytest_deploycheck.live.probes import ProbeRequest
from tests.fakes import FakeClock, TracingTransport

SPEC = Spec(
    {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/ok": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/things/{id}": {
                "get": {"responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}
            },
            "/missing": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }
)
OPS = {op.label: op for op in SPEC.operations}


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/ok":
        return httpx.Response(200, json={})
    if request.url.path == "/boom":
        return httpx.Response(503)
    if request.url.path == "/hang":
        raise httpx.ReadTimeout("timed out", request=request)
    if request.url.path == "/refused":
        raise httpx.ConnectError("connection refused", request=request)
    return httpx.Response(404)


def run_sweep(paths: dict[str, str]) -> dict[str, ProbeResult]:
    async def go() -> dict[str, ProbeResult]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            requests = {label: ProbeRequest("GET", path) for label, path in paths.items()}
            return await sweep(client, requests, concurrency=2, timeout=1.0)

    return asyncio.run(go())


def test_sweep_turns_every_network_failure_into_a_result() -> None:
    results = run_sweep({"a": "/ok", "b": "/boom", "c": "/hang", "d": "/refused", "e": "/nothing"})
    assert results["a"].status == 200
    assert results["a"].answered
    assert results["b"].status == 503
    assert not results["b"].answered
    assert results["c"].status is None
    assert "timeout" in (results["c"].error or "")
    assert "connection refused" in (results["d"].error or "")
    assert results["e"].status == 404
    assert results["e"].answered
    assert all(r.latency_ms >= 0 for r in results.values())


def test_judge_fails_server_errors_timeouts_and_undocumented_404() -> None:
    ok = ProbeResult("GET /ok", "GET", "http://svc/ok", 200, 3.0)
    assert judge(OPS["GET /ok"], ok) == []
    server_error = ProbeResult("GET /ok", "GET", "http://svc/ok", 500, 3.0)
    [finding] = judge(OPS["GET /ok"], server_error)
    assert finding.rule == "availability-server-error"
    assert "500" in finding.message
    timeout = ProbeResult("GET /ok", "GET", "http://svc/ok", None, 1000.0, "no answer (timeout)")
    assert judge(OPS["GET /ok"], timeout)[0].rule == "availability-error"
    not_found = ProbeResult("GET /missing", "GET", "http://svc/missing", 404, 1.0)
    [finding] = judge(OPS["GET /missing"], not_found)
    assert finding.rule == "availability-not-found"
    assert "availability.parameters" in finding.message


def test_404_passes_where_the_spec_documents_it_and_allowances_apply() -> None:
    documented = ProbeResult("GET /things/{id}", "GET", "http://svc/things/1", 404, 1.0)
    assert judge(OPS["GET /things/{id}"], documented) == []
    unavailable = ProbeResult("GET /ok", "GET", "http://svc/ok", 503, 1.0)
    assert judge(OPS["GET /ok"], unavailable, frozenset({503})) == []
    assert judge(OPS["GET /ok"], unavailable, frozenset({404}))


def test_sweep_runs_concurrently_but_bounded() -> None:
    active = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200)

    async def go() -> dict[str, ProbeResult]:
        transport = httpx.MockTransport(slow)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            requests = {f"op{i}": ProbeRequest("GET", f"/{i}") for i in range(30)}
            return await sweep(client, requests, concurrency=5, timeout=1.0)

    results = asyncio.run(go())
    assert len(results) == 30
    assert peak == 5


def test_a_probe_is_timed_on_the_wire_without_connecting_or_waiting() -> None:
    clock = FakeClock()
    # 200 ms to open the connection (TCP and TLS handshakes), 30 ms on the wire
    transport = TracingTransport(clock, before=0.2, wire=0.03, after=0.002)

    async def go() -> ProbeResult:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            request = ProbeRequest("GET", "/ok")
            return await send_probe(client, "GET /ok", request, 1.0, clock=clock)

    assert asyncio.run(go()).latency_ms == pytest.approx(30)


def test_a_connection_dropped_without_an_answer_is_tried_once_more_when_idempotent() -> None:
    """The first connection is closed without an answer, as by a server that had just closed
    a kept-alive connection; a GET is sent again on a new one, a POST is not."""

    async def go() -> tuple[ProbeResult, ProbeResult]:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            first = connections in (1, 3)  # the first connection of each probe
            await reader.readuntil(b"\r\n\r\n")
            if not first:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            async with httpx.AsyncClient(base_url=url) as client:
                get = await send_probe(client, "GET /ok", ProbeRequest("GET", "/ok"), 2.0)
            async with httpx.AsyncClient(base_url=url) as client:
                post = await send_probe(client, "POST /ok", ProbeRequest("POST", "/ok"), 2.0)
        return get, post

    get, post = asyncio.run(go())
    assert (get.status, get.error) == (200, None)
    assert post.status is None
    assert post.error is not None
    assert "the server closed the connection without answering" in post.error


def test_a_refused_credential_fails_the_probe_with_the_way_to_send_one() -> None:
    result = ProbeResult("GET /ok", "GET", "http://svc/ok", 401, 3.0)
    [finding] = judge(OPS["GET /ok"], result)
    assert finding.rule == "availability-unauthorized"
    assert "target.headers" in finding.message
    assert "availability.allow_status" in finding.message
    forbidden = ProbeResult("GET /ok", "GET", "http://svc/ok", 403, 3.0)
    assert [f.rule for f in judge(OPS["GET /ok"], forbidden)] == ["availability-unauthorized"]
    assert judge(OPS["GET /ok"], forbidden, frozenset({403})) == []


def test_an_undocumented_redirect_is_no_answer() -> None:
    """Redirects are not followed unless target.max_redirects says so: a 302 that the spec
    does not document says nothing of the operation (a login page, a loop)."""
    redirected = ProbeResult("GET /ok", "GET", "http://svc/ok", 302, 3.0)
    [finding] = judge(OPS["GET /ok"], redirected)
    assert finding.rule == "availability-redirect"
    assert "answered 302, a redirect the spec does not document" in finding.message
    assert "target.max_redirects" in finding.message
    assert judge(OPS["GET /ok"], redirected, frozenset({302})) == []
    documented = Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/go": {"get": {"responses": {"3XX": {"description": "elsewhere"}}}}},
        }
    ).operations[0]
    assert judge(documented, ProbeResult("GET /go", "GET", "http://svc/go", 307, 1.0)) == []

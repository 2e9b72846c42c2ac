"""Arrival-timed connections: real HTTP and HTTPS over them, and the arrival times they note."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.core.wire import (
    ArrivalTimedBackend,
    ArrivalTimedTransport,
    environment_proxy,
    last_arrival,
    timed_transport,
)
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.live.performance import measure, run_performance
from tests.live_server import free_port, serve_app
from tests.pki import Pki

LIMITS = httpx.Limits(max_connections=4)


def make_app() -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"size": len(body), "auth": request.headers.get("authorization")})

    async def big(request: Request) -> Response:
        return Response(b"x" * 3_000_000)  # many reads, each at most httpcore's 64 KiB

    async def chunks(request: Request) -> Response:
        async def lines() -> AsyncIterator[bytes]:
            for n in range(5):
                yield f"{n}\n".encode()
                await asyncio.sleep(0.002)

        return StreamingResponse(lines())  # chunked transfer encoding

    async def hang(request: Request) -> Response:
        await asyncio.sleep(30)
        return Response()

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/big", big),
            Route("/chunks", chunks),
            Route("/hang", hang),
        ]
    )


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_app(make_app()) as base_url:
        yield base_url


def client(verify: bool | ssl.SSLContext = True, **options: Any) -> httpx.AsyncClient:
    transport = ArrivalTimedTransport(verify=verify, limits=LIMITS)
    return httpx.AsyncClient(transport=transport, trust_env=False, **options)


def local_port(response: httpx.Response) -> int:
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def test_requests_and_answers_of_any_size_pass_and_the_connection_is_kept(url: str) -> None:
    async def go() -> list[httpx.Response]:
        async with client(base_url=url) as http:
            return [
                await http.post("/echo", content=b"y" * 3_000_000),  # beyond the socket buffer
                await http.get("/big"),
                await read_slowly(http, "/big"),
                await http.get("/chunks"),
                await http.get("/echo", headers={"Authorization": "Bearer t"}),
            ]

    posted, big, slow, streamed, echoed = asyncio.run(go())
    assert posted.json() == {"size": 3_000_000, "auth": None}
    assert big.content == slow.content == b"x" * 3_000_000
    assert streamed.text == "0\n1\n2\n3\n4\n"
    assert echoed.json() == {"size": 0, "auth": "Bearer t"}
    assert len({local_port(r) for r in (posted, big, slow, streamed, echoed)}) == 1


async def read_slowly(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """Waits before reading the body: the answer piles up past the connection's buffer limit,
    which stops reading from the socket until the body is read."""
    async with http.stream("GET", path) as response:
        await asyncio.sleep(0.2)
        # reading stopped past 1 MiB unread; the rest waits in the kernel's buffers
        assert response.extensions["network_stream"].buffered < 2_000_000
        await response.aread()
    return response


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connect_error(url: str) -> None:
    async def go() -> float:
        async with client(base_url=url, timeout=0.2) as http:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/hang")
            waited = time.monotonic() - started
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{free_port()}/")
            return waited

    assert 0.2 <= asyncio.run(go()) < 2


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # no Connection: close
        await writer.drain()
        writer.close()

    async def go() -> list[httpx.Response]:
        server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, client() as http:
            first = await http.get(f"http://127.0.0.1:{port}/")
            await asyncio.sleep(0.05)  # the server's FIN has arrived: the connection is dead
            second = await http.get(f"http://127.0.0.1:{port}/")
        return [first, second]

    first, second = asyncio.run(go())
    assert first.text == second.text == "ok"
    assert local_port(first) != local_port(second)


def test_https_through_a_private_ca_and_a_refused_untrusted_certificate(pki: Pki) -> None:
    trusted = ssl.create_default_context(cafile=str(pki.ca))

    async def go(base_url: str) -> httpx.Response:
        async with client(verify=trusted, base_url=base_url) as http:
            answer = await http.get("/echo")
        async with client(base_url=base_url) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get("/echo")
        return answer

    with serve_app(make_app(), certfile=pki.leaf, keyfile=pki.leaf_key) as base_url:
        answer = asyncio.run(go(base_url))
    assert answer.json() == {"size": 0, "auth": None}
    assert answer.extensions["network_stream"].get_extra_info("ssl_object") is not None


def test_an_answer_is_timed_when_it_arrives_not_when_it_is_read() -> None:
    """Two answers arrive together; the second is read after 50 ms of Python work on the
    first, and still carries its arrival time."""

    async def go() -> tuple[list[bytes], float, float, float]:
        writers: list[asyncio.StreamWriter] = []
        both = asyncio.Event()

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            if len(writers) == 2:
                both.set()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        backend = ArrivalTimedBackend()
        async with server:
            first, second = [await backend.connect_tcp("127.0.0.1", port) for _ in range(2)]
            await both.wait()
            for writer in writers:
                writer.write(b"answer")
            answers = [await first.read(1024)]
            first_arrived = last_arrival()
            time.sleep(0.05)  # handling the first answer, with the event loop held
            answers.append(await second.read(1024))
            read_at = time.perf_counter()
            second_arrived = last_arrival()
            for stream in (first, second):
                await stream.aclose()
            for writer in writers:
                writer.close()
        assert first_arrived is not None
        assert second_arrived is not None
        return answers, first_arrived, second_arrived, read_at

    answers, first_arrived, second_arrived, read_at = asyncio.run(go())
    assert answers == [b"answer", b"answer"]
    assert second_arrived - first_arrived < 0.01
    assert read_at - second_arrived >= 0.05


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def wave_server(after: int, size: int) -> asyncio.Server:
    """An HTTP server on the running loop: it answers the first ``after`` requests at once,
    holds the next ``size`` until all of them came and answers them in one go (before the
    client's event loop looks at its sockets again), and answers the rest at once."""
    arrived = 0
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                arrived += 1
                if after < arrived <= after + size:
                    held.append(writer)
                    if arrived == after + size:
                        for waiting in held:
                            waiting.write(OK)
                else:
                    writer.write(OK)

    return await asyncio.start_server(serve, "127.0.0.1", 0)


class SlowToRead(httpx.AsyncBaseTransport):
    """Spends 30 ms of Python work, the event loop held, on each answer before its body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        time.sleep(0.03)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_clients_own_work_stays_out_of_the_latencies_it_measures() -> None:
    """After the warm-up, four answers arrive at once and each takes 30 ms to read. The four
    latencies agree; timed when read instead (the arrival times made useless), each later one
    includes the reading of those before it."""

    async def wave(inner: httpx.AsyncBaseTransport) -> list[float]:
        server = await wave_server(after=4, size=4)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with server, SlowToRead(inner) as transport:
            result = await measure(
                transport, lambda: httpx.Request("GET", url), samples=4, concurrency=4, warmup=4
            )
        assert result.outcomes == [True] * 4
        return result.latencies_ms

    ours = asyncio.run(wave(ArrivalTimedTransport(limits=LIMITS)))
    when_read = asyncio.run(wave(ArrivalTimedTransport(limits=LIMITS, clock=lambda: 0.0)))
    assert max(ours) - min(ours) < 25, ours
    assert max(when_read) - min(when_read) > 80, when_read  # 3 x 30 ms


def test_a_proxy_named_by_the_environment_carries_the_measurement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    async def proxy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A forward proxy that answers for every origin itself."""
        if scope["type"] != "http":
            return
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    spec = Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}},
        }
    )
    section = {"samples": 3, "warmup": 0, "concurrency": 1, "thresholds": {}}
    with serve_app(proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "direct.invalid")
        via_proxy = run_performance("http://api.invalid", spec, "GET /ping", section, timeout=5)
        direct = run_performance("http://direct.invalid", spec, "GET /ping", section, timeout=5)
    assert via_proxy.passed, via_proxy.findings
    assert len(seen) == 3
    assert all("api.invalid" in path for path in seen), seen
    assert [f.rule for f in direct.findings] == ["performance-no-samples", "performance-errors"]
    assert "could not connect: the host name does not resolve" in direct.findings[1].message


PROXY_ENVIRONMENTS = [
    {"HTTP_PROXY": "proxy.corp:3128"},  # no scheme: httpx reads http://
    {"HTTP_PROXY": "http://proxy.corp:3128", "NO_PROXY": "*, other"},
    {"HTTP_PROXY": "http://proxy.corp:3128", "NO_PROXY": "localhost:8000,http://direct.test"},
    {"ALL_PROXY": "http://proxy.corp:3128", "NO_PROXY": ".example.com,10.1.2.3"},
    {"HTTPS_PROXY": "http://tls-proxy.corp:3128", "NO_PROXY": "example.com"},
]
PROXY_URLS = [
    "http://localhost:8000/x",
    "http://direct.test/",
    "http://example.com/",
    "https://api.example.com/",
    "http://10.1.2.3:8080/",
    "https://other/",
    "http://api.test/",
]


@pytest.mark.parametrize("environment", PROXY_ENVIRONMENTS, ids=str)
def test_the_proxy_chosen_is_the_one_httpx_chooses(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        for spelled in (name, name.lower()):
            monkeypatch.delenv(spelled, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    client = httpx.AsyncClient()  # reads the environment as httpx does
    for url in map(httpx.URL, PROXY_URLS):
        proxied_by_httpx = client._transport_for_url(url) is not client._transport
        assert (environment_proxy(url) is not None) == proxied_by_httpx, url
        transport = timed_transport(url, limits=LIMITS)
        assert isinstance(transport, ArrivalTimedTransport) != proxied_by_httpx, url
    assert environment_proxy(httpx.URL("http://api.test/")) in (None, "http://proxy.corp:3128")


def test_verify_false_reaches_the_connections(pki: Pki) -> None:
    async def go(base_url: str) -> int:
        async with client(verify=False, base_url=base_url) as http:
            return (await http.get("/echo")).status_code

    with serve_app(make_app(), certfile=pki.leaf, keyfile=pki.leaf_key) as base_url:
        assert asyncio.run(go(base_url)) == 200  # a private CA, not verified


def test_the_sessions_clients_note_arrivals(tmp_path: Path, url: str) -> None:
    """availability and collect send through the arrival-timed connections."""
    (tmp_path / "openapi.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"
    )
    (tmp_path / "deployment-config.json").write_text('{"spec": "openapi.yaml"}')
    session = DeployCheckSession(tmp_path / "deployment-config.json", environ={})

    async def go() -> float | None:
        async with session.async_client(url) as http:
            await http.get("/echo")
        return last_arrival()

    assert asyncio.run(go()) is not None

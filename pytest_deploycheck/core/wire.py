"""Wire latency: from writing a request to the arrival of its answer's last byte.

:class:`WireTimer` marks the start with httpcore's trace event and the end where the
connection noted the arrival; a request that opened a connection or waited for a pooled one
is timed from the moment it was written, as wrk times it. The rest of this module notes the
arrivals.

An asyncio client learns that an answer came only when its coroutine runs again. When
several connections answer together, the later ones wait for the Python work of the earlier
ones (parsing, building the response, sending the next request), and that wait would count as
latency: a millisecond or two at p95 that the server never spent. This backend's streams are
asyncio protocols: the event loop calls ``data_received`` when it next looks at the sockets,
for every readable one before any coroutine resumes, and the time is noted there. An answer
that arrives while a callback holds the loop is noted when it lets go: the error left is one
loop pass, not the Python work of every answer that came at the same time.

``read()`` hands that time to its caller through :func:`last_arrival` (a context variable, so
each task sees the arrival of its own last read), which the performance measurement reads
when httpcore reports the response body complete.

httpx has no public way to choose the network backend, so :class:`ArrivalTimedTransport`
replaces the connection pool its parent builds with an equal one over this backend.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

__all__ = [
    "ArrivalTimedBackend",
    "ArrivalTimedStream",
    "ArrivalTimedTransport",
    "WireTimer",
    "last_arrival",
    "timed_transport",
]

_LAST_ARRIVAL: ContextVar[float | None] = ContextVar("deploycheck_last_arrival", default=None)
# httpcore's trace events (prefixed http11. or http2.) at both ends of a request on the wire
_SENT = "send_request_headers.started"
_RECEIVED = "receive_response_body.complete"


def last_arrival() -> float | None:
    """When the last byte returned by this task's latest read arrived (the backend's clock)."""
    return _LAST_ARRIVAL.get()


class WireTimer:
    """Times one request on the wire; attach it to the request before sending.

    The end is the arrival noted by an :class:`ArrivalTimedStream`, else (other connections,
    such as a proxy's or a synchronous client's) the moment httpcore finished reading the
    body. Where the transport reports no events at all (a mock), :meth:`latency_ms` falls back
    to the span the caller measured around the whole call.
    """

    __slots__ = ("_clock", "arrived", "sent")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.sent: float | None = None
        self.arrived: float | None = None

    def attach(self, request: httpx.Request, *, sync: bool = False) -> httpx.Request:
        """Hook this timer into the request's trace extension (a sync one for httpx.Client),
        after the trace hook the request already has, if any."""
        before = request.extensions.get("trace")
        trace: Callable[..., Any]
        if sync:

            def trace(event: str, info: Mapping[str, Any]) -> None:
                if before is not None:
                    before(event, info)
                self._on_event(event, info)

        else:

            async def trace(event: str, info: Mapping[str, Any]) -> None:
                if before is not None:
                    await before(event, info)
                self._on_event(event, info)

        request.extensions = {**request.extensions, "trace": trace}
        return request

    def latency_ms(self, started: float, finished: float) -> float:
        """The wire latency in milliseconds, else ``finished - started``."""
        if self.sent is not None and self.arrived is not None:
            return (self.arrived - self.sent) * 1000
        return (finished - started) * 1000

    def _on_event(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith(_SENT):
            self.sent = self._clock()
        elif event.endswith(_RECEIVED) and self.sent is not None:
            arrived = last_arrival()
            fresh = arrived is not None and arrived >= self.sent
            self.arrived = arrived if fresh else self._clock()


# Past this many unread bytes the connection stops reading from the socket until the reader
# catches up, so a large answer read slowly fills the kernel's buffer, not ours.
_HIGH_WATER = 1 << 20


class _Protocol(asyncio.Protocol):
    """Buffers what arrives, each chunk with its arrival time, and wakes the waiting reader."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.chunks: deque[tuple[bytes, float]] = deque()
        self.buffered = 0
        self.transport: asyncio.Transport | None = None
        self.reading_paused = False
        self.closed = False
        self.error: Exception | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append((data, self.clock()))
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def consumed(self, size: int) -> None:
        """The reader took ``size`` bytes; read from the socket again once below the mark."""
        self.buffered -= size
        if self.reading_paused and self.buffered <= _HIGH_WATER and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def eof_received(self) -> None:
        self.closed = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self.writable.set()
        self._wake()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    async def readable(self) -> None:
        while not self.chunks and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ArrivalTimedStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio transport and the protocol that timestamps its bytes."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    @property
    def buffered(self) -> int:
        """Bytes received and not read yet (reading pauses past 1 MiB)."""
        return self._protocol.buffered

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        try:
            async with asyncio.timeout(timeout):
                await protocol.readable()
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(f"no data within {timeout}s") from exc
        if not protocol.chunks:
            if protocol.error is not None:
                raise httpcore.ReadError(str(protocol.error)) from protocol.error
            return b""
        parts: list[bytes] = []
        size = 0
        arrived = 0.0
        while protocol.chunks and size < max_bytes:
            data, arrived = protocol.chunks.popleft()
            if size + len(data) > max_bytes:
                keep = max_bytes - size
                protocol.chunks.appendleft((data[keep:], arrived))
                data = data[:keep]
            parts.append(data)
            size += len(data)
        protocol.consumed(size)
        _LAST_ARRIVAL.set(arrived)
        return b"".join(parts)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await self._protocol.writable.wait()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"could not write within {timeout}s") from exc

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"TLS handshake took over {timeout}s") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        return ArrivalTimedStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        if info == "is_readable":  # an idle connection with data or EOF pending is dead
            return bool(self._protocol.chunks) or self._protocol.closed
        return self._transport.get_extra_info(names[info]) if info in names else None


class ArrivalTimedBackend(httpcore.AsyncNetworkBackend):
    """Opens :class:`ArrivalTimedStream` connections on the running asyncio loop."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                # Happy Eyeballs (RFC 8305): a first address that drops connections silently
                # must not use up the connect timeout, as anyio's connect does not let it.
                transport, protocol = await loop.create_connection(
                    lambda: _Protocol(self._clock),
                    host,
                    port,
                    local_addr=local,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"could not connect within {timeout}s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._stream(transport, protocol, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(
                    lambda: _Protocol(self._clock), path
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"could not connect within {timeout}s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._stream(transport, protocol, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    def _stream(
        transport: asyncio.BaseTransport,
        protocol: _Protocol,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> ArrivalTimedStream:
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return ArrivalTimedStream(transport, protocol)  # type: ignore[arg-type]


class ArrivalTimedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP/1.1 transport, its connections opened by an :class:`ArrivalTimedBackend`."""

    def __init__(
        self,
        *,
        verify: bool | str | ssl.SSLContext = True,
        limits: httpx.Limits,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if isinstance(verify, ssl.SSLContext):
            context = verify
        else:  # by keyword: httpx 0.27's first parameter is cert
            context = httpx.create_ssl_context(verify=verify)
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=ArrivalTimedBackend(clock),
        )


def timed_transport(
    base_url: str | httpx.URL,
    *,
    verify: bool | str | ssl.SSLContext = True,
    limits: httpx.Limits,
    clock: Callable[[], float] = time.perf_counter,
) -> httpx.AsyncBaseTransport:
    """The transport for ``base_url``: arrival-timed connections, or httpx's own through the
    proxy the environment names for it (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).

    A client given a transport ignores the environment's proxies, so this makes the choice
    httpx would have made, with httpx's own reading of those variables (a proxy without a
    scheme, NO_PROXY's "*", hosts, domains, ports and IP addresses).
    """
    proxy = environment_proxy(httpx.URL(base_url))
    if proxy is not None:
        return httpx.AsyncHTTPTransport(verify=verify, limits=limits, proxy=proxy)
    return ArrivalTimedTransport(verify=verify, limits=limits, clock=clock)


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy URL the environment names for ``url``, as httpx reads it, or None."""
    # httpx keeps this reading private; a test pins it to the client's own choice.
    from httpx._utils import URLPattern, get_environment_proxies

    # most specific first, as httpx orders its mounts
    patterns = sorted(
        ((URLPattern(pattern), proxy) for pattern, proxy in get_environment_proxies().items()),
        key=lambda item: item[0],
    )
    return next((proxy for pattern, proxy in patterns if pattern.matches(url)), None)

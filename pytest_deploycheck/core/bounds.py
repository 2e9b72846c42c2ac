"""Bounds on every exchange with the target: one deadline per request, a ceiling on the
answer's bytes and on its nesting, and redirects only where configured.

httpx's and urllib3's timeouts bound each read, so a server that sends a byte a second holds
a request for as long as it likes, and a client that reads an answer whole holds all of it.
Every request the gate sends goes through a transport from this module:

- the deadline (``target.timeout``) runs from opening the connection to the answer's last
  byte. An asyncio request runs under ``asyncio.timeout``; a blocking one cannot be
  cancelled, so every connect, read and write of its connection waits at most the time left
  (:class:`DeadlineBackend` reads the deadline from a context variable);
- the transport reads the answer before handing it on, decoded, and stops at ``max_body``
  bytes (a declared Content-Length over it stops it before reading): :class:`AnswerTooLarge`;
- redirects are followed up to ``max_redirects`` (none by default), so a 3xx is otherwise
  the answer, judged like any other status.

:func:`load_json` parses a body and refuses one nested deeper than :data:`MAX_DEPTH` levels,
which recursive code (validators, comparisons) could not walk. :func:`describe_error` names
what went wrong with a request, for httpx's and requests' exceptions alike.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from .units import format_duration, format_size, parse_duration, parse_size
from .wire import environment_proxy, timed_transport

__all__ = [
    "DEFAULT_MAX_BODY",
    "MAX_DEPTH",
    "AnswerTooLarge",
    "AsyncBoundedTransport",
    "BodyTooDeep",
    "BoundExceeded",
    "BoundedTransport",
    "Bounds",
    "DeadlineBackend",
    "DeadlineExceeded",
    "bounded_async_client",
    "bounded_client",
    "check_depth",
    "deadline",
    "describe_error",
    "load_json",
    "sync_transport",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY = 4 * 1024 * 1024
# Deeper than any API answer needs, shallow enough for recursive code to walk.
MAX_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Bounds:
    """How long one request may take in all, how many bytes its answer may have, and how
    many redirects it follows (0: a 3xx is the answer)."""

    timeout: float = DEFAULT_TIMEOUT
    max_body: int = DEFAULT_MAX_BODY
    max_redirects: int = 0

    @classmethod
    def from_target(cls, section: Mapping[str, Any]) -> Bounds:
        """The bounds set by the ``target`` section of the config."""
        return cls(
            timeout=parse_duration(section.get("timeout", DEFAULT_TIMEOUT)),
            max_body=parse_size(section.get("max_body", DEFAULT_MAX_BODY)),
            max_redirects=int(section.get("max_redirects", 0)),
        )

    def with_timeout(self, timeout: float) -> Bounds:
        """These bounds with another deadline (availability.timeout, collect.timeout)."""
        return Bounds(timeout, self.max_body, self.max_redirects)


class BoundExceeded(Exception):
    """An exchange that broke the bounds (time, size, nesting); its message says which."""


class DeadlineExceeded(httpx.TimeoutException, BoundExceeded):
    """The whole answer did not arrive within the request's deadline."""

    def __init__(self, timeout: float, *, request: httpx.Request | None = None) -> None:
        super().__init__(
            f"no complete answer within {format_duration(timeout)} (the deadline of a "
            "request, from connecting to the answer's last byte)",
            request=request,
        )
        self.timeout = timeout


class AnswerTooLarge(httpx.RequestError, BoundExceeded):
    """The answer has more bytes than ``target.max_body``; reading stopped there."""

    def __init__(
        self, limit: int, declared: int | None = None, *, request: httpx.Request | None = None
    ) -> None:
        size = f"its Content-Length is {format_size(declared)}" if declared else "it went on"
        super().__init__(
            f"the answer is larger than target.max_body ({format_size(limit)}): {size}, "
            "so it was not read further",
            request=request,
        )
        self.limit = limit


class BodyTooDeep(ValueError, BoundExceeded):
    """A JSON body nested deeper than the gate walks."""

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        super().__init__(f"body nested deeper than {limit} levels, too deep to check")
        self.limit = limit


# -- the deadline ------------------------------------------------------------------------------

_DEADLINE: ContextVar[float | None] = ContextVar("deploycheck_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Blocking connections opened or used inside end their work ``seconds`` from now (or at
    an enclosing deadline, if sooner); yields that moment on ``time.monotonic``'s clock."""
    end = time.monotonic() + seconds
    current = _DEADLINE.get()
    if current is not None:
        end = min(end, current)
    token = _DEADLINE.set(end)
    try:
        yield end
    finally:
        _DEADLINE.reset(token)


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the deadline; ``error`` once it has passed."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation waits at most until the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # ssl's handshake takes its timeout as a deadline for the whole of it
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A blocking network backend whose connections keep the current :func:`deadline`."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# -- bounded transports ------------------------------------------------------------------------


class _Body:
    """An answer's decoded bytes as they arrive, refused past ``limit`` (or before reading,
    when its Content-Length says it is over)."""

    def __init__(self, response: httpx.Response, limit: int, request: httpx.Request) -> None:
        self.response = response
        self.limit = limit
        self.request = request
        self.parts: list[bytes] = []
        self.size = 0
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise AnswerTooLarge(limit, int(declared), request=request)

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise AnswerTooLarge(self.limit, request=self.request)
        self.parts.append(chunk)

    def answer(self) -> httpx.Response:
        """The response, its body read: decoded already, so without a Content-Encoding that
        would have it decoded twice."""
        raw = self.response.headers.raw
        headers = [(k, v) for k, v in raw if k.lower() != b"content-encoding"]
        return httpx.Response(
            self.response.status_code,
            headers=headers,
            content=b"".join(self.parts),
            extensions=self.response.extensions,
            request=self.request,
        )


class BoundedTransport(httpx.BaseTransport):
    """Sends through ``inner`` within the bounds, and hands on the answer read in full.

    ``inner`` should open its connections through a :class:`DeadlineBackend` (as
    :func:`sync_transport`'s does): a blocking read can only be bounded from inside.
    """

    def __init__(self, inner: httpx.BaseTransport, bounds: Bounds) -> None:
        self._inner = inner
        self.bounds = bounds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            with deadline(self.bounds.timeout):
                response = self._inner.handle_request(request)
                try:
                    body = _Body(response, self.bounds.max_body, request)
                    for chunk in response.iter_bytes():
                        body.add(chunk)
                finally:
                    response.close()
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
            raise DeadlineExceeded(self.bounds.timeout, request=request) from exc
        return body.answer()

    def close(self) -> None:
        self._inner.close()


class AsyncBoundedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`BoundedTransport`: the deadline cancels the request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, bounds: Bounds) -> None:
        self._inner = inner
        self.bounds = bounds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self.bounds.timeout):
                response = await self._inner.handle_async_request(request)
                try:
                    body = _Body(response, self.bounds.max_body, request)
                    async for chunk in response.aiter_bytes():
                        body.add(chunk)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
            raise DeadlineExceeded(self.bounds.timeout, request=request) from exc
        return body.answer()

    async def aclose(self) -> None:
        await self._inner.aclose()


def sync_transport(
    base_url: str | httpx.URL,
    bounds: Bounds,
    *,
    verify: bool | str | ssl.SSLContext = True,
    limits: httpx.Limits | None = None,
) -> BoundedTransport:
    """httpx's blocking transport for ``base_url`` (through the proxy the environment names
    for it, as httpx would choose), its connections bounded by :class:`DeadlineBackend`."""
    proxy = environment_proxy(httpx.URL(base_url))
    inner = httpx.HTTPTransport(verify=verify, limits=limits or httpx.Limits(), proxy=proxy)
    # httpx has no public way to choose the network backend; its pool keeps it here.
    pool: Any = inner._pool
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return BoundedTransport(inner, bounds)


def _client_settings(
    base_url: str, bounds: Bounds, headers: Mapping[str, str] | None
) -> dict[str, Any]:
    """What both clients share: the target, its headers, the deadline and the redirects."""
    return {
        "base_url": base_url,
        "headers": dict(headers or {}),
        "timeout": bounds.timeout,
        "follow_redirects": bounds.max_redirects > 0,
        "max_redirects": bounds.max_redirects,
    }


def bounded_client(
    base_url: str,
    bounds: Bounds,
    *,
    headers: Mapping[str, str] | None = None,
    verify: bool | str = True,
    limits: httpx.Limits | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A blocking client for the target: every request within ``bounds``.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``); the bounds
    still apply to what it answers.
    """
    inner = transport or sync_transport(base_url, bounds, verify=verify, limits=limits)
    if not isinstance(inner, BoundedTransport):
        inner = BoundedTransport(inner, bounds)
    return httpx.Client(transport=inner, **_client_settings(base_url, bounds, headers))


def bounded_async_client(
    base_url: str,
    bounds: Bounds,
    *,
    headers: Mapping[str, str] | None = None,
    verify: bool | str = True,
    limits: httpx.Limits | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An asyncio client for the target (arrival-timed connections, see ``wire``): every
    request within ``bounds``."""
    inner = transport or timed_transport(base_url, verify=verify, limits=limits or httpx.Limits())
    if not isinstance(inner, AsyncBoundedTransport):
        inner = AsyncBoundedTransport(inner, bounds)
    return httpx.AsyncClient(transport=inner, **_client_settings(base_url, bounds, headers))


# -- bodies ------------------------------------------------------------------------------------


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`BodyTooDeep` when ``value`` nests lists and mappings over ``limit`` deep.

    It walks with its own stack, so no depth is too much for it.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            raise BodyTooDeep(limit)
        stack.extend((child, depth + 1) for child in children)


def load_json(data: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """The JSON value in ``data``.

    Raises ValueError when it is not JSON, :class:`BodyTooDeep` (a ValueError too) when it
    nests deeper than ``limit``: recursive code downstream could not walk it.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        # the C parser refuses the nesting cleanly, before Python's stack runs out
        raise BodyTooDeep(limit) from None
    check_depth(value, limit)
    return value


# -- what went wrong ---------------------------------------------------------------------------

_SSL_LINE = re.compile(r"\s*\(_ssl\.c:\d+\)")
_SHORT_BODY = re.compile(r"received (\d+) bytes, expected (\d+)")
_H11_LINE = re.compile(r"illegal status line: bytearray\(b['\"](.*)['\"]\)")
_INCOMPLETE = re.compile(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it: chained exceptions, wrapped ones (requests keeps urllib3's
    in ``args``, urllib3 keeps the socket's as ``reason``), outermost first."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 50:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(
            (
                *current.args,
                getattr(current, "reason", None),
                current.__cause__,
                current.__context__,
            )
        )


def describe_error(exc: BaseException) -> str:
    """What happened to a request, in a few words: a refused connection, a reset, an invalid
    status line, a TLS error, a body cut short, a timeout, an answer over the bounds.

    The exceptions in the chain are looked at by type first, then by their text (wrappers
    such as requests' keep the cause's words in their own message).
    """
    causes = list(_causes(exc))
    for describe in (_by_type, _by_text):
        for cause in causes:
            described = describe(cause)
            if described is not None:
                return described
    return f"{type(exc).__name__}: {exc}"


def _by_type(cause: BaseException) -> str | None:
    name = type(cause).__name__
    if isinstance(cause, BoundExceeded):
        return str(cause)
    if name == "TooManyRedirects":
        return (
            f"a redirect loop: {_redirect_target(cause)} redirected more often than "
            "target.max_redirects allows"
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS error: the certificate did not verify: {cause.verify_message}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {_SSL_LINE.sub('', cause.strerror or str(cause))}"
    if isinstance(cause, socket.gaierror):
        return "could not connect: the host name does not resolve"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused: nothing listens at the target's address"
    if isinstance(cause, ConnectionResetError):
        return "the server reset the connection"
    if name == "BadStatusLine":
        return f"the server answered an invalid status line: {_short(cause.args[0])}"
    if name == "RemoteDisconnected":
        return "the server closed the connection without answering"
    return None


def _by_text(cause: BaseException) -> str | None:
    text = str(cause)
    lowered = text.lower()
    if "[ssl" in lowered:
        return f"TLS error: {_SSL_LINE.sub('', text)}"
    if "name or service not known" in lowered:
        return "could not connect: the host name does not resolve"
    if "connection refused" in lowered:
        return "connection refused: nothing listens at the target's address"
    if "connection reset" in lowered:
        return "the server reset the connection"
    h11 = _H11_LINE.search(text)
    if h11 is not None:
        return f"the server answered an invalid status line: {_short(h11.group(1))}"
    short = _SHORT_BODY.search(text) or _INCOMPLETE.search(text)
    if short is not None:
        received, expected = int(short.group(1)), int(short.group(2))
        if _INCOMPLETE.search(text):
            expected += received  # urllib3 counts the bytes still expected
        return (
            f"the server closed the connection after {received} of the {expected} bytes its "
            "Content-Length declared"
        )
    if "without sending a response" in lowered:
        return "the server closed the connection without answering"
    if isinstance(cause, httpx.ConnectTimeout) or type(cause).__name__ == "ConnectTimeout":
        return "could not connect in time (target.timeout)"
    if isinstance(cause, httpx.TimeoutException | TimeoutError) or "timed out" in lowered:
        return "no complete answer in time (target.timeout)"
    if isinstance(cause, httpx.ConnectError):
        return f"could not connect: {text or type(cause).__name__}"
    return None


def _redirect_target(cause: BaseException) -> str:
    try:
        request = getattr(cause, "request", None)
    except RuntimeError:  # httpx's exceptions raise when they carry no request
        request = None
    url = getattr(request, "url", None)
    return str(url) if url else "the request"


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("latin-1")
    text = repr(str(value).strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."

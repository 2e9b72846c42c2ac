"""The requests sessions schemathesis sends through, within the target's bounds.

schemathesis sends with ``requests``, whose timeouts bound each read of the socket. Here a
:class:`BoundedAdapter`, mounted on every session the engine builds for one of our runs,
gives each request a whole deadline: the sockets it uses are shut down when the deadline
passes (a blocking read can only be ended from another thread), or at once when the run
stops (``contract.max_time``). It reads the answer before handing it on, at most
``target.max_body`` bytes, and refuses a JSON body nested deeper than ``core.bounds``'s
limit, which schemathesis's validation could not walk. Each refusal is a
``requests.RequestException``, so the engine reports it as the request's error.

The engine builds its sessions in ``schemathesis.engine.context.make_session``; :func:`bounded`
wraps it once (it then acts only for the configs registered there), since the engine offers
no other way to reach its sessions.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pytest_deploycheck.core.bounds import MAX_DEPTH, BodyTooDeep, BoundExceeded, Bounds, load_json
from pytest_deploycheck.core.units import format_duration, format_size

__all__ = [
    "AnswerTooDeep",
    "AnswerTooLargeError",
    "BoundedAdapter",
    "DeadlinePassed",
    "EngineRun",
    "bounded",
]

_CHUNK = 64 * 1024


class DeadlinePassed(requests.exceptions.Timeout, BoundExceeded):
    """The whole answer did not arrive within the request's deadline (or the run stopped)."""


class AnswerTooLargeError(requests.exceptions.RequestException, BoundExceeded):
    """The answer has more bytes than ``target.max_body``."""


class AnswerTooDeep(requests.exceptions.RequestException, BoundExceeded):
    """A JSON answer nested too deep to check."""


class _Watch:
    """The sockets one request uses, shut down when its deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even under TLS: the blocked read returns at once.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_CURRENT = threading.local()  # the watch of the request this thread is sending


def _watch_socket(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_CURRENT, "watch", None)
    if watch is not None and sock is not None:
        watch.attach(sock)


class _Watched(HTTPConnection):
    """A connection whose socket the sending thread's watch can shut down."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)  # a kept-alive connection, reused
        super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class EngineRun:
    """One engine run: its bounds, the requests in flight, whether it was stopped."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.stopped = False
        self.watches: set[_Watch] = set()
        self.lock = threading.Lock()

    def stop(self) -> None:
        """End the requests in flight now; refuse the next ones."""
        with self.lock:
            self.stopped = True
            watches = list(self.watches)
        for watch in watches:
            watch.fire()


class BoundedAdapter(HTTPAdapter):
    """requests' adapter, each request within the run's bounds and read in full."""

    def __init__(self, run: EngineRun) -> None:
        self._run = run
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        run = self._run
        seconds = run.bounds.timeout
        watch = _Watch(seconds)
        with run.lock:
            if run.stopped:
                raise DeadlinePassed("the run was stopped (contract.max_time)", request=request)
            run.watches.add(watch)
        previous = getattr(_CURRENT, "watch", None)
        _CURRENT.watch = watch
        watch.start()
        try:
            response = super().send(request, stream=True, **kwargs)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # an event stream never ends: schemathesis reads it up to its own limits
                self._read(response, request)
            return response
        except requests.RequestException as exc:
            if watch.fired:
                raise self._late(request) from exc
            raise
        except OSError as exc:  # a socket shut down under a read outside requests' wrapping
            if watch.fired:
                raise self._late(request) from exc
            raise requests.exceptions.ConnectionError(exc, request=request) from exc
        finally:
            _CURRENT.watch = previous
            watch.cancel()
            with run.lock:
                run.watches.discard(watch)

    def _late(self, request: requests.PreparedRequest) -> DeadlinePassed:
        if self._run.stopped:
            message = "the run was stopped (contract.max_time) before the answer came"
        else:
            message = (
                f"no complete answer within {format_duration(self._run.bounds.timeout)} (the "
                "deadline of a request, from connecting to the answer's last byte)"
            )
        return DeadlinePassed(message, request=request)

    def _read(self, response: requests.Response, request: requests.PreparedRequest) -> None:
        limit = self._run.bounds.max_body
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            response.close()
            raise AnswerTooLargeError(
                f"the answer is larger than target.max_body ({format_size(limit)}): its "
                f"Content-Length is {format_size(int(declared))}, so it was not read",
                request=request,
                response=response,
            )
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()
                raise AnswerTooLargeError(
                    f"the answer is larger than target.max_body ({format_size(limit)}), so "
                    "it was not read further",
                    request=request,
                    response=response,
                )
            parts.append(chunk)
        content = b"".join(parts)
        _refuse_deep(content, request, response)
        response._content = content


def _refuse_deep(
    content: bytes, request: requests.PreparedRequest, response: requests.Response
) -> None:
    # Only a body with more brackets than the limit can nest past it: most skip the parse.
    if content.count(b"[") + content.count(b"{") <= MAX_DEPTH:
        return
    try:
        load_json(content)
    except BodyTooDeep as exc:
        raise AnswerTooDeep(str(exc), request=request, response=response) from None
    except ValueError:
        return  # not JSON: schemathesis judges its content type


_RUNS: dict[int, EngineRun] = {}
_INSTALL = threading.Lock()


def _install() -> None:
    """Wrap the engine's session factory once, so its sessions get a bounded adapter."""
    from schemathesis.engine import context

    with _INSTALL:
        original = context.make_session
        if getattr(original, "deploycheck_bounded", False):
            return

        def make_session(config: Any, *, operation: Any = None) -> requests.Session:
            session = original(config, operation=operation)
            run = _RUNS.get(id(config))
            if run is not None:
                adapter = BoundedAdapter(run)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
            return session

        make_session.deploycheck_bounded = True  # type: ignore[attr-defined]
        context.make_session = make_session


@contextlib.contextmanager
def bounded(config: Any, bounds: Bounds) -> Iterator[EngineRun]:
    """While inside, the sessions the engine builds for ``config`` (a schema's config) are
    bounded; yields the run, whose ``stop()`` ends its requests in flight."""
    _install()
    run = EngineRun(bounds)
    _RUNS[id(config)] = run
    try:
        yield run
    finally:
        run.stop()
        _RUNS.pop(id(config), None)

"""Test doubles shared by the tests of time-driven code (collect, monitor, latencies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds and wall-clock time that only move when someone sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t)


class TracingTransport(httpx.AsyncBaseTransport):
    """Answers 200, reporting httpcore's trace events on ``clock``: ``before`` seconds pass
    ahead of the wire (opening or waiting for a connection), ``wire`` on it, ``after`` behind
    it (the client's own bookkeeping)."""

    def __init__(self, clock: FakeClock, *, before: float, wire: float, after: float) -> None:
        self.clock = clock
        self.before, self.wire, self.after = before, wire, after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        self.clock.t += self.before
        await trace("http11.send_request_headers.started", {"request": request})
        self.clock.t += self.wire
        await trace("http11.receive_response_body.complete", {"request": request})
        self.clock.t += self.after
        return httpx.Response(200)

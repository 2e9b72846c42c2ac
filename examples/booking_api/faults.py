"""Fault switches: deliberate misbehaviour, so the deployment gate can be tested against it.

Switches come from two places: ``BOOKING_FAULTS`` (comma-separated, fixed at start-up) and the
file named by ``BOOKING_FAULTS_FILE`` (same syntax, commas or newlines), which is read again on
every request so a test can break a running service and heal it without restarting it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["FAULTS", "FaultError", "FaultMiddleware", "FaultSwitches", "parse_faults"]

logger = logging.getLogger(__name__)

FAULTS: Mapping[str, str] = {
    "server_error": "GET /providers answers 500",
    "slow": "GET /providers/{provider_id}/slots sleeps BOOKING_SLOW_MS (default 1500 ms) first",
    "bad_body": "GET /appointments/{appointment_id} answers a body that breaks its schema",
    "accept_invalid": "POST /appointments answers 201 to an invalid body (and stores nothing)",
    "lose_created": "GET /appointments/{appointment_id} answers 404, even for what was created",
    "drift": "GET /openapi.json serves the spec without POST /appointments/{appointment_id}/cancel",
    "unhealthy": "GET /health answers 503",
    "flaky": "a seeded 30% of requests (all but GET /health) answer 500",
    "jitter": "every answer waits a seeded random 0-400 ms first",
    "degrade": "GET /providers/{provider_id} gets 10 ms slower with each request it serves",
}

# The share of requests the flaky switch fails, the jitter's ceiling and the degradation's
# step: large enough that one phase2+phase3 run of the gate sees each of them.
FLAKY_SHARE = 0.30
JITTER_MAX_S = 0.400
DEGRADE_STEP_S = 0.010
DEGRADED_PATH = re.compile(r"^/providers/[^/]+$")


class FaultError(ValueError):
    """A fault switch setting names an unknown switch."""


def parse_faults(text: str, source: str) -> frozenset[str]:
    """The switch names in ``text`` (commas or newlines); FaultError on unknown ones."""
    names = [name.strip() for line in text.splitlines() for name in line.split(",")]
    names = [name for name in names if name and not name.startswith("#")]
    unknown = sorted({name for name in names if name not in FAULTS})
    if unknown:
        raise FaultError(
            f"{source}: unknown fault switch {', '.join(map(repr, unknown))};"
            f" known switches: {', '.join(FAULTS)}"
        )
    return frozenset(names)


class FaultSwitches:
    """The switches in force: fixed ones from the environment plus the current file content."""

    def __init__(self, fixed: frozenset[str] = frozenset(), file: Path | None = None) -> None:
        self.fixed = fixed
        self.file = file
        self._lock = threading.Lock()
        self._last_text = ""
        self._last_names: frozenset[str] = frozenset()
        if file is not None:
            # Reject a bad file at start-up; later mistakes are logged, never fatal.
            parse_faults(self._read(), f"BOOKING_FAULTS_FILE {str(file)!r}")

    def _read(self) -> str:
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except OSError as exc:
            logger.warning("cannot read fault file %s: %s", self.file, exc.strerror)
            return self._last_text

    def active(self) -> frozenset[str]:
        """The switches on right now; the file is re-read on every call (it is tiny)."""
        if self.file is None:
            return self.fixed
        text = self._read()
        with self._lock:
            if text != self._last_text:
                self._last_text = text
                self._last_names = self._parse_leniently(text)
            return self.fixed | self._last_names

    def _parse_leniently(self, text: str) -> frozenset[str]:
        try:
            return parse_faults(text, f"BOOKING_FAULTS_FILE {str(self.file)!r}")
        except FaultError as exc:
            # A running service keeps serving; the known names still apply.
            logger.warning("%s (ignored)", exc)
            names = {name.strip() for line in text.splitlines() for name in line.split(",")}
            return frozenset(names & FAULTS.keys())


class FaultMiddleware:
    """The switches that act on every request (``flaky``, ``jitter``, ``degrade``), as ASGI
    middleware around the app. Their randomness comes from one seeded generator, so a run
    is repeatable (``BOOKING_FAULT_SEED``)."""

    def __init__(
        self,
        app: Any,
        switches: FaultSwitches,
        seed: int = 7,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.switches = switches
        self.random = random.Random(seed)
        self.sleep = sleep
        self.degraded_requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        active = self.switches.active()
        path = scope.get("path", "")
        if "jitter" in active:
            await asyncio.to_thread(self.sleep, self.random.uniform(0.0, JITTER_MAX_S))
        if "degrade" in active and scope["method"] == "GET" and DEGRADED_PATH.match(path):
            self.degraded_requests += 1
            await asyncio.to_thread(self.sleep, self.degraded_requests * DEGRADE_STEP_S)
        if "flaky" in active and path != "/health" and self.random.random() < FLAKY_SHARE:
            await _problem(send, 500, "the flaky fault switch failed this request")
            return
        await self.app(scope, receive, send)


async def _problem(send: Any, status: int, detail: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": status,
            "detail": detail,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

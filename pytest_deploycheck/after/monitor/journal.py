"""The monitor's writes to the history store, kept in order while the store is away.

A monitor must go on probing and alerting when its history store goes down (a PostgreSQL
server restarted mid-run). Every write goes through the :class:`Journal`: it is tried at
once; when the store fails, that write and every later one wait in memory, in order, and are
tried again at the next round (:meth:`Journal.flush`), or with the next write once
``retry_every`` has passed. The outage and the recovery are each told once. Writes are
replayed whole, so each one must be safe to repeat after a failure (the store's writes are
single transactions).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score.history import HistoryStore

__all__ = ["MAX_BACKLOG", "Journal", "Write"]

Write = Callable[[HistoryStore], object]
"""One write: a call of the store, raising HistoryError when the store cannot take it."""

MAX_BACKLOG = 10_000  # writes kept during an outage; past it the oldest are dropped


class Journal:
    """Writes to ``store`` in order; ``note`` tells the outage and the recovery (once each).

    Thread-safe: channel threads write their deliveries through it too.
    """

    def __init__(
        self,
        store: HistoryStore,
        *,
        note: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        retry_every: float = 5.0,
    ) -> None:
        self.store = store
        self._note = note
        self._clock = clock
        self._retry_every = retry_every
        self._backlog: deque[Write] = deque()
        self._lock = threading.Lock()
        self._down = False
        self._next_try = 0.0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """How many writes wait for the store."""
        with self._lock:
            return len(self._backlog)

    def write(self, action: Write) -> None:
        """Write now, or keep ``action`` for later when the store is away."""
        with self._lock:
            if len(self._backlog) >= MAX_BACKLOG:
                self._backlog.popleft()
                self.dropped += 1
            self._backlog.append(action)
            if not self._down or self._clock() >= self._next_try:
                self._drain()

    def flush(self) -> int:
        """Try every waiting write; return how many still wait."""
        with self._lock:
            self._drain()
            return len(self._backlog)

    def _drain(self) -> None:
        saved = 0
        while self._backlog:
            try:
                self._backlog[0](self.store)
            except HistoryError as error:
                self._next_try = self._clock() + self._retry_every
                if not self._down:
                    self._down = True
                    self._note(
                        f"{error}; the monitor goes on probing and alerting, and keeps its "
                        "writes to save them once it answers again"
                    )
                return
            self._backlog.popleft()
            saved += 1
        if self._down:
            self._down = False
            self._note(f"the history store is back: {saved} kept write(s) saved")

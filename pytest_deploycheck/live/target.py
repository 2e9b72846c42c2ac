"""The service under test: a base URL, or a local process started for the run.

With no base URL, ``LocalService`` starts ``target.local.command`` on a free port, waits
until the readiness path answers, and stops the whole process group at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from pytest_deploycheck.core.bounds import Bounds, bounded_client, describe_error
from pytest_deploycheck.core.config import substitute
from pytest_deploycheck.core.errors import TargetError
from pytest_deploycheck.core.units import format_duration

__all__ = ["LocalService", "free_port"]

_OUTPUT_TAIL_LINES = 40


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalService:
    """A service process started from an argv list, reachable on ``base_url``."""

    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/health"
    ready_timeout: float = 30.0
    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _output: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def argv(self) -> list[str]:
        values = {"port": str(self.port), "host": self.host, "python": sys.executable}
        return substitute(self.command, values)

    def start(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> str:
        """Start the process and wait until it is ready; return its base URL."""
        if not self.port:
            self.port = free_port(self.host)
        values = {"port": str(self.port), "host": self.host, "python": sys.executable}
        own = dict(zip(self.env, substitute(list(self.env.values()), values), strict=True))
        env = {**os.environ, **own, "PORT": str(self.port), "HOST": self.host}
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        try:
            self._process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                # its own process group, so stop() also ends what the command spawned
                start_new_session=True,
            )
        except OSError as exc:
            raise TargetError(
                f"cannot start the local service {self.argv[0]!r}: {exc.strerror}; "
                "fix target.local.command in the config or pass --deploycheck-base-url"
            ) from None
        try:
            self._wait_until_ready(clock, sleep)
        except BaseException:
            # Ctrl-C while waiting too: the process is in its own session, so nothing else
            # would stop it
            self.stop()
            raise
        return self.base_url

    def _wait_until_ready(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        assert self._process is not None
        url = self.base_url + self.ready_path
        deadline = clock() + self.ready_timeout
        last_problem = "no answer yet"
        # each poll ends within 2s whole, so a service that answers a byte at a time cannot
        # stretch the wait past ready_timeout
        with bounded_client(self.base_url, Bounds(timeout=2.0)) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    tail = self._tail("its output")
                    self.stop()
                    raise TargetError(
                        f"the local service exited with code {code} before it was ready; "
                        "fix target.local.command or pass --deploycheck-base-url.\n"
                        f"command: {' '.join(self.argv)}\n{tail}"
                    )
                try:
                    response = client.get(url)
                except httpx.HTTPError as exc:
                    last_problem = describe_error(exc)
                else:
                    # a 404 is a wrong ready_path, not a ready service
                    if response.status_code < 400:
                        return
                    last_problem = f"HTTP {response.status_code}"
                if clock() >= deadline:
                    tail = self._tail("its output")
                    self.stop()
                    raise TargetError(
                        f"the local service did not answer {url} within "
                        f"{format_duration(self.ready_timeout)} (last: {last_problem}); "
                        "raise target.local.ready_timeout or fix target.local.ready_path.\n"
                        f"command: {' '.join(self.argv)}\n{tail}"
                    )
                sleep(0.05)

    def output(self) -> str:
        """Everything the process printed so far."""
        if self._output is None:
            return ""
        self._output.flush()
        self._output.seek(0)
        return self._output.read().decode("utf-8", errors="replace")

    def _tail(self, title: str) -> str:
        lines = self.output().splitlines()[-_OUTPUT_TAIL_LINES:]
        body = "\n".join(f"  | {line}" for line in lines) if lines else "  | (nothing)"
        return f"{title} (last {_OUTPUT_TAIL_LINES} lines):\n{body}"

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the process group; kill it if it does not stop within ``grace``."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> LocalService:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""Real HTTP servers on 127.0.0.1 for the tests of the live check families.

``serve_app`` runs an ASGI app under uvicorn in a thread, on a socket bound before the server
starts (so no other process can take the port in between), optionally with TLS.
``serve_process`` starts a service in its own process, such as the reference booking API,
and waits until its readiness path answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

__all__ = ["REPO_ROOT", "free_port", "serve_app", "serve_booking_api", "serve_process"]

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_app(
    app: Any,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    timeout: float = 10.0,
) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 and yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = int(sock.getsockname()[1])
    ssl_options: dict[str, Any] = {}
    if certfile is not None:
        ssl_options = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
    config = uvicorn.Config(
        app, host=HOST, port=port, log_level="critical", lifespan="off", **ssl_options
    )
    # uvicorn leaves signal handlers alone when it does not run in the main thread.
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.01)
    scheme = "https" if certfile is not None else "http"
    try:
        yield f"{scheme}://{HOST}:{port}"
    finally:
        server.should_exit = True
        # Requests still sleeping in a handler must not hold the test up for long.
        server.force_exit = True
        thread.join(timeout=5)
        sock.close()


@contextlib.contextmanager
def serve_process(
    argv: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/health",
    timeout: float = 30.0,
    cwd: Path = REPO_ROOT,
) -> Iterator[str]:
    """Run ``argv`` (which must listen on ``port``) and yield its base URL once it is ready."""
    base_url = f"http://{HOST}:{port}"
    # A file, not a pipe: a chatty service must never block on a full pipe buffer.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(process, output, base_url + ready_path, timeout)
            yield base_url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_ready(
    process: subprocess.Popen[bytes], output: IO[bytes], url: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise RuntimeError(f"the service exited with {process.returncode}:\n{text[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            # Any answer means the server is up; an unhealthy one is for the test to judge.
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def serve_booking_api(faults: Sequence[str] = (), **env: str) -> Iterator[str]:
    """Run the reference booking service with ``faults`` switched on; yield its base URL.

    ``env`` sets more of its variables, such as ``BOOKING_SLOW_MS="600"``; its database is
    in memory, so every service starts from the same seeded data.
    """
    port = free_port()
    variables = {"BOOKING_FAULTS": ",".join(faults), "BOOKING_DATABASE": ":memory:", **env}
    argv = [sys.executable, "-m", "examples.booking_api", "--host", HOST, "--port", str(port)]
    argv += ["--log-level", "critical"]
    with serve_process(argv, port=port, env=variables) as base_url:
        yield base_url

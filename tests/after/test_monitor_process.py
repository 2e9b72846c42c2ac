"""``deploycheck monitor`` as a real process, against a local target and a local webhook:

- killed (SIGKILL) while its channel is down, then started again with the channel up: every
  alert arrives once;
- its PostgreSQL history store stopped mid-run (a cluster of this test's own, so the
  session's server stays up for the other tests) and started again: the monitor goes on
  probing and alerting, says so once, saves what waited, and exits with the highest level.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.score.history import HistoryStore
from tests.live_server import REPO_ROOT

DEPLOYCHECK = Path(sys.executable).with_name("deploycheck")
POSTGRES = REPO_ROOT / ".ci" / "postgres.sh"
ALERTS = [
    "ALERT LEVEL 1: health failed once",
    "ALERT LEVEL 2: health failed twice",
    "ALERT LEVEL 3: health failed 3 times",
]
HEALTH_KEY = "orders/e2e:health"


class Server:
    """A local HTTP server on a port reserved at once: until :meth:`start`, connections to
    it are refused (a channel that is down)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.healthy = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the target's health
                body = json.dumps({"status": "ok" if server.healthy else "down"}).encode()
                self.send_response(200 if server.healthy else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # the webhook
                length = int(self.headers["Content-Length"])
                server.received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.httpd.server_bind()  # bound, not listening: the port is ours, connections fail
        self.port = int(self.httpd.server_address[1])
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.httpd.server_activate()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def titles(self) -> list[str]:
        return [str(entry["title"]) for entry in self.received]

    def close(self) -> None:
        if self.thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target() -> Iterator[Server]:
    server = Server()
    server.start()
    yield server
    server.close()


@pytest.fixture
def hook() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


class MonitorProcess:
    """``deploycheck monitor`` running, its output read line by line as it comes."""

    def __init__(self, config: Path, *options: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [str(DEPLOYCHECK), "monitor", "--config", str(config), "--deploy-id", "d-1", *options],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 60.0, *, since: int = 0) -> None:
        """Read until a line containing ``text`` (from line ``since`` on); fail with the
        output so far if none comes."""
        deadline = time.monotonic() + timeout
        if any(text in line for line in self.lines[since:]):
            return
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return
        self.stop(signal.SIGKILL)
        pytest.fail(f"no line with {text!r} from the monitor:\n" + "\n".join(self.lines))

    def stop(self, how: signal.Signals | None = signal.SIGINT, timeout: float = 60.0) -> int:
        """Send ``how`` (None: none, let it end by itself) and return the exit status."""
        if how is not None and self.process.poll() is None:
            self.process.send_signal(how)
        code = self.process.wait(timeout)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


def write_config(root: Path, target: Server, hook: Server, history: str) -> Path:
    config = {
        "service": {"name": "orders", "environment": "e2e"},
        "spec": str(REPO_ROOT / "specs" / "booking.openapi.yaml"),
        "target": {"base_url": f"http://127.0.0.1:{target.port}", "timeout": "5s"},
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        "history": {"url": history},
        "monitor": {"probes": ["health"], "timeout": "5s", "remind_every": "1h"},
        "notify": {"channels": [{"url": f"json://127.0.0.1:{hook.port}/hook", "name": "hook"}]},
    }
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_a_monitor_killed_while_its_channel_is_down_sends_every_alert_once_after_a_restart(
    tmp_path: Path, target: Server, hook: Server
) -> None:
    history = f"sqlite:///{tmp_path / 'history.db'}"
    config = write_config(tmp_path, target, hook, history)
    target.healthy = False

    first = MonitorProcess(config, "--interval", "100ms", "--duration", "60s")
    first.wait_for(ALERTS[2])
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL  # mid-retry: nothing was delivered
    assert hook.received == []

    hook.start()
    second = MonitorProcess(config, "--interval", "100ms", "--duration", "300ms")
    assert second.stop(None) == 3, "\n".join(second.lines)
    assert hook.titles == ALERTS
    assert second.count("resending 3 notification(s) an earlier monitor could not deliver") == 1
    with HistoryStore.open(history) as store:
        assert store.pending_notifications() == []
        sent = [e.level for e in store.alert_events(HEALTH_KEY) if e.kind == "sent"]
    assert sorted(sent) == [1, 2, 3]


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL cluster of this test's own (it will be stopped): its URL and folder."""
    # Not pytest's tmp_path: its parents are private to root, and the server runs as the
    # postgres user when the tests run as root.
    folder = tempfile.mkdtemp(prefix="deploycheck-pg-outage-")
    try:
        url = postgres("start", folder)
        yield url, folder
    finally:
        postgres("stop", folder)
        shutil.rmtree(folder, ignore_errors=True)


def postgres(action: str, folder: str) -> str:
    done = subprocess.run(
        ["bash", str(POSTGRES), action, folder],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{POSTGRES.name} {action} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_a_history_store_outage_stops_no_probe_and_no_alert(
    tmp_path: Path, target: Server, hook: Server, own_postgres: tuple[str, str]
) -> None:
    url, folder = own_postgres
    config = write_config(tmp_path, target, hook, url)
    hook.start()

    monitor = MonitorProcess(config, "--interval", "200ms", "--duration", "120s", "-v")
    monitor.wait_for("round 1/")  # started: the store was read, the target answers
    postgres("stop", folder)
    target.healthy = False  # the alerts come while the store is away
    monitor.wait_for(ALERTS[2])
    monitor.wait_for("the monitor goes on probing and alerting")
    assert postgres("start", folder) == url  # the same server, back on its port
    monitor.wait_for("the history store is back")
    # a Ctrl-C while a line is being printed may have rich print it twice: wait for the
    # next round's line, then interrupt the monitor while it waits for the one after
    monitor.wait_for("probes ok", since=len(monitor.lines))
    code = monitor.stop(signal.SIGINT)

    output = "\n".join(monitor.lines)
    assert code == 3, output
    assert monitor.count("the monitor goes on probing and alerting") == 1, output
    assert monitor.count("the history store is back") == 1, output
    assert "Traceback" not in output
    assert hook.titles == ALERTS
    with HistoryStore.open(url) as store:
        state = store.alert_state(HEALTH_KEY)
        events = [(e.kind, e.level) for e in store.alert_events(HEALTH_KEY)]
        assert store.pending_notifications() == []
    assert state is not None
    assert (state.level, state.last_sent_level) == (3, 3)
    assert [e for e in events if e[0] != "sent"] == [
        ("opened", 1),
        ("escalated", 2),
        ("escalated", 3),
    ]
    assert sorted(e for e in events if e[0] == "sent") == [("sent", 1), ("sent", 2), ("sent", 3)]

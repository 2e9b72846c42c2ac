"""After the deploy, end to end: the real booking service broken while it is monitored.

The reference service reads its fault switches from a file on every request, so writing
``unhealthy`` into it breaks the running service and emptying it heals it. A tiny local HTTP
server stands in for a webhook channel (``json://127.0.0.1:PORT/hook``) and records what the
monitor sent; a small Python script is the rollback command: it heals the service and notes
that it ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.after.alerts import Notification, NotificationKind
from pytest_deploycheck.after.collect import run_collect
from pytest_deploycheck.after.monitor import MonitorResult, ProbeOutcome, run_monitor
from pytest_deploycheck.after.notify import Delivery
from pytest_deploycheck.after.rollback import RollbackOutcome, run_rollback
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.score.history import HistoryStore
from tests.live_server import REPO_ROOT, serve_booking_api

HEAL = """
import pathlib, sys
faults, marker = (pathlib.Path(arg) for arg in sys.argv[1:3])
faults.write_text("", encoding="utf-8")
with marker.open("a", encoding="utf-8") as log:
    log.write("ran\\n")
print("rolled back to the previous release")
"""


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "faults.txt"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def service(faults: Path) -> Iterator[str]:
    with serve_booking_api(BOOKING_FAULTS_FILE=str(faults)) as base_url:
        yield base_url


@pytest.fixture
def healthy(faults: Path) -> Iterator[Path]:
    faults.write_text("", encoding="utf-8")
    yield faults
    faults.write_text("", encoding="utf-8")


class Webhook:
    """A local JSON webhook that keeps every notification it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def titles(self) -> list[str]:
        return [str(entry["title"]) for entry in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


class Reporter:
    """Acts on the running monitor between rounds: breaks the service, stops the monitor."""

    def __init__(
        self,
        faults: Path,
        *,
        break_after_round: int | None = None,
        stop_at_level: int | None = None,
    ) -> None:
        self.faults = faults
        self.break_after_round = break_after_round
        self.stop_at_level = stop_at_level
        self.resolved = False
        self.notifications: list[Notification] = []
        self.rollbacks: list[RollbackOutcome] = []
        self.rollback_texts: list[str] = []

    def started(self, settings: Any, channels: Sequence[str], open_alerts: Sequence[Any]) -> None:
        return None

    def waiting(self, number: int, total: int, remaining: float) -> None:
        return None

    def round_finished(
        self, number: int, total: int, outcomes: Sequence[ProbeOutcome], levels: Mapping[str, int]
    ) -> None:
        if number == self.break_after_round:
            self.faults.write_text("unhealthy\n", encoding="utf-8")
        if self.resolved:
            raise KeyboardInterrupt  # done: the story is complete, stop as Ctrl-C would

    def notification(self, notification: Notification, channels: Sequence[str]) -> None:
        self.notifications.append(notification)
        if notification.kind is NotificationKind.RESOLVED:
            self.resolved = True
        if notification.kind is NotificationKind.ALERT and notification.level == self.stop_at_level:
            raise KeyboardInterrupt

    def delivery(self, delivery: Delivery) -> None:
        return None

    def rollback(self, outcome: RollbackOutcome, description: str) -> None:
        self.rollbacks.append(outcome)
        self.rollback_texts.append(description)

    def note(self, text: str) -> None:
        return None


def write_config(
    root: Path, base_url: str, faults: Path, *, webhook: str | None = None, auto: bool = True
) -> Path:
    heal = root / "heal.py"
    heal.write_text(textwrap.dedent(HEAL), encoding="utf-8")
    config: dict[str, Any] = {
        "service": {"name": "booking-api", "environment": "e2e"},
        "spec": str(REPO_ROOT / "specs" / "booking.openapi.yaml"),
        "target": {"base_url": base_url, "timeout": "5s"},
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        "monitor": {
            "interval": "50ms",
            "duration": "30s",  # an upper bound: each test stops its monitor itself
            "probes": ["health", "GET /providers"],
            "resolve_after": 2,
            "timeout": "5s",
        },
        "rollback": {
            "command": [sys.executable, str(heal), str(faults), str(root / "rollbacks.log")],
            "timeout": "30s",
            "auto": auto,
        },
    }
    if webhook is not None:
        config["notify"] = {"channels": [{"url": webhook, "name": "hook"}], "retries": 1}
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def session_for(path: Path, base_url: str) -> DeployCheckSession:
    return DeployCheckSession(path, base_url, deploy_id="e2e-1", environ=dict(os.environ))


@contextlib.contextmanager
def history(root: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(f"sqlite:///{root / 'history.db'}") as store:
        yield store


def test_breaking_the_monitored_service_escalates_rolls_back_and_resolves(
    tmp_path: Path, service: str, healthy: Path, webhook: Webhook
) -> None:
    config = write_config(tmp_path, service, healthy, webhook=webhook.url)
    reporter = Reporter(healthy, break_after_round=1)
    with history(tmp_path) as store:
        result: MonitorResult = run_monitor(session_for(config, service), store, reporter=reporter)
        rollbacks = store.rollbacks()
        state = store.alert_state("booking-api/e2e:health")
        provider_state = store.alert_state("booking-api/e2e:GET /providers")

    assert webhook.titles == [
        "ALERT LEVEL 1: health failed once",
        "ALERT LEVEL 2: health failed twice",
        "ALERT LEVEL 3: health failed 3 times",
        "AUTOMATIC ROLLBACK succeeded after a critical alert on health",
        "RESOLVED: health is answering again",
    ]
    assert [entry["type"] for entry in webhook.received] == [
        "warning",
        "warning",
        "failure",
        "info",
        "success",
    ]
    assert "GET /health answered 503" in webhook.received[0]["message"]
    assert "Monitoring for additional failures..." in webhook.received[0]["message"]
    assert "health check after the rollback: ok (200" in webhook.received[3]["message"]
    assert (tmp_path / "rollbacks.log").read_text() == "ran\n"  # once, not once per round
    [outcome] = reporter.rollbacks
    assert outcome.outcome == "succeeded"
    [record] = rollbacks
    assert (record.exit_code, record.outcome, record.deploy_id) == (0, "succeeded", "e2e-1")
    assert "rolled back to the previous release" in record.output
    assert result.exit_code == 3
    assert state is not None
    assert (state.level, state.last_sent_level) == (0, 0)
    assert provider_state is None  # GET /providers answered all along: nothing stored


def test_a_monitor_restarted_mid_escalation_continues_and_sends_nothing_twice(
    tmp_path: Path, service: str, healthy: Path, webhook: Webhook
) -> None:
    config = write_config(tmp_path, service, healthy, webhook=webhook.url)
    healthy.write_text("unhealthy\n", encoding="utf-8")
    with history(tmp_path) as store:
        first = run_monitor(
            session_for(config, service), store, reporter=Reporter(healthy, stop_at_level=2)
        )
        stored = store.alert_state("booking-api/e2e:health")
        assert webhook.titles == [
            "ALERT LEVEL 1: health failed once",
            "ALERT LEVEL 2: health failed twice",
        ]
        assert stored is not None
        assert (stored.level, stored.last_sent_level) == (2, 2)
        assert (first.interrupted, first.exit_code) == (True, 2)

        second = run_monitor(session_for(config, service), store, reporter=Reporter(healthy))

    assert webhook.titles == [
        "ALERT LEVEL 1: health failed once",
        "ALERT LEVEL 2: health failed twice",
        "ALERT LEVEL 3: health failed 3 times",
        "AUTOMATIC ROLLBACK succeeded after a critical alert on health",
        "RESOLVED: health is answering again",
    ]
    assert [(n.kind.value, n.level) for n in second.notifications] == [
        ("alert", 3),
        ("rollback", 3),
        ("resolved", 3),
    ]
    assert second.exit_code == 3


def test_collect_measures_the_real_service_in_rounds(
    tmp_path: Path, service: str, healthy: Path
) -> None:
    config = write_config(tmp_path, service, healthy)
    raw = json.loads(config.read_text())
    raw["collect"] = {
        "rounds": ["0s", "200ms"],
        "samples": 3,
        "include": ["GET /providers", "GET /providers/{provider_id}"],
    }
    config.write_text(json.dumps(raw), encoding="utf-8")
    healthy.write_text("server_error\n", encoding="utf-8")  # GET /providers answers 500
    with history(tmp_path) as store:
        result = run_collect(session_for(config, service), store)
        rounds = store.collect_rounds("e2e-1")
        merged = store.load_result("e2e-1")

    assert rounds == [1, 2]
    assert [summary.failed for summary in result.rounds] == [["GET /providers"]] * 2
    assert merged.operations["GET /providers"].outcomes == [False] * 6
    assert merged.operations["GET /providers/{provider_id}"].outcomes == [True] * 6
    assert len(merged.operations["GET /providers/{provider_id}"].latencies_ms) == 6
    assert result.score is not None
    assert result.score.components.availability == 50.0
    assert result.score.components.stability is not None


def test_a_rollback_that_does_not_heal_fails_loudly(
    tmp_path: Path, service: str, healthy: Path
) -> None:
    config = write_config(tmp_path, service, healthy)
    raw = json.loads(config.read_text())
    raw["rollback"] = {
        "command": [
            sys.executable,
            "-c",
            "import sys; print('no release to roll back to'); sys.exit(2)",
        ],
    }
    config.write_text(json.dumps(raw), encoding="utf-8")
    healthy.write_text("unhealthy\n", encoding="utf-8")
    with history(tmp_path) as store:
        session = session_for(config, service)
        outcome = run_rollback(session, store, yes=True, confirm=lambda _: True)
        [record] = store.rollbacks()

    assert (outcome.outcome, outcome.exit_code) == ("failed", 1)
    text = outcome.describe(session.redactor.redact)
    assert "ROLLBACK FAILED:" in text
    assert "no release to roll back to" in text
    assert "ROLLBACK FAILED: the service is not healthy after the rollback:" in text
    assert (record.exit_code, record.outcome) == (2, "failed")

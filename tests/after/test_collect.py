"""``deploycheck collect``: rounds on schedule, what each probes, storage, score, Ctrl-C."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_deploycheck.after.collect import (
    CollectResult,
    CollectSettings,
    RichCollectProgress,
    RoundSummary,
    format_round,
    run_collect,
    select_operations,
)
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.spec import load_spec
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.score.history import HistoryStore
from tests.fakes import T0, FakeClock

SPEC = """
openapi: 3.1.0
info: {title: Items, version: '1'}
paths:
  /items:
    get:
      responses: {'200': {description: ok}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses: {'201': {description: created}}
  /items/{item_id}:
    get:
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}, example: i-1}
      responses: {'200': {description: ok}, '404': {description: missing}}
  /items/{item_id}/archive:
    post:
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}, example: i-1}
      responses: {'200': {description: archived}}
"""


class Service:
    """A MockTransport handler: health and items, with switches to break them."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.broken: set[str] = set()
        self.redirected: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        label = f"{request.method} {request.url.path}"
        with self.lock:
            self.requests[label] += 1
        if label in self.broken:
            return httpx.Response(500, json={"error": "boom"})
        if label in self.redirected:
            return httpx.Response(302, headers={"Location": str(request.url)})
        if label == "GET /health":
            return httpx.Response(200, json={"status": "ok"})
        if request.method == "POST" and request.url.path == "/items":
            assert json.loads(request.content) == {"name": "a"}
            return httpx.Response(201, json={"id": "i-2"})
        return httpx.Response(200, json={})


class Progress:
    def __init__(self, clock: FakeClock, interrupt_before: int | None = None) -> None:
        self.clock = clock
        self.interrupt_before = interrupt_before
        self.started: list[tuple[int, int, int, float]] = []
        self.waits: list[tuple[int, float]] = []
        self.finished: list[RoundSummary] = []

    def waiting(self, number: int, total: int, remaining: float) -> None:
        if number == self.interrupt_before:
            raise KeyboardInterrupt
        self.waits.append((number, remaining))

    def round_started(self, number: int, total: int, operations: int) -> None:
        self.started.append((number, total, operations, self.clock()))

    def round_finished(self, summary: RoundSummary) -> None:
        self.finished.append(summary)


def write_config(root: Path, **sections: Any) -> Path:
    (root / "items.yaml").write_text(SPEC, encoding="utf-8")
    config = {
        "service": {"name": "items", "environment": "test"},
        "spec": "items.yaml",
        "target": {"base_url": "http://items.test"},
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        **sections,
    }
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def collect(
    root: Path,
    store: HistoryStore,
    service: Service,
    clock: FakeClock,
    progress: Progress | None = None,
    quick: bool = False,
    environ: Mapping[str, str] | None = None,
    **sections: Any,
) -> CollectResult:
    session = DeployCheckSession(
        write_config(root, **sections), deploy_id="d-1", environ=dict(environ or {})
    )
    transport = httpx.MockTransport(service)
    return run_collect(
        session,
        store,
        quick=quick,
        progress=progress,
        clock=clock,
        sleep=clock.sleep,
        now=clock.now,
        transport=transport,
        async_transport=transport,
    )


def test_three_rounds_at_0s_5m_15m_are_stored_and_scored_together(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock, service = FakeClock(), Service()
    progress = Progress(clock)
    result = collect(tmp_path, store, service, clock, progress)

    assert [(n, total, ops, at) for n, total, ops, at in progress.started] == [
        (1, 3, 4, 0.0),
        (2, 3, 4, 300.0),
        (3, 3, 4, 900.0),
    ]
    assert max(clock.sleeps) <= 1.0  # the display is updated at least every second
    assert progress.waits[0] == (2, 300.0)
    assert store.collect_rounds("d-1") == [1, 2, 3]
    # safe operations get collect.samples (5) requests a round, the others one
    assert service.requests == {
        "GET /health": 3,
        "GET /items": 15,
        "GET /items/i-1": 15,
        "POST /items": 3,
        "POST /items/i-1/archive": 3,
    }
    merged = store.load_result("d-1")
    assert len(merged.operations["GET /items"].latencies_ms) == 15
    assert merged.health_ok is True
    assert result.score is not None
    assert result.score.components.availability == 100.0
    assert (result.interrupted, result.exit_code, len(result.rounds)) == (False, 0, 3)
    assert "collected 3 round(s) for deployment d-1" in result.describe()
    stored = store.runs("d-1")
    assert [(s.result.phase, s.result.round) for s in stored] == [("collect", n) for n in (1, 2, 3)]
    assert stored[1].result.started_at == T0 + timedelta(minutes=5)


def test_quick_runs_one_round_without_waiting(tmp_path: Path, store: HistoryStore) -> None:
    clock, service = FakeClock(), Service()
    result = collect(tmp_path, store, service, clock, quick=True)
    assert clock.sleeps == []
    assert [summary.number for summary in result.rounds] == [1]
    assert store.collect_rounds("d-1") == [1]


def test_ctrl_c_keeps_the_rounds_already_collected_and_says_so(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock, service = FakeClock(), Service()
    result = collect(tmp_path, store, service, clock, Progress(clock, interrupt_before=3))

    assert result.interrupted
    assert result.exit_code == 130
    assert store.collect_rounds("d-1") == [1, 2]
    assert "interrupted[/]: kept 2 of 3 rounds (1, 2) for deployment d-1" in result.describe()
    assert result.score is not None  # scored on what was kept


def test_failures_of_a_round_are_recorded_and_lower_the_score(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock, service = FakeClock(), Service()
    service.broken.add("GET /items/i-1")
    result = collect(tmp_path, store, service, clock, quick=True)

    [summary] = result.rounds
    assert summary.failed == ["GET /items/{item_id}"]
    samples = summary.run.operations["GET /items/{item_id}"]
    assert samples.outcomes == [False] * 5
    assert samples.failures[0] == "GET http://items.test/items/i-1 answered 500"
    assert summary.run.key_checks_failed == ["availability"]
    assert result.score is not None
    assert result.score.components.availability == 75.0
    line = format_round(summary)
    assert "health [green]ok[/], 3/4 operations answered" in line
    assert "[red]failed:[/] GET /items/{item_id}" in line


def test_allowed_statuses_count_as_answers(tmp_path: Path, store: HistoryStore) -> None:
    clock, service = FakeClock(), Service()
    service.broken.add("POST /items/i-1/archive")
    result = collect(
        tmp_path,
        store,
        service,
        clock,
        quick=True,
        availability={"allow_status": {"POST /items/{item_id}/archive": [500]}},
    )
    assert result.rounds[0].failed == []


def test_an_undocumented_redirect_is_not_an_answer(tmp_path: Path, store: HistoryStore) -> None:
    """Redirects are not followed (target.max_redirects): a 302 loop is no answer."""
    clock, service = FakeClock(), Service()
    service.redirected.add("GET /items")
    result = collect(tmp_path, store, service, clock, quick=True)
    assert result.rounds[0].failed == ["GET /items"]
    samples = result.rounds[0].run.operations["GET /items"]
    assert samples.failures[0] == "GET http://items.test/items answered 302"


def test_a_failing_health_check_fails_the_round_and_zeroes_availability(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock, service = FakeClock(), Service()
    service.broken.add("GET /health")
    result = collect(tmp_path, store, service, clock, quick=True)
    run = result.rounds[0].run
    assert run.health_ok is False
    assert "health" in run.key_checks_failed
    assert result.score is not None
    assert result.score.components.availability == 0.0
    assert result.exit_code == 1  # the verdict fails on the key check
    assert "health [red]FAILED[/]" in format_round(result.rounds[0])


def test_configured_rounds_samples_and_operations(tmp_path: Path, store: HistoryStore) -> None:
    clock, service = FakeClock(), Service()
    progress = Progress(clock)
    collect(
        tmp_path,
        store,
        service,
        clock,
        progress,
        collect={
            "rounds": ["0s", "30s"],
            "samples": 2,
            "exclude": ["POST /items"],
            "measure": ["GET /items"],
        },
        availability={"exclude": ["POST /items/{item_id}/archive"]},
        health={"enabled": False},
    )
    assert [(n, at) for n, _, _, at in progress.started] == [(1, 0.0), (2, 30.0)]
    assert service.requests == {"GET /items": 4, "GET /items/i-1": 2}


def test_select_operations_reports_unknown_labels_under_their_key(tmp_path: Path) -> None:
    (tmp_path / "items.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_spec(tmp_path / "items.yaml")
    with pytest.raises(ConfigError) as caught:
        select_operations(
            spec, {"include": ["GET /nope"], "measure": ["PUT /x"]}, {"exclude": ["GET /gone"]}
        )
    message = str(caught.value)
    assert "collect.include: 'GET /nope' is not an operation of" in message
    assert "collect.measure: 'PUT /x' is not an operation of" in message
    assert "availability.exclude: 'GET /gone' is not an operation of" in message
    probed, measured = select_operations(spec, {"include": ["POST /items", "GET /items"]}, {})
    assert (probed, measured) == (["GET /items", "POST /items"], {"GET /items"})


def test_rounds_must_increase() -> None:
    with pytest.raises(ConfigError, match=r"collect.rounds: '5m' comes after '15m'"):
        CollectSettings.from_config({"rounds": ["0s", "15m", "5m"]})
    settings = CollectSettings.from_config({"rounds": ["10s", "1m"]}, quick=True, timeout=3.0)
    assert (settings.rounds, settings.samples, settings.timeout) == ((10.0,), 5, 3.0)


def test_the_deploy_id_comes_from_the_environment_like_the_plugin(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock, service = FakeClock(), Service()
    session = DeployCheckSession(write_config(tmp_path), environ={"GITHUB_SHA": "cafe1234"})
    transport = httpx.MockTransport(service)
    result = run_collect(
        session, store, quick=True, clock=clock, sleep=clock.sleep, now=clock.now,
        transport=transport, async_transport=transport,
    )  # fmt: skip
    assert result.deploy_id == "cafe1234"
    assert store.collect_rounds("cafe1234") == [1]
    assert store.deployment("cafe1234").environment == "test"


def test_rich_progress_prints_each_round(tmp_path: Path, store: HistoryStore) -> None:
    from rich.console import Console

    clock, service = FakeClock(), Service()
    console = Console(record=True, width=200, force_terminal=False)
    session = DeployCheckSession(
        write_config(tmp_path, collect={"rounds": ["0s", "2s"]}), deploy_id="d-9", environ={}
    )
    transport = httpx.MockTransport(service)
    with RichCollectProgress(console) as progress:
        run_collect(
            session, store, progress=progress, clock=clock, sleep=clock.sleep, now=clock.now,
            transport=transport, async_transport=transport,
        )  # fmt: skip
    text = console.export_text()
    assert "round 1/2 (+0s): health ok, 4/4 operations answered" in text
    assert "round 2/2 (+2s): health ok" in text

"""The history store, against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score import history
from pytest_deploycheck.score.history import (
    AlertEvent,
    AlertState,
    Deployment,
    HistoryStore,
    OutboxEntry,
    RollbackRecord,
    describe_deployment,
    redact_url,
    resolve_deploy_id,
)
from pytest_deploycheck.score.history import schema as history_schema
from pytest_deploycheck.score.history import store as history_store
from pytest_deploycheck.score.results import FailedItem, RunResult
from pytest_deploycheck.score.scoring import score_run
from tests.postgres_server import fresh_schema, postgres_url  # noqa: F401 (a fixture)
from tests.processes import run_together

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty store: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[HistoryStore]:
    with HistoryStore.open(store_url) as opened:
        yield opened


def make_run(
    deploy_id: str,
    phase: str = "phase3",
    *,
    start: datetime = T0,
    latency: float = 100.0,
    failing: bool = False,
    round_number: int | None = None,
) -> RunResult:
    run = RunResult(deploy_id, phase, start, start + timedelta(minutes=1), round=round_number)
    run.health_ok = True
    for index in range(5):
        run.record("GET /providers", True, latency + index)
        run.record("POST /appointments", not (failing and index == 0), latency * 2 + index)
    if failing:
        run.samples("POST /appointments").failures.append("502 Bad Gateway from upstream")
    return run


def table_count(store: HistoryStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# -- runs and deployments -------------------------------------------------------------------


def test_a_saved_run_comes_back_with_its_samples_and_score(store: HistoryStore) -> None:
    run = make_run("abc123", failing=True)
    run.items.passed = 7
    run.fail_check("contract")
    score = score_run(run)
    run_id = store.save_run(run, score)

    [stored] = store.runs("abc123")
    assert stored.id == run_id
    assert stored.score == score.score
    assert stored.verdict == score.verdict.value
    assert stored.components == score.components.as_dict()
    loaded = stored.result
    assert loaded.started_at == run.started_at
    assert loaded.health_ok is True
    assert loaded.key_checks_failed == ["contract"]
    assert loaded.items.passed == 7
    assert loaded.operations["POST /appointments"].outcomes == [False, True, True, True, True]
    assert loaded.operations["POST /appointments"].failures == ["502 Bad Gateway from upstream"]
    assert loaded.operations["GET /providers"].latencies_ms == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_a_deployment_merges_its_runs_and_collect_rounds(store: HistoryStore) -> None:
    store.save_run(make_run("d1", "phase2", latency=10))
    store.save_run(make_run("d1", "phase3", latency=20))
    store.save_run(make_run("d1", "collect", latency=30, round_number=1))
    store.save_run(make_run("d1", "collect", latency=40, round_number=2))
    # Collecting round 2 again replaces it rather than adding its samples twice.
    store.save_run(make_run("d1", "collect", latency=50, round_number=2))

    merged = store.load_result("d1")
    latencies = merged.operations["GET /providers"].latencies_ms
    assert sorted({int(v) // 10 * 10 for v in latencies}) == [10, 20, 30, 50]
    assert len(latencies) == 20
    assert store.collect_rounds("d1") == [1, 2]
    assert [run.result.round for run in store.runs("d1")] == [None, None, 1, 2]


def test_deployments_are_listed_newest_first_and_previous_is_the_one_before(
    store: HistoryStore,
) -> None:
    for index in range(4):
        deployment = Deployment(f"d{index}", T0 + timedelta(hours=index), environment="prod")
        store.save_run(make_run(f"d{index}"), deployment=deployment)
    store.save_run(make_run("s0"), deployment=Deployment("s0", T0, environment="staging"))

    assert [d.id for d in store.deployments(3)] == ["s0", "d3", "d2"]
    assert [d.id for d in store.deployments(2, before="d2")] == ["d1", "d0"]
    assert [d.id for d in store.deployments(10, environment="prod")] == ["d3", "d2", "d1", "d0"]
    previous = store.previous("s0", environment="staging")
    assert previous is None
    assert store.previous("d3", environment="prod") == store.deployment("d2")
    assert store.deployment("d2").created_at == T0 + timedelta(hours=2)


def test_deployment_details_are_kept_from_first_sight(store: HistoryStore) -> None:
    first = Deployment("abc", T0, commit="abc", branch="main", metadata={"version": "1.2"})
    store.record_deployment(first)
    store.record_deployment(Deployment("abc", T0 + timedelta(days=1), branch="other"))
    assert store.deployment("abc") == first


def test_unknown_deployments_raise_a_clear_error(store: HistoryStore) -> None:
    with pytest.raises(HistoryError, match="no deployment 'nope'"):
        store.deployment("nope")
    store.record_deployment(Deployment("empty", T0))
    with pytest.raises(HistoryError, match="'empty' has no run recorded yet"):
        store.load_result("empty")


def test_retention_keeps_the_newest_deployments_and_drops_their_rows(store_url: str) -> None:
    with HistoryStore.open(store_url, keep=3) as store:
        for index in range(5):
            store.save_run(make_run(f"d{index}"))
            store.record_bundle_sizes(f"d{index}", {"app.js": 1000 + index})
        assert [d.id for d in store.deployments(None)] == ["d4", "d3", "d2"]
        assert table_count(store, history.runs_table) == 3
        assert table_count(store, history.samples_table) == 6
        assert store.prune(1) == 2
        assert [d.id for d in store.deployments(None)] == ["d4"]
        assert table_count(store, history.bundle_sizes_table) == 1


def test_bad_input_raises_and_stores_nothing(store: HistoryStore) -> None:
    store.save_run(make_run("good"))
    before = (table_count(store, history.runs_table), table_count(store, history.samples_table))

    broken = make_run("bad")
    broken.operations["GET /providers"].latencies_ms.append(math.nan)
    with pytest.raises(HistoryError, match="latencies must be finite"):
        store.save_run(broken)
    naive = make_run("bad")
    naive.started_at = datetime(2025, 1, 1)  # no timezone
    with pytest.raises(HistoryError, match="timezone-aware"):
        store.save_run(naive)
    with pytest.raises(HistoryError, match="deploy id must be a non-empty string"):
        store.save_run(make_run(""))
    with pytest.raises(HistoryError, match=r"bundle 'a\.js' size"):
        store.record_bundle_sizes("good", {"a.js": -1})

    after = (table_count(store, history.runs_table), table_count(store, history.samples_table))
    assert after == before
    assert [d.id for d in store.deployments()] == ["good"]


def test_failure_texts_are_redacted_and_capped_before_storing(store_url: str) -> None:
    with HistoryStore.open(store_url, redact=lambda t: t.replace("s3cr3t", "***")) as store:
        run = make_run("d1")
        samples = run.samples("GET /providers")
        samples.failures.extend(["token s3cr3t rejected", *("x" * 900 for _ in range(30))])
        store.save_run(run, deployment=Deployment("d1", T0, metadata={"auth": "s3cr3t"}))
        failures = store.load_result("d1").operations["GET /providers"].failures
        assert failures[0] == "token *** rejected"
        assert len(failures) == 20
        assert max(len(text) for text in failures) == 500
        assert store.deployment("d1").metadata == {"auth": "***"}


# -- bundle sizes, alerts, rollbacks -------------------------------------------------------


def test_bundle_sizes_of_the_previous_deployment(store: HistoryStore) -> None:
    store.record_bundle_sizes("d1", {"app.js": 1000, "vendor.js": 5000})
    store.save_run(make_run("d2"))  # a deployment without bundle sizes
    store.record_bundle_sizes("d3", {"app.js": 1200})
    store.record_bundle_sizes("d3", {"app.js": 1300})

    assert store.bundle_sizes("d3") == {"app.js": 1300}
    assert store.previous_bundle_sizes("d3") == {"app.js": 1000, "vendor.js": 5000}
    assert store.previous_bundle_sizes() == {"app.js": 1300}
    assert store.previous_bundle_sizes("d1") == {}


def test_alert_state_survives_reopening_and_events_keep_their_order(store_url: str) -> None:
    with HistoryStore.open(store_url) as store:
        assert store.alert_state("GET /health") is None
        state = AlertState("GET /health", level=2, consecutive_failures=2, opened_at=T0)
        store.save_alert_state(state)
        state.level, state.consecutive_failures, state.last_sent_level = 3, 3, 3
        state.last_sent_at = T0 + timedelta(minutes=2)
        store.save_alert_state(state)
        for minute, kind in enumerate(["opened", "escalated", "sent"]):
            store.record_alert_event(
                AlertEvent("GET /health", kind, minute + 1, T0 + timedelta(minutes=minute))
            )
        store.record_alert_event(AlertEvent("GET /other", "opened", 1, T0))

    with HistoryStore.open(store_url) as store:
        restored = store.alert_state("GET /health")
        assert restored is not None
        assert (restored.level, restored.consecutive_failures, restored.last_sent_level) == (
            3,
            3,
            3,
        )
        assert restored.last_sent_at == T0 + timedelta(minutes=2)
        assert restored.opened_at == T0
        assert [s.key for s in store.alert_states()] == ["GET /health"]
        events = store.alert_events("GET /health")
        assert [e.kind for e in events] == ["opened", "escalated", "sent"]
        assert len(store.alert_events()) == 4


def test_rollbacks_are_logged_with_secrets_masked(store_url: str) -> None:
    with HistoryStore.open(store_url, redact=lambda t: t.replace("tok3n", "***")) as store:
        store.record_rollback(
            RollbackRecord(
                at=T0,
                command=("deploy", "--token", "tok3n", "rollback"),
                exit_code=0,
                outcome="healthy",
                deploy_id="d1",
                duration_s=3.5,
                output="rolled back with tok3n",
            )
        )
        [record] = store.rollbacks()
        assert record.command == ("deploy", "--token", "***", "rollback")
        assert record.output == "rolled back with ***"
        assert (record.exit_code, record.outcome, record.duration_s) == (0, "healthy", 3.5)


# -- schema versions -------------------------------------------------------------------------


def test_a_new_store_records_its_schema_version(store: HistoryStore) -> None:
    with store.engine.connect() as conn:
        version = conn.execute(sa.select(history.meta_table.c.value)).scalar_one()
    assert version == str(history.SCHEMA_VERSION)
    assert store.writable


def test_a_store_from_a_newer_version_is_read_but_never_written(store_url: str) -> None:
    with HistoryStore.open(store_url) as store:
        store.save_run(make_run("d1"))
        with store.engine.begin() as conn:
            conn.execute(sa.update(history.meta_table).values(value="99"))

    with HistoryStore.open(store_url) as store:
        assert not store.writable
        assert [d.id for d in store.deployments()] == ["d1"]
        with pytest.raises(HistoryError, match="schema version 99, newer than"):
            store.save_run(make_run("d2"))
        assert [d.id for d in store.deployments()] == ["d1"]


def test_an_older_store_is_upgraded_in_place_keeping_its_data(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HistoryStore.open(store_url) as store:
        store.save_run(make_run("d1"))

    def add_note_column(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE deploycheck_deployments ADD COLUMN note TEXT"))

    future = history.SCHEMA_VERSION + 1
    monkeypatch.setattr(history_schema, "SCHEMA_VERSION", future)
    monkeypatch.setattr(history_store, "SCHEMA_VERSION", future)
    monkeypatch.setitem(history.UPGRADES, future, add_note_column)
    with HistoryStore.open(store_url) as store:
        assert store.schema_version == future
        with store.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("deploycheck_deployments")}
            version = conn.execute(sa.select(history.meta_table.c.value)).scalar_one()
        assert "note" in columns
        assert version == str(future)
        assert store.load_result("d1").operations["GET /providers"].probes == 5


def test_a_store_written_at_schema_version_1_keeps_working(tmp_path: Path) -> None:
    # the file was written by the version before runs kept their failed items
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((ROOT / "tests/fixtures/history/store-v1.sql").read_text())
    url = f"sqlite:///{path}"
    with HistoryStore.open(url) as store:
        assert store.schema_version == history.SCHEMA_VERSION
        assert [d.id for d in store.deployments()] == ["v1-after", "v1-before"]
        old = store.load_result("v1-after")
        assert old.failed_items == []
        assert old.operations["GET /providers"].probes == 30
        assert store.runs("v1-after")[0].verdict == "pass"  # as that version judged it
        # a new run goes in beside the old ones, with its failed items
        run = make_run("v2")
        run.fail_item(FailedItem("cfg::phase3::contract[GET /x]", "contract", "r", "broke"))
        store.save_run(run, score_run(run))
        assert store.load_result("v2").failed_items == run.failed_items
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        [(version,)] = conn.execute(
            "SELECT value FROM deploycheck_meta WHERE key = 'schema_version'"
        ).fetchall()
    assert version == str(history.SCHEMA_VERSION)


def test_failed_items_are_stored_redacted(store_url: str) -> None:
    with HistoryStore.open(store_url, redact=lambda text: text.replace("s3cret", "***")) as store:
        run = make_run("d1")
        run.fail_item(FailedItem("cfg::phase3::smoke[s3cret]", "smoke", "smoke-status", "s3cret!"))
        store.save_run(run, score_run(run))
        [item] = store.load_result("d1").failed_items
    assert (item.node_id, item.family, item.message) == ("cfg::phase3::smoke[***]", "smoke", "***!")


def test_a_version_2_store_gains_service_names_and_keeps_its_deployments(store_url: str) -> None:
    with HistoryStore.open(store_url) as store:
        store.save_run(make_run("old-1"))
        # back to the store as version 2 wrote it: no service column
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE deploycheck_deployments DROP COLUMN service"))
            conn.execute(sa.update(history.meta_table).values(value="2"))
    with HistoryStore.open(store_url) as store:
        assert store.schema_version == history.SCHEMA_VERSION
        [old] = store.deployments()
        assert old.service is None
        store.save_run(make_run("new-1"), deployment=Deployment("new-1", T0, service="api"))
        # what was stored before services had names still counts for the service
        assert [d.id for d in store.deployments(service="api")] == ["new-1", "old-1"]
        assert store.services() == ["api"]


# -- services: one store, several services ------------------------------------------------------


def test_each_service_sees_its_own_deployments(store: HistoryStore) -> None:
    for deploy_id, service in [
        ("a-1", "api"),
        ("w-1", "worker"),
        ("a-2", "api"),
        ("w-2", "worker"),
    ]:
        store.save_run(make_run(deploy_id), deployment=Deployment(deploy_id, T0, service=service))
    assert store.services() == ["api", "worker"]
    assert [d.id for d in store.deployments(service="api")] == ["a-2", "a-1"]
    assert [d.id for d in store.deployments(service="worker")] == ["w-2", "w-1"]
    assert [d.id for d in store.deployments()] == ["w-2", "a-2", "w-1", "a-1"]
    assert store.deployment("w-1").service == "worker"
    previous = store.previous("a-2", service="api")
    assert previous is not None
    assert previous.id == "a-1"


def test_a_deploy_id_of_one_service_is_refused_to_another(store: HistoryStore) -> None:
    store.save_run(make_run("abc123"), deployment=Deployment("abc123", T0, service="api"))
    with pytest.raises(HistoryError, match="'abc123' is one of service 'api', not 'worker'"):
        store.save_run(make_run("abc123"), deployment=Deployment("abc123", T0, service="worker"))
    assert len(store.runs("abc123")) == 1
    # the same service, or a record that names none, joins it as before
    store.save_run(make_run("abc123"), deployment=Deployment("abc123", T0, service="api"))
    store.save_run(make_run("abc123"))
    assert len(store.runs("abc123")) == 3


def test_a_store_without_the_outbox_is_upgraded_to_have_one(store_url: str) -> None:
    with HistoryStore.open(store_url) as store:
        store.save_run(make_run("d1"))
        with store.engine.begin() as conn:
            history.outbox_table.drop(conn)
            # back to the store as version 3 wrote it, before the outbox
            conn.execute(sa.update(history.meta_table).values(value="3"))

    with HistoryStore.open(store_url) as store:
        assert store.schema_version == history.SCHEMA_VERSION
        with store.engine.connect() as conn:
            assert sa.inspect(conn).has_table(history.outbox_table.name)
        assert store.pending_notifications() == []
        assert [d.id for d in store.deployments()] == ["d1"]


# -- the notifications outbox ------------------------------------------------------------------


def outbox_entry(ref: str, key: str = "api/prod:health", *, level: int = 1) -> OutboxEntry:
    at = T0 + timedelta(seconds=level)
    title = f"ALERT LEVEL {level}: health failed"
    return OutboxEntry(ref, key, "hook", "health", "alert", level, title, "body", at)


def test_outbox_entries_wait_with_their_alert_until_delivered(store: HistoryStore) -> None:
    state = AlertState("api/prod:health", level=2, last_sent_level=2, updated_at=T0, message="5")
    opened = AlertEvent("api/prod:health", "opened", 1, T0)
    entries = [outbox_entry("a1"), outbox_entry("a2", level=2)]
    store.save_alert(state, [opened], entries)
    store.save_alert(None, [], [outbox_entry("b1", key="other_svc/prod:health")])
    # a write repeated whole (after a failure it may have been half-seen) changes nothing
    store.save_alert(None, [], entries)

    assert store.alert_state("api/prod:health") == state
    assert [e.kind for e in store.alert_events("api/prod:health")] == ["opened"]
    assert [e.id for e in store.pending_notifications("api/prod:")] == ["a1", "a2"]
    assert [e.id for e in store.pending_notifications("api_prod")] == []  # _ is no wildcard

    sent = AlertEvent("api/prod:health", "sent", 1, T0 + timedelta(minutes=1), channel="hook")
    failed = AlertEvent("api/prod:health", "send_failed", 2, T0, "502", channel="hook")
    store.record_delivery(sent, outbox_id="a1", delivered=True, attempts=2)
    store.record_delivery(failed, outbox_id="a2", delivered=False, attempts=3)
    [left] = store.pending_notifications("api/prod:")
    assert (left.id, left.attempts, left.last_error, left.delivered_at) == ("a2", 3, "502", None)
    assert left.title == "ALERT LEVEL 2: health failed"
    assert [e.kind for e in store.alert_events("api/prod:health")] == [
        "opened",
        "sent",
        "send_failed",
    ]


# -- opening, URLs and errors ----------------------------------------------------------------


def test_the_default_store_lives_under_the_project_root(tmp_path: Path) -> None:
    with HistoryStore.from_config({}, tmp_path) as store:
        store.save_run(make_run("d1"))
        assert store.keep == 500
    assert (tmp_path / ".deploycheck" / "history.db").is_file()


def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "notes.db"
    content = b"these are my notes, not a database\n" * 100
    target.write_bytes(content)
    with pytest.raises(HistoryError, match=r"notes\.db: cannot prepare the schema"):
        HistoryStore.open(f"sqlite:///{target}")
    assert target.read_bytes() == content


def test_errors_never_show_the_password() -> None:
    url = "postgresql+psycopg://gate:hunter2-very-secret@127.0.0.1:1/deploycheck"
    with pytest.raises(HistoryError) as caught:
        HistoryStore.open(url)
    assert "hunter2" not in str(caught.value)
    assert "gate:***@127.0.0.1:1" in str(caught.value)


def test_bad_urls_and_keep_values_say_what_to_do() -> None:
    with pytest.raises(HistoryError, match="is not a database URL"):
        HistoryStore.open("just some text")
    with pytest.raises(HistoryError, match="cannot use this URL"):
        HistoryStore.open("nosuchdb+driver://u:pw@127.0.0.1/x")
    with pytest.raises(HistoryError, match=r"history.keep must be an integer >= 1 \(got 0\)"):
        HistoryStore.open("sqlite://", keep=0)


def test_redact_url_hides_passwords_even_in_urls_that_do_not_parse() -> None:
    assert redact_url("postgresql://me:pw@db/x") == "postgresql://me:***@db/x"
    assert redact_url("weird://me:pw@db:notaport/x") == "weird://me:***@db:notaport/x"
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"


# -- several writers at once ---------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pytest_deploycheck.score.history import HistoryStore
    from pytest_deploycheck.score.results import FailedItem, RunResult

    url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with HistoryStore.open(url) as store:
        # A barrier: every worker has imported and connected before any of them writes.
        print("ready", flush=True)
        sys.stdin.readline()
        for index in range(count):
            # Every worker writes to shared deployments too, racing to create them.
            deploy_id = f"shared-{index % 3}" if index % 2 else f"w{worker}-{index}"
            run = RunResult(deploy_id, "phase3", t0, t0 + timedelta(seconds=1))
            for probe in range(10):
                run.record(f"GET /w{worker}", True, float(index * 10 + probe))
            store.save_run(run)
    """
)


def test_parallel_writer_processes_lose_nothing(store_url: str) -> None:
    workers, count = 3, 12
    with HistoryStore.open(store_url):
        pass  # create the schema once, as a CI job's first step would
    finished = run_together(
        WRITER, [[store_url, str(worker), str(count)] for worker in range(workers)]
    )
    assert [f.returncode for f in finished] == [0] * workers, [f.stderr for f in finished]

    with HistoryStore.open(store_url) as store:
        assert table_count(store, history.runs_table) == workers * count
        assert store.count_deployments() == workers * count // 2 + 3
        for worker in range(workers):
            merged = store.load_result(f"w{worker}-0")
            assert merged.operations[f"GET /w{worker}"].probes == 10
        shared = store.load_result("shared-1")
        assert sum(s.probes for s in shared.operations.values()) == workers * 2 * 10


def test_a_write_that_meets_a_locked_database_is_retried_whole(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}", sleep=sleeps.append) as store:
        failures = iter([True, True, False])

        def lock_now_and_then(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # Fail the first statement of two attempts, as a competing writer would.
            if statement.startswith("INSERT INTO deploycheck_runs") and next(failures):
                orig = sqlite3.OperationalError("database is locked")
                raise sa.exc.OperationalError(statement, None, orig)

        sa.event.listen(store.engine, "before_cursor_execute", lock_now_and_then)
        store.save_run(make_run("d1"))
        sa.event.remove(store.engine, "before_cursor_execute", lock_now_and_then)

        assert sleeps == [0.05, 0.1]
        assert table_count(store, history.runs_table) == 1
        assert store.count_deployments() == 1


# -- deploy ids ------------------------------------------------------------------------------


def no_git(args: object, cwd: Path) -> None:
    return None


def test_deploy_id_prefers_the_explicit_one_then_ci_then_git_then_time(tmp_path: Path) -> None:
    env = {"CIRCLE_SHA1": "circle", "GITHUB_SHA": "github"}
    assert resolve_deploy_id(" v1.2 ", env, tmp_path) == "v1.2"
    assert resolve_deploy_id(None, env, tmp_path) == "github"
    assert resolve_deploy_id(None, {"CI_COMMIT_SHA": "gitlab"}, tmp_path) == "gitlab"
    assert resolve_deploy_id(None, {"BUILDKITE_COMMIT": "bk", "GITHUB_SHA": ""}, tmp_path) == "bk"
    fixed = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (
        resolve_deploy_id(None, {}, tmp_path, git=no_git, now=lambda: fixed)
        == "local-20250102T030405Z"
    )


def test_deploy_id_falls_back_to_git_head(tmp_path: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "feature"], cwd=tmp_path, check=True)
    (tmp_path / "f.txt").write_text("x")
    subprocess.run([*git, "add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "c"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()

    assert resolve_deploy_id(None, {}, tmp_path) == head
    info = describe_deployment(head, {}, tmp_path, environment="prod")
    assert (info.commit, info.branch, info.environment) == (head, "feature", "prod")
    from_ci = describe_deployment("x", {"GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main"}, tmp_path)
    assert (from_ci.commit, from_ci.branch) == ("abc", "main")


def test_the_history_section_schema_matches_the_code_defaults() -> None:
    schema = json.loads(
        (ROOT / "pytest_deploycheck" / "schemas" / "sections" / "history.json").read_text()
    )
    assert schema["properties"]["url"]["default"] == history.DEFAULT_URL
    assert schema["properties"]["keep"]["default"] == history.DEFAULT_KEEP
    assert schema["additionalProperties"] is False
    assert all("description" in prop for prop in schema["properties"].values())

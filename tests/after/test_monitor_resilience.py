"""The monitor when things around it fail: a channel down (the outbox keeps what it did not
take, and the next monitor sends it), the history store away mid-run (the monitor goes on
and saves its writes when the store is back), and how it exits when it cannot run."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pytest_deploycheck.after.monitor import journal as journal_module
from pytest_deploycheck.after.monitor.journal import Journal, Write
from pytest_deploycheck.cli import EXIT_MONITOR_ERROR, main
from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.score.history import HistoryStore
from tests.after.test_monitor import HEALTH_KEY, HOOK, Reporter, Sender, Service, monitor
from tests.fakes import FakeClock

ALERTS = [
    "ALERT LEVEL 1: health failed once",
    "ALERT LEVEL 2: health failed twice",
    "ALERT LEVEL 3: health failed 3 times",
]
THREE_ROUNDS = {"interval": "1m", "duration": "3m", "remind_every": "1h"}


def titles(sender: Sender) -> list[str]:
    return [title for *_, title in sender.sent]


def test_what_a_channel_did_not_take_is_sent_by_the_next_monitor_once(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    down = Sender(failing=["hook"])
    first = monitor(tmp_path, store, service, sender=down, monitor=THREE_ROUNDS, notify=HOOK)
    assert first.exit_code == 3
    assert down.sent == []
    pending = store.pending_notifications()
    assert [(e.title, e.channel, e.attempts) for e in pending] == [(t, "hook", 4) for t in ALERTS]
    assert all(e.last_error == "channel hook: 502 Bad Gateway" for e in pending)

    up = Sender()
    reporter = Reporter()
    one_round = {**THREE_ROUNDS, "duration": "1m"}
    second = monitor(
        tmp_path, store, service, sender=up, reporter=reporter, monitor=one_round, notify=HOOK
    )
    assert titles(up) == ALERTS  # in order, each once; level 3 carried over sends nothing new
    assert second.exit_code == 3
    assert reporter.notes_about_the_monitor == [
        "resending 3 notification(s) an earlier monitor could not deliver"
    ]
    assert store.pending_notifications() == []

    third = Sender()
    monitor(tmp_path, store, service, sender=third, monitor=one_round, notify=HOOK)
    assert third.sent == []


def test_a_store_that_goes_away_mid_run_stops_no_probe_and_no_alert(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: True)
    working = store.engine
    gone = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'history.db'}")

    def outage(number: int) -> None:
        # away from the end of round 1 to the end of round 3: alerts 2 and 3 and their
        # deliveries meet a store that cannot be written
        if number == 1:
            store.engine = gone
        if number == 3:
            store.engine = working

    reporter = Reporter(on_round=outage)
    sender = Sender()
    result = monitor(
        tmp_path,
        store,
        service,
        sender=sender,
        reporter=reporter,
        monitor={**THREE_ROUNDS, "duration": "5m"},
        notify=HOOK,
    )

    assert (result.rounds, result.exit_code, result.unsaved) == (5, 3, 0)
    assert titles(sender) == ALERTS
    [away, back] = reporter.notes_about_the_monitor
    assert "cannot write: unable to open database file" in away
    assert "the monitor goes on probing and alerting" in away
    assert back.startswith("the history store is back: ")
    state = store.alert_state(HEALTH_KEY)
    assert state is not None
    assert (state.level, state.last_sent_level, state.consecutive_failures) == (3, 3, 5)
    kinds = [(e.kind, e.level) for e in store.alert_events(HEALTH_KEY)]
    assert [k for k in kinds if k[0] != "sent"] == [
        ("opened", 1),
        ("escalated", 2),
        ("escalated", 3),
    ]
    assert sorted(k for k in kinds if k[0] == "sent") == [("sent", 1), ("sent", 2), ("sent", 3)]
    assert store.pending_notifications() == []  # every delivery marked once the store was back


def test_a_store_still_away_at_the_end_is_said_and_the_exit_is_still_the_level(
    tmp_path: Path, store: HistoryStore
) -> None:
    clock = FakeClock()
    service = Service(clock, broken=lambda t: t >= 60)
    gone = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'history.db'}")

    def outage(number: int) -> None:
        store.engine = gone

    reporter = Reporter(on_round=outage)
    sender = Sender()
    result = monitor(
        tmp_path,
        store,
        service,
        sender=sender,
        reporter=reporter,
        monitor=THREE_ROUNDS,
        notify=HOOK,
    )
    assert (result.exit_code, result.highest_level) == (2, 2)
    assert titles(sender) == ALERTS[:2]
    assert result.unsaved > 0
    assert f"{result.unsaved} write(s) could not be saved" in result.describe()
    assert len(reporter.notes_about_the_monitor) == 1  # told once, however many writes failed


class FlakyStore:
    """Stands in for the history store: its writes fail while ``failing``."""

    def __init__(self) -> None:
        self.failing = True
        self.written: list[object] = []

    def action(self, what: object) -> Write:
        def write(_store: HistoryStore) -> None:
            if self.failing:
                raise HistoryError("history store x: cannot write: connection refused")
            self.written.append(what)

        return write


def test_the_journal_keeps_writes_in_order_and_tells_the_outage_once() -> None:
    clock = FakeClock()
    notes: list[str] = []
    flaky = FlakyStore()
    journal = Journal(cast(HistoryStore, flaky), note=notes.append, clock=clock, retry_every=5.0)
    for what in ("a", "b", "c"):
        journal.write(flaky.action(what))
    assert (journal.pending, flaky.written) == (3, [])
    clock.sleep(10)
    assert journal.flush() == 3
    flaky.failing = False
    journal.write(flaky.action("d"))  # within retry_every: waits its turn
    assert flaky.written == []
    clock.sleep(5)
    journal.write(flaky.action("e"))
    assert (journal.pending, flaky.written) == (0, ["a", "b", "c", "d", "e"])
    assert len(notes) == 2
    assert notes[0].startswith("history store x: cannot write: connection refused; the monitor")
    assert notes[1] == "the history store is back: 5 kept write(s) saved"


def test_the_journal_keeps_the_newest_writes_when_an_outage_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal_module, "MAX_BACKLOG", 3)
    flaky = FlakyStore()
    journal = Journal(cast(HistoryStore, flaky), note=lambda _: None, clock=FakeClock())
    for what in range(5):
        journal.write(flaky.action(what))
    flaky.failing = False
    assert journal.flush() == 0
    assert (flaky.written, journal.dropped) == ([2, 3, 4], 2)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_monitor_that_cannot_run_exits_4_never_an_alert_level(tmp_path: Path) -> None:
    store = f"postgresql+psycopg://gate:pw@127.0.0.1:{closed_port()}/deploycheck"
    config = {
        "service": {"name": "items", "environment": "test"},
        "spec": "items.yaml",
        "target": {"base_url": "http://127.0.0.1:9"},
        "history": {"url": store},
    }
    (tmp_path / "items.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: Items, version: '1'}\npaths: {}\n", encoding="utf-8"
    )
    path = tmp_path / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    runner = CliRunner()

    unreachable = runner.invoke(main, ["monitor", "--config", str(path), "--deploy-id", "d"])
    assert unreachable.exit_code == EXIT_MONITOR_ERROR == 4, unreachable.output
    assert "deploycheck: error: history store postgresql+psycopg://gate:***@" in unreachable.output
    assert "Traceback" not in unreachable.output
    bad_option = runner.invoke(main, ["monitor", "--config", str(path), "--metrics-port", "x"])
    assert bad_option.exit_code == 4
    assert "Invalid value for '--metrics-port'" in bad_option.output
    missing = runner.invoke(main, ["monitor", "--config", str(tmp_path / "none.json")])
    assert missing.exit_code == 4

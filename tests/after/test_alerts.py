"""The escalation state machine: levels, texts, reminders, resolutions, restarts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.after.alerts import (
    AlertPolicy,
    NotificationKind,
    Observation,
    Transition,
    evaluate,
)
from pytest_deploycheck.score.history import AlertState

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
KEY = "booking-api/production:GET /providers"
POLICY = AlertPolicy(resolve_after=2, remind_every=600.0)


def observe(ok: bool, detail: str = "GET /providers answered 500: a server error") -> Observation:
    return Observation(KEY, "GET /providers", ok, "" if ok else detail, 12.0, "Service: booking")


def run(
    outcomes: list[bool], state: AlertState | None = None, policy: AlertPolicy = POLICY
) -> tuple[AlertState | None, list[Transition]]:
    transitions = []
    for minute, ok in enumerate(outcomes):
        transition = evaluate(state, observe(ok), T0 + timedelta(minutes=minute), policy)
        transitions.append(transition)
        state = transition.state
    return state, transitions


def test_three_consecutive_failures_escalate_with_the_seed_texts() -> None:
    state, transitions = run([False, False, False])

    sent = [n for t in transitions for n in t.notifications]
    assert [(n.kind, n.level) for n in sent] == [(NotificationKind.ALERT, lvl) for lvl in (1, 2, 3)]
    assert sent[0].title == "ALERT LEVEL 1: GET /providers failed once"
    assert sent[0].body.startswith("Monitoring for additional failures...")
    assert sent[1].title == "ALERT LEVEL 2: GET /providers failed twice"
    assert sent[1].body.startswith("Elevated monitoring - potential issue detected")
    assert sent[2].title == "ALERT LEVEL 3: GET /providers failed 3 times"
    assert "rollback recommended" in sent[2].body
    assert "Last failure: GET /providers answered 500: a server error" in sent[2].body
    assert "Service: booking" in sent[2].body
    assert [e.kind for t in transitions for e in t.events] == ["opened", "escalated", "escalated"]
    assert state is not None
    assert (state.level, state.last_sent_level, state.opened_at) == (3, 3, T0)


def test_further_failures_stay_critical_without_sending_again() -> None:
    state, transitions = run([False] * 6)

    assert state is not None
    assert state.level == 3
    assert state.consecutive_failures == 6
    assert [n.level for t in transitions for n in t.notifications] == [1, 2, 3]
    assert transitions[4].notifications == ()
    assert transitions[5].changed  # the failure count is still stored


def test_a_reminder_is_sent_once_remind_every_has_passed() -> None:
    state, _ = run([False, False])
    assert state is not None
    early = evaluate(state, observe(False), T0 + timedelta(minutes=1, seconds=30), POLICY)
    assert [n.level for n in early.notifications] == [3]  # escalation, not a reminder
    state = early.state
    quiet = evaluate(state, observe(False), T0 + timedelta(minutes=5), POLICY)
    assert quiet.notifications == ()
    due = evaluate(quiet.state, observe(False), T0 + timedelta(minutes=11, seconds=30), POLICY)

    assert [n.kind for n in due.notifications] == [NotificationKind.REMINDER]
    assert due.notifications[0].title.startswith("REMINDER: ALERT LEVEL 3: GET /providers still")
    assert due.state.last_sent_at == T0 + timedelta(minutes=11, seconds=30)
    assert [e.kind for e in due.events] == ["reminded"]
    again = evaluate(due.state, observe(False), T0 + timedelta(minutes=12), POLICY)
    assert again.notifications == ()


def test_no_reminder_when_remind_every_is_none() -> None:
    policy = AlertPolicy(resolve_after=2, remind_every=None)
    state, _ = run([False], policy=policy)
    later = evaluate(state, observe(False), T0 + timedelta(days=1), policy)
    assert [n.kind for n in later.notifications] == [NotificationKind.ALERT]  # level 2 only
    latest = evaluate(later.state, observe(False), T0 + timedelta(days=3), policy)
    assert [n.level for n in latest.notifications] == [3]
    assert (
        evaluate(latest.state, observe(False), T0 + timedelta(days=9), policy).notifications == ()
    )


def test_resolve_after_consecutive_successes_sends_the_resolution() -> None:
    state, transitions = run([False, False, True, True])

    assert transitions[2].notifications == ()  # one success is not enough
    resolution = transitions[3].notifications
    assert [(n.kind, n.level) for n in resolution] == [(NotificationKind.RESOLVED, 2)]
    assert resolution[0].title == "RESOLVED: GET /providers is answering again"
    assert "2 consecutive successes after reaching level 2 (elevated)" in resolution[0].body
    assert state is not None
    assert (state.level, state.last_sent_level, state.consecutive_failures) == (0, 0, 0)
    assert state.resolved_at == T0 + timedelta(minutes=3)
    assert [e.kind for e in transitions[3].events] == ["resolved"]


def test_a_success_between_failures_keeps_the_level_and_restarts_the_count() -> None:
    state, transitions = run([False, False, True, False, False])

    assert state is not None
    assert state.level == 2
    assert [n.level for t in transitions for n in t.notifications] == [1, 2]
    state, more = run([False], state)
    assert state is not None
    assert state.level == 3
    assert [n.level for t in more for n in t.notifications] == [3]


def test_a_clear_probe_that_keeps_answering_changes_nothing() -> None:
    transition = evaluate(None, observe(True), T0, POLICY)
    assert not transition.changed
    assert transition.notifications == ()
    assert transition.events == ()
    stored = AlertState(key=KEY, updated_at=T0)
    assert not evaluate(stored, observe(True), T0 + timedelta(hours=1), POLICY).changed


def test_a_restored_state_continues_without_resending_what_was_sent() -> None:
    stored, _ = run([False, False])
    assert stored is not None
    restored = dataclasses.replace(stored)  # as read back from the store by a new monitor

    after = evaluate(restored, observe(False), T0 + timedelta(minutes=30), POLICY)

    assert [(n.kind, n.level) for n in after.notifications] == [(NotificationKind.ALERT, 3)]


def test_a_level_reached_but_never_sent_is_sent_on_the_next_failure() -> None:
    state = AlertState(key=KEY, level=2, consecutive_failures=2, last_sent_level=1)
    after = evaluate(state, observe(False), T0, POLICY)
    assert [n.level for n in after.notifications] == [3]
    assert after.state.last_sent_level == 3


def test_an_alert_never_sent_resolves_quietly() -> None:
    state = AlertState(key=KEY, level=1, consecutive_failures=1, last_sent_level=0)
    _, transitions = run([True, True], state)
    assert [n for t in transitions for n in t.notifications] == []
    assert [e.kind for t in transitions for e in t.events] == ["resolved"]


@pytest.mark.parametrize(
    ("resolve_after", "remind_every"), [(0, 60.0), (2, 0.0), (1, -5.0)], ids=str
)
def test_policy_rejects_values_that_cannot_work(resolve_after: int, remind_every: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        AlertPolicy(resolve_after=resolve_after, remind_every=remind_every)


@given(
    outcomes=st.lists(st.booleans(), max_size=60),
    resolve_after=st.integers(min_value=1, max_value=4),
)
def test_escalation_invariants_hold_for_any_sequence(
    outcomes: list[bool], resolve_after: int
) -> None:
    policy = AlertPolicy(resolve_after=resolve_after, remind_every=None)
    state: AlertState | None = None
    sent_in_episode: list[int] = []
    failures_run = longest_run = 0
    successes_run = 0
    for step, ok in enumerate(outcomes):
        transition = evaluate(state, observe(ok), T0 + timedelta(seconds=step), policy)
        state = transition.state
        failures_run = 0 if ok else failures_run + 1
        successes_run = successes_run + 1 if ok else 0
        longest_run = max(longest_run, failures_run)
        assert 0 <= state.level <= 3
        for notification in transition.notifications:
            if notification.kind is NotificationKind.ALERT:
                sent_in_episode.append(notification.level)
            else:
                assert notification.kind is NotificationKind.RESOLVED
                assert sent_in_episode, "a resolution always follows an alert"
                assert notification.level == max(sent_in_episode)
        if state.level == 0:
            # the episode is over (or never began): what it sent was 1, 2, 3 in order, once each
            assert sent_in_episode == list(range(1, len(sent_in_episode) + 1))
            sent_in_episode = []
            longest_run = 0
        else:
            assert state.level == min(3, longest_run)
            assert sent_in_episode == list(range(1, state.level + 1))
            assert successes_run < resolve_after

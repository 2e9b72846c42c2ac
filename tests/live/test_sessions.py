"""The requests sessions schemathesis sends through: each request within the target's bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from pytest_deploycheck.core.bounds import Bounds, describe_error
from pytest_deploycheck.live.sessions import (
    AnswerTooDeep,
    AnswerTooLargeError,
    BoundedAdapter,
    DeadlinePassed,
    EngineRun,
    bounded,
)

MIB = 1024 * 1024


@pytest.fixture
def run() -> EngineRun:
    return EngineRun(Bounds(timeout=0.5, max_body=MIB))


@pytest.fixture
def session(run: EngineRun) -> Iterator[requests.Session]:
    with requests.Session() as http:
        adapter = BoundedAdapter(run)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        yield http


def test_a_drip_ends_at_the_deadline(session: requests.Session, fault_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(DeadlinePassed) as caught:
        # requests' own timeout bounds each read: the drip would pass it for a minute
        session.get(f"{fault_server}/drip/x", timeout=0.4)
    assert time.monotonic() - started < 2.0
    assert describe_error(caught.value).startswith("no complete answer within 500ms")


def test_stopping_the_run_ends_a_request_in_flight_and_refuses_the_next(
    session: requests.Session, fault_server: str
) -> None:
    run = EngineRun(Bounds(timeout=30, max_body=MIB))
    session.mount("http://", BoundedAdapter(run))
    threading.Timer(0.3, run.stop).start()
    started = time.monotonic()
    with pytest.raises(DeadlinePassed, match=r"stopped \(contract.max_time\)"):
        session.get(f"{fault_server}/drip/x", timeout=30)
    assert time.monotonic() - started < 2.0
    with pytest.raises(DeadlinePassed):
        session.get(f"{fault_server}/ok/x", timeout=30)


@pytest.mark.parametrize("fault", ["huge", "huge-declared"])
def test_an_answer_over_max_body_is_refused(
    session: requests.Session, fault_server: str, fault: str
) -> None:
    with pytest.raises(AnswerTooLargeError) as caught:
        session.get(f"{fault_server}/{fault}/x", timeout=5)
    assert describe_error(caught.value).startswith(
        "the answer is larger than target.max_body (1.0 MiB)"
    )


def test_json_nested_too_deep_is_refused(session: requests.Session, fault_server: str) -> None:
    with pytest.raises(AnswerTooDeep) as caught:
        session.get(f"{fault_server}/deep/x", timeout=5)
    assert describe_error(caught.value) == "body nested deeper than 100 levels, too deep to check"


def test_an_answer_within_bounds_is_read_whole(
    session: requests.Session, fault_server: str
) -> None:
    response = session.get(f"{fault_server}/ok/x", timeout=5)
    assert response.json() == {"status": "ok"}


def test_only_the_engines_sessions_of_a_registered_config_are_bounded() -> None:
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import context

    ours = SchemathesisConfig.from_dict({"base-url": "http://svc"}).projects.default
    theirs = SchemathesisConfig.from_dict({"base-url": "http://svc"}).projects.default
    with bounded(ours, Bounds(1.0, MIB)):
        bounded_session = context.make_session(ours)
        plain_session = context.make_session(theirs)
    assert isinstance(bounded_session.get_adapter("http://svc/"), BoundedAdapter)
    assert not isinstance(plain_session.get_adapter("http://svc/"), BoundedAdapter)
    after = context.make_session(ours)
    assert not isinstance(after.get_adapter("http://svc/"), BoundedAdapter)

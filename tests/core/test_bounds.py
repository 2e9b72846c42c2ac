"""Bounds on every exchange: a whole deadline, a ceiling on the answer, redirects on demand."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

import httpx
import pytest

from pytest_deploycheck.core.bounds import (
    MAX_DEPTH,
    AnswerTooLarge,
    BodyTooDeep,
    Bounds,
    DeadlineExceeded,
    bounded_async_client,
    bounded_client,
    check_depth,
    describe_error,
    load_json,
)
from pytest_deploycheck.core.config import load_config
from pytest_deploycheck.core.errors import ConfigError
from tests.fault_server import tls_drip
from tests.live_server import free_port

MIB = 1024 * 1024
FAST = Bounds(timeout=0.5, max_body=MIB)


def get(base_url: str, bounds: Bounds = FAST, path: str = "/x") -> httpx.Response:
    with bounded_client(base_url, bounds) as client:
        return client.get(path)


def aget(base_url: str, bounds: Bounds = FAST, path: str = "/x") -> httpx.Response:
    async def go() -> httpx.Response:
        async with bounded_async_client(base_url, bounds) as client:
            return await client.get(path)

    return asyncio.run(go())


def failure(send: object, *args: object) -> BaseException:
    with pytest.raises(httpx.HTTPError) as caught:
        send(*args)  # type: ignore[operator]
    return caught.value


# -- the deadline --------------------------------------------------------------------------


@pytest.mark.parametrize("send", [get, aget], ids=["blocking", "asyncio"])
def test_a_drip_ends_at_the_deadline_not_after_the_whole_answer(
    fault_server: str, send: object
) -> None:
    """A byte every 200 ms: each read is quick, the answer would take a minute."""
    started = time.monotonic()
    error = failure(send, f"{fault_server}/drip")
    elapsed = time.monotonic() - started
    assert isinstance(error, DeadlineExceeded)
    assert 0.4 < elapsed < 2.0
    assert describe_error(error).startswith("no complete answer within 500ms")


@pytest.mark.parametrize("send", [get, aget], ids=["blocking", "asyncio"])
def test_a_tls_handshake_sent_a_byte_at_a_time_ends_at_the_deadline(send: object) -> None:
    started = time.monotonic()
    with tls_drip() as port:
        error = failure(send, f"https://127.0.0.1:{port}")
    assert time.monotonic() - started < 5  # the announced 16 KiB would take half an hour
    assert isinstance(error, httpx.TimeoutException)


def test_an_enclosing_deadline_shortens_the_requests_inside() -> None:
    from pytest_deploycheck.core.bounds import deadline

    with deadline(10) as outer, deadline(100) as inner:
        assert inner == outer


# -- the ceiling on an answer --------------------------------------------------------------


@pytest.mark.parametrize("send", [get, aget], ids=["blocking", "asyncio"])
@pytest.mark.parametrize("fault", ["huge", "huge-declared"])
def test_an_answer_over_max_body_stops_the_reading(
    fault_server: str, send: object, fault: str
) -> None:
    error = failure(send, f"{fault_server}/{fault}")
    assert isinstance(error, AnswerTooLarge)
    message = describe_error(error)
    assert message.startswith("the answer is larger than target.max_body (1.0 MiB)")
    if fault == "huge-declared":
        assert "its Content-Length is 50.0 MiB" in message


def mock(handler: object) -> httpx.MockTransport:
    return httpx.MockTransport(handler)  # type: ignore[arg-type]


def test_the_ceiling_counts_decoded_bytes_so_a_small_gzip_cannot_expand_past_it() -> None:
    bomb = gzip.compress(b"\0" * (2 * MIB))  # about 2 kB on the wire

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)

    assert len(bomb) < 10_000
    with (
        bounded_client("http://svc", FAST, transport=mock(handler)) as client,
        pytest.raises(AnswerTooLarge),
    ):
        client.get("/")


def test_an_answer_within_the_ceiling_arrives_decoded_and_whole() -> None:
    body = json.dumps({"items": list(range(1000))}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return httpx.Response(200, headers=headers, content=gzip.compress(body))

    with bounded_client("http://svc", FAST, transport=mock(handler)) as client:
        response = client.get("/")
    assert response.content == body
    assert "content-encoding" not in response.headers  # decoded already
    assert response.json()["items"][-1] == 999


# -- redirects -----------------------------------------------------------------------------


def test_a_redirect_is_the_answer_unless_redirects_are_followed(fault_server: str) -> None:
    response = get(f"{fault_server}/loop")
    assert response.status_code == 302
    assert response.headers["location"] == "/loop/x"


@pytest.mark.parametrize("send", [get, aget], ids=["blocking", "asyncio"])
def test_a_redirect_loop_fails_past_max_redirects(fault_server: str, send: object) -> None:
    error = failure(send, f"{fault_server}/loop", Bounds(0.5, MIB, max_redirects=3))
    assert isinstance(error, httpx.TooManyRedirects)
    assert describe_error(error) == (
        f"a redirect loop: {fault_server}/loop/x redirected more often than "
        "target.max_redirects allows"
    )


# -- nesting -------------------------------------------------------------------------------


def test_json_nested_too_deep_is_refused_without_a_recursion_error() -> None:
    with pytest.raises(BodyTooDeep, match="body nested deeper than 100 levels"):
        load_json(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(BodyTooDeep):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError, match="Expecting value"):
        load_json("not json")


def test_the_depth_check_walks_any_depth_with_its_own_stack() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(200_000):
        child: list[object] = []
        node.append(child)
        node = child
    with pytest.raises(BodyTooDeep):
        check_depth(deep)
    check_depth({"a": [{"b": [1, 2, {"c": None}]}]})


# -- naming what happened ------------------------------------------------------------------


@pytest.mark.parametrize("send", [get, aget], ids=["blocking", "asyncio"])
@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("reset", "the server reset the connection"),
        (
            "badstatus",
            "the server answered an invalid status line: 'HTTP/1.1 OK-ish, more or less'",
        ),
        (
            "short",
            "the server closed the connection after 10 of the 1000 bytes its Content-Length "
            "declared",
        ),
    ],
)
def test_a_broken_exchange_is_named(fault_server: str, send: object, fault: str, said: str) -> None:
    assert describe_error(failure(send, f"{fault_server}/{fault}")) == said


def test_tls_to_a_plain_server_and_a_refused_port_are_named(fault_server: str) -> None:
    tls = failure(get, fault_server.replace("http://", "https://") + "/ok")
    assert describe_error(tls) == "TLS error: [SSL: WRONG_VERSION_NUMBER] wrong version number"
    refused = failure(get, f"http://127.0.0.1:{free_port()}")
    assert describe_error(refused) == "connection refused: nothing listens at the target's address"


def test_requests_errors_are_named_like_httpx_ones(fault_server: str) -> None:
    import requests

    for fault, said in [
        ("reset", "the server reset the connection"),
        ("badstatus", "invalid status line: 'HTTP/1.1 OK-ish, more or less'"),
        ("short", "after 10 of the 1000 bytes its Content-Length declared"),
    ]:
        with pytest.raises(requests.RequestException) as caught:
            requests.get(f"{fault_server}/{fault}/x", timeout=2)
        assert said in describe_error(caught.value)


# -- configuration -------------------------------------------------------------------------


def test_the_target_section_sets_the_bounds(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n")
    config = tmp_path / "deployment-config.json"
    target = {"timeout": "2s", "max_body": "512 kB", "max_redirects": 2}
    config.write_text(json.dumps({"spec": "openapi.yaml", "target": target}))
    assert load_config(config, {}).bounds == Bounds(2.0, 512_000, 2)
    config.write_text(json.dumps({"spec": "openapi.yaml"}))
    assert load_config(config, {}).bounds == Bounds(10.0, 4 * MIB, 0)
    config.write_text(json.dumps({"spec": "openapi.yaml", "target": {"max_body": "lots"}}))
    with pytest.raises(ConfigError, match=r"target\.max_body"):
        load_config(config, {})

from __future__ import annotations

import httpx

from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.live.health import check_health, match_body


def client_for(responses: list[httpx.Response]) -> httpx.Client:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://svc")


def fake_clock(step: float) -> object:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def test_healthy_service_passes() -> None:
    with client_for([httpx.Response(200, json={"status": "ok", "db": {"ok": True}})]) as c:
        result = check_health(c, {"body": {"status": "ok", "db": {"ok": True}}})
    assert result.ok
    assert result.status == 200
    assert result.attempts == 1


def test_retries_then_reports_status_and_body() -> None:
    sleeps: list[float] = []
    responses = [httpx.Response(503, json={"status": "down"})]
    with client_for(responses) as c:
        result = check_health(
            c,
            {"body": {"status": "ok"}, "retries": 2, "retry_delay": "250ms"},
            sleep=sleeps.append,
        )
    assert not result.ok
    assert result.attempts == 3
    assert sleeps == [0.25, 0.25]
    rules = sorted(f.rule for f in result.findings)
    assert rules == ["health-body", "health-status"]
    assert any("body.status is 'down', expected 'ok'" in f.message for f in result.findings)


def test_slow_answer_fails_on_latency_with_injected_clock() -> None:
    with client_for([httpx.Response(200)]) as c:
        result = check_health(
            c,
            {"max_latency": "500ms", "retries": 0},
            clock=fake_clock(0.8),  # type: ignore[arg-type]
        )
    [finding] = result.findings
    assert finding.rule == "health-latency"
    assert "800ms" in finding.message


def test_unreachable_service() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://svc") as c:
        result = check_health(c, {"retries": 0})
    assert result.findings[0].rule == "health-unreachable"


def test_match_body_is_a_subset_match() -> None:
    assert match_body({"a": 1}, {"a": 1, "b": 2}) == []
    assert match_body({"a": {"b": 1}}, {"a": 3}) == ["body.a should be an object, got 3"]
    assert match_body({"x": 1}, {}) == ["body.x is missing (expected 1)"]


SECRET = "tok-7e2c91d4aa0b"


def test_a_secret_crossing_the_preview_cut_is_masked_whole() -> None:
    # cut at 200 characters first, the token's first characters would stay
    body = "x" * 195 + SECRET + "y" * 100
    for status in (500, 200):
        with httpx.Client(
            transport=httpx.MockTransport(lambda _request, s=status: httpx.Response(s, text=body)),
            base_url="http://svc",
            headers={"Authorization": f"Bearer {SECRET}"},
        ) as client:
            result = check_health(client, {"retries": 0, "body": {"status": "ok"}})
        text = " ".join(finding.message for finding in result.findings)
        assert "***" in text
        assert SECRET[:4] not in text


def test_values_quoted_by_body_matching_are_masked_before_they_are_shortened() -> None:
    redactor = Redactor([SECRET])
    problems = match_body({"who": "me"}, {"who": "a" * 70 + SECRET}, redactor=redactor)
    assert problems == ["body.who is '" + "a" * 70 + "***..., expected 'me'"]


def test_a_redirect_is_reported_as_one_not_followed() -> None:
    redirect = httpx.Response(302, headers={"Location": "/login"})
    with client_for([redirect]) as c:
        [finding] = check_health(c, {"retries": 0}).findings
    assert finding.rule == "health-status"
    assert "answered 302, expected 200: a redirect to /login" in finding.message
    assert "target.max_redirects" in finding.message


def test_a_body_nested_too_deep_is_a_finding_not_a_recursion_error() -> None:
    deep = httpx.Response(200, content=b"[" * 50_000 + b"]" * 50_000)
    with client_for([deep]) as c:
        [finding] = check_health(c, {"retries": 0, "body": {"status": "ok"}}).findings
    assert finding.rule == "health-body"
    assert finding.message == "GET /health: body nested deeper than 100 levels, too deep to check"

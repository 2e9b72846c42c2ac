"""The health check: status, JSON body conditions and latency, with bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pytest_deploycheck.core.bounds import BodyTooDeep, describe_error, load_json
from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.units import format_duration, parse_duration

__all__ = ["HealthResult", "check_health", "match_body"]


@dataclass
class HealthResult:
    """The last attempt's findings, status and latency, and how many attempts it took."""

    findings: list[Finding] = field(default_factory=list)
    status: int | None = None
    latency_ms: float | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


_NO_SECRETS = Redactor(())
_SNIPPET = 200


def match_body(
    expected: Any, actual: Any, path: str = "body", redactor: Redactor = _NO_SECRETS
) -> list[str]:
    """Where ``actual`` differs from ``expected``; mappings match as subsets. Values quoted
    in a problem are masked by ``redactor`` before they are shortened."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path} should be an object, got {_short(actual, redactor)}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key} is missing (expected {_short(value, redactor)})")
            else:
                problems.extend(match_body(value, actual[key], f"{path}.{key}", redactor))
        return problems
    if expected != actual:
        return [f"{path} is {_short(actual, redactor)}, expected {_short(expected, redactor)}"]
    return []


def _short(value: Any, redactor: Redactor, limit: int = 80) -> str:
    # masked before the cut: a cut through a secret would leave its start unrecognisable
    return redactor.preview(repr(value), limit)


def check_health(
    client: httpx.Client,
    section: Mapping[str, Any],
    *,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    redactor: Redactor | None = None,
) -> HealthResult:
    """Probe the health endpoint, retrying ``retries`` times before reporting a failure.

    What the answer quotes is masked by ``redactor`` (default: the credentials of the
    client's headers) before it is shortened.
    """
    if redactor is None:
        redactor = Redactor.for_headers(client.headers.items())
    path = str(section.get("path", "/health"))
    method = str(section.get("method", "GET")).upper()
    expect_status = section.get("expect_status", 200)
    statuses = set(expect_status) if isinstance(expect_status, list) else {expect_status}
    max_latency = parse_duration(section.get("max_latency", "2s"))
    retries = int(section.get("retries", 2))
    delay = parse_duration(section.get("retry_delay", "1s"))
    result = HealthResult()
    for attempt in range(retries + 1):
        if attempt:
            sleep(delay)
        result = _attempt(
            client, method, path, statuses, section.get("body"), max_latency, clock, redactor
        )
        result.attempts = attempt + 1
        if result.ok:
            break
    return result


def _attempt(
    client: httpx.Client,
    method: str,
    path: str,
    statuses: set[Any],
    body: Any,
    max_latency: float,
    clock: Callable[[], float],
    redactor: Redactor,
) -> HealthResult:
    where = f"{method} {path}"
    started = clock()
    try:
        response = client.request(method, path)
    except httpx.TimeoutException as exc:
        latency = (clock() - started) * 1000
        message = f"{where} did not answer in time: {describe_error(exc)}"
        return HealthResult([Finding("health-timeout", message, location=where)], None, latency)
    except httpx.HTTPError as exc:
        latency = (clock() - started) * 1000
        message = f"{where} could not be reached: {describe_error(exc)}"
        return HealthResult([Finding("health-unreachable", message, location=where)], None, latency)
    latency = (clock() - started) * 1000
    findings = []
    if response.status_code not in statuses:
        expected = " or ".join(str(s) for s in sorted(statuses))
        if 300 <= response.status_code < 400:
            location = response.headers.get("location", "nowhere")
            snippet = (
                f"a redirect to {redactor.redact(location)}, and redirects are followed only "
                "up to target.max_redirects (none by default)"
            )
        else:
            snippet = repr(redactor.preview(response.text, _SNIPPET))
        message = f"{where} answered {response.status_code}, expected {expected}: {snippet}"
        findings.append(Finding("health-status", message, location=where))
    if body is not None:
        try:
            payload = load_json(response.content)
        except BodyTooDeep as exc:
            findings.append(Finding("health-body", f"{where}: {exc}", location=where))
        except ValueError:
            snippet = redactor.preview(response.text, _SNIPPET)
            message = f"{where} did not answer JSON: {snippet!r}"
            findings.append(Finding("health-body", message, location=where))
        else:
            for problem in match_body(body, payload, redactor=redactor):
                findings.append(Finding("health-body", f"{where}: {problem}", location=where))
    if latency > max_latency * 1000:
        message = (
            f"{where} took {format_duration(latency / 1000)}, "
            f"over health.max_latency {format_duration(max_latency)}"
        )
        findings.append(Finding("health-latency", message, location=where))
    return HealthResult(findings, response.status_code, latency)

"""Fault switches and settings: each switch breaks what it says, from the environment or a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from booking_helpers import (
    ADA,
    SEEDED_APPOINTMENT,
    SPEC_DOCUMENT,
    assert_problem,
    booking,
    schema_validator,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

from examples.booking_api.app import create_app, drift
from examples.booking_api.faults import FAULTS, FaultError, FaultSwitches, parse_faults
from examples.booking_api.settings import Settings, SettingsError
from pytest_deploycheck.core.spec import Spec

CANCEL = ("/appointments/{appointment_id}/cancel", "post")


def test_parse_faults_accepts_commas_lines_and_comments() -> None:
    text = "slow, drift\n# a comment\n\nunhealthy,\n"
    assert parse_faults(text, "x") == {"slow", "drift", "unhealthy"}
    assert parse_faults("", "x") == frozenset()


def test_parse_faults_names_the_unknown_switches_and_the_known_ones() -> None:
    with pytest.raises(FaultError) as raised:
        parse_faults("slow,typo,boom", "BOOKING_FAULTS")
    message = str(raised.value)
    assert message.startswith("BOOKING_FAULTS: unknown fault switch 'boom', 'typo';")
    assert all(name in message for name in FAULTS)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BOOKING_FAULTS": "slow,nope"}, "BOOKING_FAULTS: unknown fault switch 'nope'"),
        ({"BOOKING_SLOW_MS": "1.5s"}, "BOOKING_SLOW_MS must be a whole number"),
        ({"BOOKING_SEED": "yes"}, "BOOKING_SEED must be 0 or 1 (got 'yes')"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert message in str(raised.value)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "BOOKING_DATABASE": str(tmp_path / "b.db"),
            "BOOKING_SEED": "0",
            "BOOKING_FAULTS": "slow, drift",
            "BOOKING_FAULTS_FILE": str(tmp_path / "faults"),
            "BOOKING_SLOW_MS": "250",
        }
    )
    assert settings == Settings(
        database=str(tmp_path / "b.db"),
        seed=False,
        faults=frozenset({"slow", "drift"}),
        faults_file=tmp_path / "faults",
        slow_ms=250,
    )
    assert Settings.from_env({}) == Settings()


def test_an_unseeded_service_starts_empty(make_app: Callable[..., FastAPI]) -> None:
    client = TestClient(make_app(seed=False))
    assert client.get("/providers").json()["total"] == 0
    assert client.get("/appointments").json()["total"] == 0


def test_the_drifted_spec_lacks_exactly_the_cancel_operation() -> None:
    drifted = drift(SPEC_DOCUMENT)
    original = {op.label for op in Spec(SPEC_DOCUMENT).operations}
    assert {op.label for op in Spec(drifted).operations} == original - {
        "POST /appointments/{appointment_id}/cancel"
    }
    links = [
        link
        for item in drifted["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for link in response.get("links", {}).values()
    ]
    assert links
    assert all(link["operationId"] != "cancelAppointment" for link in links)
    assert SPEC_DOCUMENT["paths"][CANCEL[0]][CANCEL[1]]  # the original is untouched


# What each switch breaks, checked against a client of a service with that switch on.
def broke_server_error(client: TestClient) -> bool:
    return bool(client.get("/providers").status_code == 500)


def broke_slow(client: TestClient, sleeps: list[float]) -> bool:
    client.get(f"/providers/{ADA}/slots", params={"date": "2030-01-07"})
    return sleeps == [0.25]


def broke_bad_body(client: TestClient) -> bool:
    body = client.get(f"/appointments/{SEEDED_APPOINTMENT}").json()
    return not bool(schema_validator("Appointment").is_valid(body))


def broke_accept_invalid(client: TestClient) -> bool:
    invalid = {**booking("2030-01-07T10:00:00Z"), "patient_email": "not-an-email"}
    del invalid["patient_name"]
    stored = client.get("/appointments").json()["total"]
    response = client.post("/appointments", json=invalid)
    if response.status_code != 201:
        assert_problem(response, 422, "validation")
        return False
    assert client.get("/appointments").json()["total"] == stored  # accepted, not stored
    return "location" in response.headers


def broke_lose_created(client: TestClient) -> bool:
    free = client.get(f"/providers/{ADA}/slots", params={"date": "2030-01-07"}).json()["items"]
    created = client.post("/appointments", json=booking(free[0]["starts_at"]))
    assert created.status_code == 201
    return bool(client.get(created.headers["location"]).status_code == 404)


def broke_drift(client: TestClient) -> bool:
    served = client.get("/openapi.json").json()
    return served != SPEC_DOCUMENT and "post" not in served["paths"].get(CANCEL[0], {})


def broke_unhealthy(client: TestClient) -> bool:
    response = client.get("/health")
    return response.status_code == 503 and bool(response.json()["database"] == "ok")


def broke_flaky(client: TestClient) -> bool:
    statuses = [client.get("/providers").status_code for _ in range(40)]
    assert all(client.get("/health").status_code == 200 for _ in range(10))
    failed = statuses.count(500)
    assert set(statuses) <= {200, 500}
    return 0 < failed < 40  # some of them, not all


def broke_jitter(client: TestClient, sleeps: list[float]) -> bool:
    for _ in range(5):
        assert client.get("/providers").status_code == 200
    return len(sleeps) == 5 and all(0.0 <= s <= 0.4 for s in sleeps) and len(set(sleeps)) == 5


def broke_degrade(client: TestClient, sleeps: list[float]) -> bool:
    for _ in range(3):
        assert client.get(f"/providers/{ADA}").status_code == 200
        client.get("/providers")  # other operations do not slow down
    return sleeps == pytest.approx([0.010, 0.020, 0.030])


CHECKS: dict[str, Callable[..., bool]] = {
    "server_error": broke_server_error,
    "slow": broke_slow,
    "bad_body": broke_bad_body,
    "accept_invalid": broke_accept_invalid,
    "lose_created": broke_lose_created,
    "drift": broke_drift,
    "unhealthy": broke_unhealthy,
    "flaky": broke_flaky,
    "jitter": broke_jitter,
    "degrade": broke_degrade,
}
# the checks that look at what the service slept
SLEEPERS = frozenset({"slow", "jitter", "degrade"})


def test_every_switch_has_a_check() -> None:
    assert set(CHECKS) == set(FAULTS)


def run_check(name: str, app: FastAPI, sleeps: list[float]) -> bool:
    client = TestClient(app)
    return CHECKS[name](client, sleeps) if name in SLEEPERS else CHECKS[name](client)


def build(sleeps: list[float], **fields: Any) -> FastAPI:
    return create_app(Settings(slow_ms=250, **fields), sleep=sleeps.append)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_switch_breaks_its_operation_only_when_on(name: str) -> None:
    healthy_sleeps: list[float] = []
    assert not run_check(name, build(healthy_sleeps), healthy_sleeps)
    sleeps: list[float] = []
    assert run_check(name, build(sleeps, faults=frozenset({name})), sleeps)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_switch_breaks_a_running_service_from_the_file_and_heals(
    name: str, tmp_path: Path
) -> None:
    faults = tmp_path / "faults.txt"
    sleeps: list[float] = []
    app = build(sleeps, faults_file=faults)  # a missing file means no switch
    assert not run_check(name, app, sleeps)
    faults.write_text(f"{name}\n")
    assert run_check(name, app, sleeps)
    faults.write_text("")
    sleeps.clear()
    assert not run_check(name, app, sleeps)


def test_the_file_is_read_again_on_every_request(tmp_path: Path) -> None:
    faults = tmp_path / "faults.txt"
    client = TestClient(create_app(Settings(faults_file=faults)))
    assert client.get("/health").status_code == 200
    faults.write_text("unhealthy")
    assert client.get("/health").status_code == 503
    faults.write_text("server_error")
    assert client.get("/health").status_code == 200
    assert_problem(client.get("/providers"), 500)
    faults.write_text("lose_created")  # same size, maybe the same mtime: the content decides
    assert client.get("/providers").status_code == 200
    assert_problem(client.get(f"/appointments/{SEEDED_APPOINTMENT}"), 404, "not-found")
    faults.unlink()
    assert client.get(f"/appointments/{SEEDED_APPOINTMENT}").status_code == 200


def test_a_bad_file_is_refused_at_start_up_and_ignored_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faults = tmp_path / "faults.txt"
    faults.write_text("unhealthy,sloww")
    with pytest.raises(SettingsError, match=r"faults\.txt.*unknown fault switch 'sloww'"):
        create_app(Settings(faults_file=faults))
    faults.write_text("")
    switches = FaultSwitches(frozenset({"drift"}), faults)
    faults.write_text("unhealthy,sloww")
    assert switches.active() == {"drift", "unhealthy"}
    assert "unknown fault switch 'sloww'" in caplog.text


def test_broken_bodies_really_break_the_schema(make_app: Callable[..., FastAPI]) -> None:
    client = TestClient(make_app(faults=frozenset({"bad_body"})))
    body = client.get(f"/appointments/{SEEDED_APPOINTMENT}").json()
    errors = {error.validator for error in schema_validator("Appointment").iter_errors(body)}
    assert errors == {"enum", "required"}
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("Appointment").validate(body)

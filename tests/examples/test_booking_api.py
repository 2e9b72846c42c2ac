"""Every endpoint of the booking service, through FastAPI's TestClient."""

from __future__ import annotations

from typing import Any

import pytest
from booking_helpers import (
    ADA,
    FIXED_NOW,
    LIN,
    NIGHT,
    SEEDED_APPOINTMENT,
    SPEC_DOCUMENT,
    UNKNOWN_ID,
    assert_problem,
    booking,
    schema_validator,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

NOW = FIXED_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
NEW_PROVIDER = {
    "name": "Dr. Sam Ito",
    "specialty": "dentistry",
    "opens_at": "08:00",
    "closes_at": "12:00",
}


def valid(component: str, body: Any) -> Any:
    schema_validator(component).validate(body)
    return body


def issues(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(issue["location"], issue["field"]) for issue in body["errors"]}


# -- health and the served spec ---------------------------------------------------------------


def test_health_reports_ok_with_the_version(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert valid("Health", response.json()) == {
        "status": "ok",
        "database": "ok",
        "version": SPEC_DOCUMENT["info"]["version"],
    }


def test_health_answers_503_when_the_database_cannot_be_queried(
    app: FastAPI, client: TestClient
) -> None:
    app.state.booking.service.database.close()
    response = client.get("/health")
    assert response.status_code == 503
    assert valid("Health", response.json())["database"] == "unavailable"
    assert response.json()["status"] == "unavailable"


def test_the_served_spec_is_the_hand_written_file(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SPEC_DOCUMENT


def test_get_operations_answer_head_too(client: TestClient) -> None:
    response = client.head(f"/providers/{ADA}")
    assert response.status_code == 200
    assert response.content == b""


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/patients"), 404)
    assert body["type"] == "about:blank"
    assert "/patients" in body["detail"]


def test_an_unsupported_method_is_a_405_naming_every_allowed_method(client: TestClient) -> None:
    response = client.delete("/appointments")
    body = assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert "DELETE" in body["detail"]


# -- providers ----------------------------------------------------------------------------------


def test_providers_are_listed_by_name_with_a_total(client: TestClient) -> None:
    page = valid("ProviderList", client.get("/providers").json())
    assert [p["name"] for p in page["items"]] == [
        "Dr. Ada Okafor",
        "Dr. Lin Moreau",
        "Night Clinic",
    ]
    assert (page["total"], page["limit"], page["offset"]) == (3, 20, 0)


def test_providers_filter_by_specialty(client: TestClient) -> None:
    page = client.get("/providers", params={"specialty": "dentistry"}).json()
    assert [p["id"] for p in page["items"]] == [LIN]
    assert page["total"] == 1
    assert client.get("/providers", params={"specialty": "Dentistry"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "ids", "total"),
    [
        ({"limit": 2}, [ADA, LIN], 3),
        ({"limit": 2, "offset": 2}, [NIGHT], 3),
        ({"offset": 3}, [], 3),
        ({"limit": "1.0", "offset": "1"}, [LIN], 3),  # 1.0 is an integer in JSON Schema
    ],
)
def test_providers_paginate(
    client: TestClient, params: dict[str, Any], ids: list[str], total: int
) -> None:
    page = client.get("/providers", params=params).json()
    assert [p["id"] for p in page["items"]] == ids
    assert page["total"] == total


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=1.5",
        "limit=1&limit=2",
        "offset=-1",
        "offset=1000001",
        "specialty=",
        f"specialty={'x' * 61}",
    ],
)
def test_invalid_list_parameters_are_422(client: TestClient, query: str) -> None:
    body = assert_problem(client.get(f"/providers?{query}"), 422, "validation")
    assert issues(body) == {("query", query.split("=")[0])}


def test_a_created_provider_is_located_and_readable(client: TestClient) -> None:
    response = client.post("/providers", json=NEW_PROVIDER)
    assert response.status_code == 201
    created = valid("Provider", response.json())
    assert created == {
        **NEW_PROVIDER,
        "id": "00000000-0000-4000-8000-000000000001",
        "slot_minutes": 30,  # the default
        "created_at": NOW,
    }
    assert response.headers["location"] == f"/providers/{created['id']}"
    assert client.get(response.headers["location"]).json() == created
    assert client.get("/providers").json()["total"] == 4


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**NEW_PROVIDER, "slot_minutes": "30"}, {"/slot_minutes"}),
        ({**NEW_PROVIDER, "slot_minutes": 4}, {"/slot_minutes"}),
        ({**NEW_PROVIDER, "slot_minutes": 30.5}, {"/slot_minutes"}),
        ({**NEW_PROVIDER, "opens_at": "24:00", "closes_at": "9:00"}, {"/opens_at", "/closes_at"}),
        ({**NEW_PROVIDER, "name": "", "owner": "me"}, {"/name", "/owner"}),
        ({"name": "Dr. No"}, {"/specialty", "/opens_at", "/closes_at"}),
        ([NEW_PROVIDER], {""}),
    ],
)
def test_invalid_provider_bodies_are_422_naming_each_field(
    client: TestClient, body: Any, fields: set[str]
) -> None:
    problem = assert_problem(client.post("/providers", json=body), 422, "validation")
    assert issues(problem) == {("body", field) for field in fields}
    assert client.get("/providers").json()["total"] == 3


def test_a_body_that_is_not_json_is_422_and_another_media_type_415(client: TestClient) -> None:
    broken = client.post("/providers", content=b"{", headers={"content-type": "application/json"})
    assert "not valid JSON" in assert_problem(broken, 422, "validation")["errors"][0]["detail"]
    form = client.post("/providers", data={"name": "x"})
    body = assert_problem(form, 415, "unsupported-media-type")
    assert "application/x-www-form-urlencoded" in body["detail"]


def test_providers_are_found_by_id_in_either_case(client: TestClient) -> None:
    provider = valid("Provider", client.get(f"/providers/{ADA.upper()}").json())
    assert (provider["id"], provider["opens_at"], provider["closes_at"]) == (ADA, "09:00", "17:00")


def test_unknown_and_malformed_provider_ids(client: TestClient) -> None:
    assert (
        UNKNOWN_ID
        in assert_problem(client.get(f"/providers/{UNKNOWN_ID}"), 404, "not-found")["detail"]
    )
    for malformed in ("42", ADA.replace("-", ""), f"{{{ADA}}}"):
        body = assert_problem(client.get(f"/providers/{malformed}"), 422, "validation")
        assert issues(body) == {("path", "provider_id")}


# -- slots --------------------------------------------------------------------------------------


def slot_starts(client: TestClient, provider_id: str, day: str) -> list[str]:
    response = client.get(f"/providers/{provider_id}/slots", params={"date": day})
    assert response.status_code == 200, response.text
    body = valid("SlotList", response.json())
    assert (body["provider_id"], body["date"]) == (provider_id, day)
    return [slot["starts_at"] for slot in body["items"]]


def test_slots_are_the_working_hours_minus_booked_appointments(client: TestClient) -> None:
    starts = slot_starts(client, ADA, "2030-01-07")
    # 09:00-17:00 in 30 minutes is 16 slots; the seeded appointment holds 09:00.
    assert len(starts) == 15
    assert starts[0] == "2030-01-07T09:30:00Z"
    assert starts[-1] == "2030-01-07T16:30:00Z"
    assert len(slot_starts(client, ADA, "2030-01-08")) == 16


def test_a_booking_takes_its_slot_and_a_cancellation_gives_it_back(client: TestClient) -> None:
    created = client.post("/appointments", json=booking("2030-01-07T10:00:00Z")).json()
    assert "2030-01-07T10:00:00Z" not in slot_starts(client, ADA, "2030-01-07")
    client.post(f"/appointments/{created['id']}/cancel")
    assert "2030-01-07T10:00:00Z" in slot_starts(client, ADA, "2030-01-07")


def test_overnight_slots_belong_to_the_day_they_start(client: TestClient) -> None:
    starts = slot_starts(client, NIGHT, "2030-01-07")
    assert len(starts) == 16
    assert (starts[0], starts[-1]) == ("2030-01-07T22:00:00Z", "2030-01-08T01:45:00Z")


def test_slots_of_year_zero_are_an_empty_list(client: TestClient) -> None:
    # RFC 3339 (and jsonschema-rs, which schemathesis uses) accept year 0; Python cannot.
    response = client.get(f"/providers/{ADA}/slots", params={"date": "0000-01-01"})
    assert response.status_code == 200
    assert response.json() == {"provider_id": ADA, "date": "0000-01-01", "items": []}


@pytest.mark.parametrize(
    "query", ["", "?date=2030-02-30", "?date=07/01/2030", "?date=2030-01-07T00:00:00Z"]
)
def test_slots_need_a_valid_date(client: TestClient, query: str) -> None:
    body = assert_problem(client.get(f"/providers/{ADA}/slots{query}"), 422, "validation")
    assert issues(body) == {("query", "date")}


def test_slots_of_an_unknown_provider_are_404(client: TestClient) -> None:
    assert_problem(client.get(f"/providers/{UNKNOWN_ID}/slots?date=2030-01-07"), 404, "not-found")


# -- appointments -------------------------------------------------------------------------------


def test_an_appointment_is_booked_located_and_readable(client: TestClient) -> None:
    response = client.post("/appointments", json=booking("2030-01-07T11:30:00+01:00", notes="hi"))
    assert response.status_code == 201, response.text
    created = valid("Appointment", response.json())
    assert created == {
        "id": "00000000-0000-4000-8000-000000000001",
        "provider_id": ADA,
        "patient_name": "Alan Turing",
        "patient_email": "alan@example.com",
        "starts_at": "2030-01-07T10:30:00Z",  # stored in UTC
        "ends_at": "2030-01-07T11:00:00Z",
        "status": "booked",
        "notes": "hi",
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert response.headers["location"] == f"/appointments/{created['id']}"
    assert client.get(response.headers["location"]).json() == created


def test_a_double_booking_is_409(client: TestClient) -> None:
    body = assert_problem(
        client.post("/appointments", json=booking("2030-01-07T09:00:00Z")), 409, "slot-unavailable"
    )
    assert "2030-01-07T09:00:00Z" in body["detail"]
    # The same instant written with another offset is the same slot.
    assert_problem(
        client.post("/appointments", json=booking("2030-01-07T04:00:00-05:00")),
        409,
        "slot-unavailable",
    )


@pytest.mark.parametrize(
    "starts_at",
    [
        "2030-01-07T08:30:00Z",  # before opening
        "2030-01-07T16:45:00Z",  # the last slot would end after closing
        "2030-01-07T17:00:00Z",  # closing time
        "2030-01-07T09:15:00Z",  # not a slot start
        "2030-01-07T09:30:01Z",
        "9999-12-31T23:30:00-05:00",  # past the last instant Python can hold
        "0000-06-01T12:00:00Z",
    ],
)
def test_a_time_that_starts_no_slot_is_409(client: TestClient, starts_at: str) -> None:
    body = assert_problem(
        client.post("/appointments", json=booking(starts_at)), 409, "no-such-slot"
    )
    assert "09:00 to 17:00" in body["detail"]


def test_booking_an_unknown_provider_is_404(client: TestClient) -> None:
    response = client.post("/appointments", json=booking("2030-01-07T10:00:00Z", UNKNOWN_ID))
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"patient_email": "alan.example.com"}, {"/patient_email"}),
        ({"patient_email": "a" * 250 + "@x.io"}, {"/patient_email"}),
        ({"starts_at": "2030-01-07 10:00"}, {"/starts_at"}),
        ({"starts_at": "2030-01-07T10:00:00"}, {"/starts_at"}),
        ({"provider_id": "ada"}, {"/provider_id"}),
        ({"patient_name": None, "notes": "x" * 501}, {"/patient_name", "/notes"}),
        ({"status": "booked"}, {"/status"}),
    ],
)
def test_invalid_appointment_bodies_are_422(
    client: TestClient, overrides: dict[str, Any], fields: set[str]
) -> None:
    body = {**booking("2030-01-07T10:00:00Z"), **overrides}
    response = client.post("/appointments", json=body)
    assert issues(assert_problem(response, 422, "validation")) == {("body", f) for f in fields}


def test_a_missing_field_is_named(client: TestClient) -> None:
    body = {
        key: value for key, value in booking("2030-01-07T10:00:00Z").items() if key != "starts_at"
    }
    problem = assert_problem(client.post("/appointments", json=body), 422, "validation")
    assert problem["errors"] == [
        {"location": "body", "field": "/starts_at", "detail": "Field required"}
    ]


def test_unknown_and_malformed_appointment_ids(client: TestClient) -> None:
    for path in ("", "/cancel"):
        method = client.get if not path else client.post
        assert_problem(method(f"/appointments/{UNKNOWN_ID}{path}"), 404, "not-found")
        assert_problem(method(f"/appointments/not-an-id{path}"), 422, "validation")
    reschedule = {"starts_at": "2030-01-07T10:00:00Z"}
    assert_problem(client.post(f"/appointments/{UNKNOWN_ID}/reschedule", json=reschedule), 404)


def book(client: TestClient, starts_at: str, provider_id: str = ADA) -> str:
    response = client.post("/appointments", json=booking(starts_at, provider_id))
    assert response.status_code == 201, response.text
    identifier: str = response.json()["id"]
    return identifier


def test_appointments_list_in_start_order_with_filters_and_pages(client: TestClient) -> None:
    late = book(client, "2030-01-07T16:00:00Z")
    lin = book(client, "2030-01-07T08:20:00Z", LIN)
    cancelled = book(client, "2030-01-08T09:00:00Z")
    client.post(f"/appointments/{cancelled}/cancel")

    def ids(**params: Any) -> list[str]:
        page = valid("AppointmentList", client.get("/appointments", params=params).json())
        return [item["id"] for item in page["items"]]

    assert ids() == [lin, SEEDED_APPOINTMENT, late, cancelled]
    assert ids(provider_id=ADA) == [SEEDED_APPOINTMENT, late, cancelled]
    assert ids(status="cancelled") == [cancelled]
    assert ids(**{"from": "2030-01-07T09:00:00Z", "to": "2030-01-08T09:00:00Z"}) == [
        SEEDED_APPOINTMENT,
        late,
    ]
    assert ids(**{"from": "2030-01-07T09:00:00.000001Z"}) == [late, cancelled]
    assert ids(to="2030-01-07T10:00:00+01:00") == [lin]  # the end is exclusive
    assert ids(to="2030-01-07T10:00:00.1+01:00") == [lin, SEEDED_APPOINTMENT]
    assert ids(**{"from": "9999-12-31T23:59:00-01:00"}) == []
    assert ids(**{"from": "0000-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-23:59"}) == ids()
    assert ids(to="0000-12-31T23:59:59Z") == []
    page = client.get("/appointments", params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [SEEDED_APPOINTMENT, late]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


@pytest.mark.parametrize(
    "query", ["status=pending", "provider_id=ada", "from=yesterday", "to=2030-01-07", "limit=0"]
)
def test_invalid_appointment_filters_are_422(client: TestClient, query: str) -> None:
    body = assert_problem(client.get(f"/appointments?{query}"), 422, "validation")
    assert issues(body) == {("query", query.split("=")[0])}


def test_rescheduling_moves_the_appointment_and_frees_the_old_slot(client: TestClient) -> None:
    identifier = book(client, "2030-01-07T10:00:00Z")
    response = client.post(
        f"/appointments/{identifier}/reschedule", json={"starts_at": "2030-01-07T14:00:00Z"}
    )
    assert response.status_code == 200
    moved = valid("Appointment", response.json())
    assert (moved["starts_at"], moved["ends_at"]) == (
        "2030-01-07T14:00:00Z",
        "2030-01-07T14:30:00Z",
    )
    assert client.get(f"/appointments/{identifier}").json() == moved
    starts = slot_starts(client, ADA, "2030-01-07")
    assert "2030-01-07T10:00:00Z" in starts
    assert "2030-01-07T14:00:00Z" not in starts


def test_rescheduling_to_the_same_slot_changes_nothing(client: TestClient) -> None:
    before = client.get(f"/appointments/{SEEDED_APPOINTMENT}").json()
    response = client.post(
        f"/appointments/{SEEDED_APPOINTMENT}/reschedule",
        json={"starts_at": "2030-01-07T10:00:00+01:00"},
    )
    assert response.status_code == 200
    assert response.json() == before


def test_rescheduling_conflicts_are_409(client: TestClient) -> None:
    identifier = book(client, "2030-01-07T10:00:00Z")
    path = f"/appointments/{identifier}/reschedule"
    assert_problem(
        client.post(path, json={"starts_at": "2030-01-07T09:00:00Z"}), 409, "slot-unavailable"
    )
    assert_problem(
        client.post(path, json={"starts_at": "2030-01-07T18:00:00Z"}), 409, "no-such-slot"
    )
    client.post(f"/appointments/{identifier}/cancel")
    body = assert_problem(
        client.post(path, json={"starts_at": "2030-01-07T12:00:00Z"}), 409, "appointment-cancelled"
    )
    assert identifier in body["detail"]


def test_invalid_reschedule_bodies(client: TestClient) -> None:
    path = f"/appointments/{SEEDED_APPOINTMENT}/reschedule"
    body = assert_problem(client.post(path, json={"starts_at": "soon", "provider_id": LIN}), 422)
    assert issues(body) == {("body", "/starts_at"), ("body", "/provider_id")}
    assert_problem(client.post(path, content=b"starts_at=x"), 415, "unsupported-media-type")


def test_cancelling_twice_is_409(client: TestClient) -> None:
    response = client.post(f"/appointments/{SEEDED_APPOINTMENT}/cancel")
    assert response.status_code == 200
    cancelled = valid("Appointment", response.json())
    assert cancelled["status"] == "cancelled"
    assert cancelled["updated_at"] == NOW
    assert client.get(f"/appointments/{SEEDED_APPOINTMENT}").json() == cancelled
    again = client.post(f"/appointments/{SEEDED_APPOINTMENT}/cancel")
    assert_problem(again, 409, "already-cancelled")

"""Pydantic models of the request and response bodies, one per component schema of the spec.

Class names, field names, types, ``required``, enums and formats match
``specs/booking.openapi.yaml``; a test compares them. Request models are strict (no coercion
of ``"30"`` into 30) and forbid unknown fields, as the spec's ``additionalProperties: false``
does. String formats are checked with the same JSON Schema engine schemathesis uses, so the
service accepts exactly the values the spec calls valid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import jsonschema_rs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

__all__ = [
    "Appointment",
    "AppointmentCreate",
    "AppointmentList",
    "AppointmentStatus",
    "ClockTime",
    "Health",
    "HealthState",
    "Problem",
    "Provider",
    "ProviderCreate",
    "ProviderList",
    "Reschedule",
    "Slot",
    "SlotList",
    "SlotMinutes",
    "ValidationIssue",
    "check_format",
]


def check_format(name: str) -> Callable[[str], str]:
    """A validator that accepts exactly the strings JSON Schema's ``format: name`` accepts."""
    validator = jsonschema_rs.validator_for(
        {"type": "string", "format": name}, validate_formats=True
    )

    def check(value: str) -> str:
        if not validator.is_valid(value):
            raise ValueError(f"not a valid {name}")
        return value

    return check


def _integral_number(value: object) -> object:
    """JSON Schema counts 30.0 as an integer; strict Pydantic would not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Uuid = Annotated[
    str,
    Field(json_schema_extra={"format": "uuid"}),
    AfterValidator(check_format("uuid")),
    AfterValidator(str.lower),  # ids are stored in lower case; either case finds them
]
Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(check_format("email")),
]
DateTimeText = Annotated[
    str,
    Field(json_schema_extra={"format": "date-time"}),
    AfterValidator(check_format("date-time")),
]
DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
SlotMinutes = Annotated[int, Field(ge=5, le=240), BeforeValidator(_integral_number)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Specialty = Annotated[str, Field(min_length=1, max_length=60)]
Notes = Annotated[str, Field(max_length=500)]
HealthState = Literal["ok", "unavailable"]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppointmentStatus(StrEnum):
    """booked holds the slot; cancelled frees it."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class Health(_Response):
    """Whether the service can serve requests."""

    status: HealthState
    database: HealthState
    version: Annotated[str, Field(min_length=1)]


class ProviderCreate(_Request):
    """A provider to register."""

    name: Name
    specialty: Specialty
    opens_at: ClockTime
    closes_at: ClockTime
    slot_minutes: SlotMinutes = 30


class Provider(_Response):
    """A care provider and the working hours slots are derived from."""

    id: Uuid
    name: Name
    specialty: Specialty
    opens_at: ClockTime
    closes_at: ClockTime
    slot_minutes: SlotMinutes
    created_at: datetime


class ProviderList(_Response):
    """One page of providers."""

    items: list[Provider]
    total: Annotated[int, Field(ge=0)]
    limit: Annotated[int, Field(ge=1, le=100)]
    offset: Annotated[int, Field(ge=0)]


class Slot(_Response):
    """A free slot."""

    starts_at: datetime
    ends_at: datetime


class SlotList(_Response):
    """The free slots of one working day of a provider."""

    provider_id: Uuid
    date: DateText
    items: list[Slot]


class AppointmentCreate(_Request):
    """An appointment to book."""

    provider_id: Uuid
    patient_name: Name
    patient_email: Email
    starts_at: DateTimeText
    notes: Notes = ""


class Reschedule(_Request):
    """The slot to move an appointment to."""

    starts_at: DateTimeText


class Appointment(_Response):
    """A booked or cancelled appointment."""

    id: Uuid
    provider_id: Uuid
    patient_name: Name
    patient_email: Email
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    notes: Notes
    created_at: datetime
    updated_at: datetime


class AppointmentList(_Response):
    """One page of appointments."""

    items: list[Appointment]
    total: Annotated[int, Field(ge=0)]
    limit: Annotated[int, Field(ge=1, le=100)]
    offset: Annotated[int, Field(ge=0)]


class ValidationIssue(_Response):
    """One invalid parameter or body field."""

    location: Literal["body", "path", "query"]
    field: str
    detail: str


class Problem(_Response):
    """An RFC 9457 problem document; the body of every error response."""

    type: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    errors: list[ValidationIssue] = Field(default_factory=list)

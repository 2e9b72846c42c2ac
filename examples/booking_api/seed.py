"""Demo data stored at start-up, so the spec's example ids answer 200 on a fresh service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .db import Database

__all__ = ["SEED_APPOINTMENTS", "SEED_PROVIDERS", "seed"]

_CREATED = "2030-01-01T00:00:00Z"

SEED_PROVIDERS: tuple[Mapping[str, Any], ...] = (
    {
        # The example id of the spec's ProviderId parameter.
        "id": "3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13",
        "name": "Dr. Ada Okafor",
        "specialty": "general-practice",
        "opens_at": "09:00",
        "closes_at": "17:00",
        "slot_minutes": 30,
        "created_at": _CREATED,
    },
    {
        "id": "7b2e4d61-0c9a-4f38-b5e7-91a6c3d2e845",
        "name": "Dr. Lin Moreau",
        "specialty": "dentistry",
        "opens_at": "08:00",
        "closes_at": "12:00",
        "slot_minutes": 20,
        "created_at": _CREATED,
    },
    {
        # A working day past midnight, to show slots that cross into the next day.
        "id": "c5d8e0f2-6a14-4b97-8e3c-0f7a2b9d4c61",
        "name": "Night Clinic",
        "specialty": "urgent-care",
        "opens_at": "22:00",
        "closes_at": "02:00",
        "slot_minutes": 15,
        "created_at": _CREATED,
    },
)

SEED_APPOINTMENTS: tuple[Mapping[str, Any], ...] = (
    {
        # The example id of the spec's AppointmentId parameter.
        "id": "a8f5f167-0e7c-4d1b-9b3a-5c2e7d9f1b04",
        "provider_id": "3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13",
        "patient_name": "Grace Hopper",
        "patient_email": "grace@example.com",
        "starts_at": "2030-01-07T09:00:00Z",
        "ends_at": "2030-01-07T09:30:00Z",
        "status": "booked",
        "notes": "",
        "created_at": _CREATED,
        "updated_at": _CREATED,
    },
)


def seed(database: Database) -> None:
    """Store the demo rows that are not there yet (a restart keeps what users changed)."""
    for provider in SEED_PROVIDERS:
        database.insert_provider(provider, if_absent=True)
    for appointment in SEED_APPOINTMENTS:
        database.insert_appointment(appointment, if_absent=True)

"""The booking operations, between validated input and the database, without HTTP.

Each method takes already validated values and returns a response model, or raises the
``ApiProblem`` the client should get (404 for unknown ids, 409 for schedule conflicts).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .db import Database, SlotTaken
from .models import (
    Appointment,
    AppointmentCreate,
    AppointmentList,
    Provider,
    ProviderCreate,
    ProviderList,
    Slot,
    SlotList,
)
from .problems import ApiProblem
from .schedule import (
    MAX_INSTANT,
    MIN_INSTANT,
    WorkingHours,
    format_utc,
    instant_to_datetime,
    parse_day,
    parse_instant,
)

__all__ = ["BookingService"]

_SECOND = 1_000_000


_LAST_SECOND = MAX_INSTANT // _SECOND * _SECOND


def _ceil_to_second(instant: int) -> int:
    return -(-instant // _SECOND) * _SECOND


def _text_of(instant: int) -> str:
    """The stored text form of an instant known to be in range."""
    moment = instant_to_datetime(instant)
    assert moment is not None, instant
    return format_utc(moment)


def _hours(provider: dict[str, Any]) -> WorkingHours:
    return WorkingHours.from_text(
        provider["opens_at"], provider["closes_at"], provider["slot_minutes"]
    )


class BookingService:
    """Providers, slots and appointments over one database."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.database = database
        self._clock = clock
        self._new_id = new_id

    def _now(self) -> str:
        return format_utc(self._clock())

    def database_ok(self) -> bool:
        return self.database.ping()

    # -- providers ----------------------------------------------------------------------------

    def list_providers(self, specialty: str | None, limit: int, offset: int) -> ProviderList:
        rows, total = self.database.list_providers(specialty, limit, offset)
        items = [Provider.model_validate(row) for row in rows]
        return ProviderList(items=items, total=total, limit=limit, offset=offset)

    def create_provider(self, data: ProviderCreate) -> Provider:
        row = {**data.model_dump(), "id": self._new_id(), "created_at": self._now()}
        self.database.insert_provider(row)
        return Provider.model_validate(row)

    def _provider_row(self, provider_id: str) -> dict[str, Any]:
        row = self.database.get_provider(provider_id)
        if row is None:
            raise ApiProblem.not_found("provider", provider_id)
        return row

    def get_provider(self, provider_id: str) -> Provider:
        return Provider.model_validate(self._provider_row(provider_id))

    def free_slots(self, provider_id: str, day_text: str) -> SlotList:
        """The unbooked slots of the working day starting on ``day_text`` (``YYYY-MM-DD``)."""
        provider = self._provider_row(provider_id)
        day = parse_day(day_text)
        items: list[Slot] = []
        if day is not None:  # year 0000 is valid RFC 3339, but no slot is that early
            hours = _hours(provider)
            opens, closes = hours.window(day)
            booked = self.database.booked_starts(provider_id, format_utc(opens), format_utc(closes))
            items = [
                Slot(starts_at=start, ends_at=end)
                for start, end in hours.slots(day)
                if format_utc(start) not in booked
            ]
        return SlotList(provider_id=provider_id, date=day_text, items=items)

    # -- appointments -------------------------------------------------------------------------

    def _slot(self, provider: dict[str, Any], starts_at: str) -> tuple[str, str]:
        """The stored start and end of the provider's slot at ``starts_at``; 409 if none."""
        moment = instant_to_datetime(parse_instant(starts_at))
        slot = _hours(provider).slot_starting_at(moment) if moment is not None else None
        if slot is None:
            raise ApiProblem(
                409,
                "no-such-slot",
                "No such slot",
                f"no slot of provider {provider['id']} starts at {starts_at}; its working hours"
                f" are {provider['opens_at']} to {provider['closes_at']} UTC in"
                f" {provider['slot_minutes']}-minute slots (GET /providers/{provider['id']}/slots"
                " lists the free ones)",
            )
        start, end = slot
        return format_utc(start), format_utc(end)

    @staticmethod
    def _taken(starts_at: str) -> ApiProblem:
        return ApiProblem(
            409,
            "slot-unavailable",
            "Slot unavailable",
            f"the slot at {starts_at} is booked already; pick another free slot",
        )

    def create_appointment(self, data: AppointmentCreate) -> Appointment:
        provider = self._provider_row(data.provider_id)
        starts_at, ends_at = self._slot(provider, data.starts_at)
        now = self._now()
        row = {
            **data.model_dump(),
            "id": self._new_id(),
            "starts_at": starts_at,
            "ends_at": ends_at,
            "status": "booked",
            "created_at": now,
            "updated_at": now,
        }
        try:
            self.database.insert_appointment(row)
        except SlotTaken:
            raise self._taken(starts_at) from None
        return Appointment.model_validate(row)

    def _appointment_row(self, appointment_id: str) -> dict[str, Any]:
        row = self.database.get_appointment(appointment_id)
        if row is None:
            raise ApiProblem.not_found("appointment", appointment_id)
        return row

    def get_appointment(self, appointment_id: str) -> Appointment:
        return Appointment.model_validate(self._appointment_row(appointment_id))

    def list_appointments(
        self,
        *,
        provider_id: str | None,
        status: str | None,
        starts_from: int | None,
        starts_before: int | None,
        limit: int,
        offset: int,
    ) -> AppointmentList:
        """A page of appointments; the time bounds are instants (microseconds since the epoch)."""
        empty = AppointmentList(items=[], total=0, limit=limit, offset=offset)
        # Stored starts are whole seconds, so rounding a bound up to a second keeps the meaning
        # of >= and < while making it comparable as fixed-width text.
        lower = upper = None
        if starts_from is not None:
            starts_from = _ceil_to_second(starts_from)
            if starts_from > _LAST_SECOND:
                return empty
            lower = _text_of(starts_from) if starts_from > MIN_INSTANT else None
        if starts_before is not None:
            starts_before = _ceil_to_second(starts_before)
            if starts_before <= MIN_INSTANT:
                return empty
            upper = _text_of(starts_before) if starts_before <= _LAST_SECOND else None
        rows, total = self.database.list_appointments(
            provider_id=provider_id,
            status=status,
            starts_from=lower,
            starts_before=upper,
            limit=limit,
            offset=offset,
        )
        items = [Appointment.model_validate(row) for row in rows]
        return AppointmentList(items=items, total=total, limit=limit, offset=offset)

    def reschedule(self, appointment_id: str, starts_at: str) -> Appointment:
        appointment = self._appointment_row(appointment_id)
        if appointment["status"] != "booked":
            raise self._cancelled(appointment_id, "reschedule")
        provider = self._provider_row(appointment["provider_id"])
        start, end = self._slot(provider, starts_at)
        if start == appointment["starts_at"]:
            return Appointment.model_validate(appointment)
        try:
            moved = self.database.move_appointment(appointment_id, start, end, self._now())
        except SlotTaken:
            raise self._taken(start) from None
        if not moved:  # cancelled between the read and the update
            raise self._cancelled(appointment_id, "reschedule")
        return self.get_appointment(appointment_id)

    @staticmethod
    def _cancelled(appointment_id: str, action: str) -> ApiProblem:
        return ApiProblem(
            409,
            "appointment-cancelled",
            "Appointment cancelled",
            f"appointment {appointment_id} is cancelled, so it cannot {action}; book a new one",
        )

    def cancel(self, appointment_id: str) -> Appointment:
        self._appointment_row(appointment_id)
        if not self.database.cancel_appointment(appointment_id, self._now()):
            raise ApiProblem(
                409,
                "already-cancelled",
                "Already cancelled",
                f"appointment {appointment_id} is cancelled already",
            )
        return self.get_appointment(appointment_id)


def utc_now() -> datetime:
    """The current time in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)

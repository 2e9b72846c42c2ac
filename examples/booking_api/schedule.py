"""Working hours, slots and RFC 3339 instants: the pure time logic of the service.

Times are UTC throughout. A request may name any instant RFC 3339 can write (year 0000, an
offset that pushes it past year 9999), so instants are parsed into integer microseconds since
the epoch, which cannot overflow, and only turned into ``datetime`` once known to be in range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

__all__ = [
    "MAX_INSTANT",
    "MIN_INSTANT",
    "WorkingHours",
    "format_utc",
    "instant_to_datetime",
    "parse_day",
    "parse_instant",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECONDS_PER_SECOND = 1_000_000

_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hour>\d{2}):(?P<offset_minute>\d{2}))"
)
_DAY = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar, for any year (H. Hinnant)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_instant(text: str) -> int:
    """Microseconds since the epoch (UTC) of an RFC 3339 date-time; ValueError if malformed.

    A leap second (``23:59:60``) counts as ``23:59:59``, as POSIX time does.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time such as 2030-01-07T09:00:00Z")
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise ValueError(f"{text!r} has no such date")
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"{text!r} has no such time of day")
    offset = 0
    if match["sign"]:
        offset = (int(match["offset_hour"]) * 60 + int(match["offset_minute"])) * 60
        offset = -offset if match["sign"] == "-" else offset
    days = _days_from_civil(year, month, day)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + min(second, 59) - offset
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    return seconds * _MICROSECONDS_PER_SECOND + int(fraction)


def _instant_of(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _MICROSECONDS_PER_SECOND + delta.microseconds


MIN_INSTANT = _instant_of(datetime.min.replace(tzinfo=UTC))
MAX_INSTANT = _instant_of(datetime.max.replace(tzinfo=UTC))


def instant_to_datetime(instant: int) -> datetime | None:
    """The UTC datetime of an instant, or None when Python cannot represent it."""
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        return None
    return _EPOCH + timedelta(microseconds=instant)


def format_utc(moment: datetime) -> str:
    """``2030-01-07T09:00:00Z``: fixed width, so stored values sort in time order."""
    # Not strftime: on glibc, %Y does not pad years before 1000 to four digits.
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def parse_day(text: str) -> date | None:
    """The date of a ``YYYY-MM-DD`` string; None for year 0000, which RFC 3339 allows.

    Raises ValueError when the string is not a valid date.
    """
    match = _DAY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a date such as 2030-01-07")
    year, month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise ValueError(f"{text!r} has no such date")
    return date(year, month, day) if year else None


@dataclass(frozen=True)
class WorkingHours:
    """A provider's working day: it opens and closes at UTC clock times, cut into equal slots."""

    opens_at: time
    closes_at: time
    slot_minutes: int

    @classmethod
    def from_text(cls, opens_at: str, closes_at: str, slot_minutes: int) -> WorkingHours:
        """Build from ``HH:MM`` strings as stored and sent."""
        return cls(time.fromisoformat(opens_at), time.fromisoformat(closes_at), slot_minutes)

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """When the working day that starts on ``day`` opens and closes.

        Closing at or before the opening time means closing on the next day.
        """
        opens = datetime.combine(day, self.opens_at, tzinfo=UTC)
        closing_day = day
        if self.closes_at <= self.opens_at:
            if day == date.max:
                return opens, datetime.max.replace(tzinfo=UTC)
            closing_day = day + timedelta(days=1)
        return opens, datetime.combine(closing_day, self.closes_at, tzinfo=UTC)

    def slots(self, day: date) -> list[tuple[datetime, datetime]]:
        """Every slot of the working day that starts on ``day``, in time order."""
        opens, closes = self.window(day)
        length = self.slot_length
        result = []
        start = opens
        # Compare against closes - length so that no addition runs past datetime.max.
        while start <= closes - length:
            result.append((start, start + length))
            start += length
        return result

    def slot_starting_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The slot that starts exactly at ``moment``, or None when no slot does."""
        length = self.slot_length
        candidates = [moment.date()]
        if moment.date() > date.min:
            # A working day past midnight has slots on the next calendar day.
            candidates.append(moment.date() - timedelta(days=1))
        for day in candidates:
            opens, closes = self.window(day)
            if opens <= moment <= closes - length and (moment - opens) % length == timedelta(0):
                return moment, moment + length
        return None

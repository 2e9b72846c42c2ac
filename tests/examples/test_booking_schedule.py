"""The pure time logic: RFC 3339 instants, days, working hours and slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.booking_api.schedule import (
    MAX_INSTANT,
    MIN_INSTANT,
    WorkingHours,
    format_utc,
    instant_to_datetime,
    parse_day,
    parse_instant,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset_minutes=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_parse_instant_agrees_with_datetime_for_any_offset(
    moment: datetime, offset_minutes: int
) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{moment.isoformat(timespec='microseconds')}{sign}{hours:02d}:{minutes:02d}"
    expected = micros(moment.replace(tzinfo=UTC)) - offset_minutes * 60_000_000
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-07T09:00:00Z", datetime(2030, 1, 7, 9, tzinfo=UTC)),
        ("2030-01-07t09:00:00z", datetime(2030, 1, 7, 9, tzinfo=UTC)),
        ("2030-01-07T11:30:00+02:30", datetime(2030, 1, 7, 9, tzinfo=UTC)),
        ("2030-01-07T09:00:00.5Z", datetime(2030, 1, 7, 9, 0, 0, 500_000, tzinfo=UTC)),
        # Digits past microseconds are dropped; a leap second counts as :59.
        ("2030-01-07T09:00:00.1234567Z", datetime(2030, 1, 7, 9, 0, 0, 123_456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_instant_examples(text: str, expected: datetime) -> None:
    assert instant_to_datetime(parse_instant(text)) == expected


def test_instants_outside_python_range_are_parsed_but_not_converted() -> None:
    late = parse_instant("9999-12-31T23:30:00-05:00")
    early = parse_instant("0000-12-31T23:59:59Z")
    assert late > MAX_INSTANT
    assert early < MIN_INSTANT
    assert instant_to_datetime(late) is None
    assert instant_to_datetime(early) is None
    assert instant_to_datetime(MAX_INSTANT) == datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-07",
        "2030-01-07T09:00:00",  # no offset
        "2030-01-07T09:00Z",
        "2030-02-30T09:00:00Z",
        "2031-02-29T09:00:00Z",
        "2030-01-07T24:00:00Z",
        "2030-01-07T09:00:00+2x:00",
        " 2030-01-07T09:00:00Z",
    ],
)
def test_parse_instant_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match=r"2030-01-07T09:00:00Z|no such"):
        parse_instant(text)


def test_parse_day() -> None:
    assert parse_day("2030-01-07") == date(2030, 1, 7)
    assert parse_day("2028-02-29") == date(2028, 2, 29)
    assert parse_day("0000-02-29") is None  # valid RFC 3339 (year 0 is leap), not a Python date
    for bad in ("2029-02-29", "2030-13-01", "2030-1-07", "20300107", "1900-02-29"):
        with pytest.raises(ValueError, match=bad):
            parse_day(bad)


def test_format_utc_is_fixed_width_for_early_years() -> None:
    assert format_utc(datetime(5, 3, 4, 1, 2, 3, tzinfo=UTC)) == "0005-03-04T01:02:03Z"
    plus_two = timezone(timedelta(hours=2))
    assert format_utc(datetime(2030, 1, 7, 11, tzinfo=plus_two)) == "2030-01-07T09:00:00Z"


clock_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@given(
    opens=clock_times,
    closes=clock_times,
    slot_minutes=st.integers(5, 240),
    day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
)
def test_slots_tile_the_working_day(
    opens: time, closes: time, slot_minutes: int, day: date
) -> None:
    hours = WorkingHours(opens, closes, slot_minutes)
    window_start, window_end = hours.window(day)
    slots = hours.slots(day)
    length = timedelta(minutes=slot_minutes)
    assert window_start < window_end <= window_start + timedelta(days=1)
    assert len(slots) == (window_end - window_start) // length
    for index, (start, end) in enumerate(slots):
        assert start == window_start + index * length
        assert end - start == length
        assert end <= window_end
        assert hours.slot_starting_at(start) == (start, end)
        assert hours.slot_starting_at(start + timedelta(minutes=1)) is None


def test_a_working_day_past_midnight_keeps_its_late_slots() -> None:
    night = WorkingHours(time(22), time(2), 15)
    slots = night.slots(date(2030, 1, 7))
    assert len(slots) == 16
    assert slots[0][0] == datetime(2030, 1, 7, 22, tzinfo=UTC)
    assert slots[-1] == (
        datetime(2030, 1, 8, 1, 45, tzinfo=UTC),
        datetime(2030, 1, 8, 2, tzinfo=UTC),
    )
    # 01:00 on the 8th belongs to the day that started on the 7th.
    assert night.slot_starting_at(datetime(2030, 1, 8, 1, tzinfo=UTC)) is not None
    assert night.slot_starting_at(datetime(2030, 1, 8, 12, tzinfo=UTC)) is None


def test_equal_opening_and_closing_times_mean_24_hours() -> None:
    assert len(WorkingHours(time(6), time(6), 60).slots(date(2030, 1, 7))) == 24


def test_the_last_representable_day_does_not_overflow() -> None:
    night = WorkingHours(time(23), time(1), 30)
    slots = night.slots(date.max)
    assert slots[-1][1] <= datetime.max.replace(tzinfo=UTC)
    assert len(slots) == 1  # 23:00-23:30; 23:30-24:00 would end past datetime.max

"""Durations (``"500ms"``, ``"5m"``), sizes (``"1 MiB"``, ``"500 kB"``) and percentages.

Each parser bounds what it returns: a duration is at most ``MAX_DURATION`` (30 days), a size
at most ``MAX_SIZE`` (1 TiB), a percentage at most ``MAX_PERCENT`` (1000 %), and none is NaN
or infinite, so no timer, sleep or loop downstream can overflow.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_DURATION",
    "MAX_PERCENT",
    "MAX_SIZE",
    "duration_seconds",
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_percent",
    "parse_size",
    "percent_fraction",
    "size_bytes",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?i?B)?\s*$")
_SIZE_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "kiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")

DURATION_HINT = 'a number with a unit: "250ms", "5s", "5m", "1h"'
SIZE_HINT = 'a size such as "500 kB", "1 MiB" or a number of bytes'

MAX_DURATION = 30 * 86400.0
MAX_SIZE = 1024**4
MAX_PERCENT = 1000.0


def _number(text: str) -> float:
    # float() of a few thousand digits is inf, never an error: the bounds catch it
    return float(text)


def duration_seconds(value: str | float) -> float:
    """Seconds in ``value`` (``"5m"``, ``"250ms"``, a bare number of seconds), unbounded:
    ``inf`` for a number too large to hold. Raises ValueError for what is no duration."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, {DURATION_HINT} (got {_shown(value)})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative (got {_shown(value)})")
        return math.inf if value > MAX_DURATION else float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected a duration, {DURATION_HINT} (got {_shown(value)})")
    number, unit = match.groups()
    return _number(number) * _DURATION_UNITS[unit or "s"]


def parse_duration(value: str | float) -> float:
    """Seconds in ``value``: a string with ms/s/m/h/d, or a bare number of seconds; at most
    ``MAX_DURATION``."""
    seconds = duration_seconds(value)
    if not math.isfinite(seconds) or seconds > MAX_DURATION:
        raise ValueError(f"a duration can be at most 30d (got {_shown(value)})")
    return seconds


def size_bytes(value: str | int) -> float:
    """Bytes in ``value``, unbounded (``inf`` for a number too large to hold)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {SIZE_HINT} (got {_shown(value)})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative (got {_shown(value)})")
        return math.inf if value > MAX_SIZE else float(value)
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match or (match.group(2) and match.group(2) not in _SIZE_UNITS):
        raise ValueError(f"expected {SIZE_HINT} (got {_shown(value)})")
    number, unit = match.groups()
    return _number(number) * _SIZE_UNITS[unit or "B"]


def parse_size(value: str | int) -> int:
    """Bytes in ``value``: ``"1 MiB"``, ``"500 kB"``, ``"1200"`` or an int; at most
    ``MAX_SIZE``."""
    size = size_bytes(value)
    if not math.isfinite(size) or size > MAX_SIZE:
        raise ValueError(f"a size can be at most 1 TiB (got {_shown(value)})")
    return round(size)


def percent_fraction(value: str | float) -> float:
    """The fraction in ``"10%"`` (0.1), or a bare number already a fraction; unbounded."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _PERCENT.match(str(value))
    if not match:
        raise ValueError(f'expected a percentage such as "10%" (got {_shown(value)})')
    return _number(match.group(1)) / 100


def parse_percent(value: str | float) -> float:
    """A fraction from ``"10%"`` (0.1) or a bare number already a fraction; at most
    ``MAX_PERCENT`` percent."""
    fraction = percent_fraction(value)
    if not math.isfinite(fraction) or abs(fraction) > MAX_PERCENT / 100:
        raise ValueError(f"a percentage can be at most 1000% (got {_shown(value)})")
    return fraction


def _shown(value: object, limit: int = 40) -> str:
    """``repr(value)``, shortened: an error must not echo a megabyte of input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_duration(seconds: float) -> str:
    """``0.25`` -> ``"250ms"``, ``90`` -> ``"1m30s"``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def format_size(size: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

"""Durations (``"500ms"``, ``"5m"``), sizes (``"1 MiB"``, ``"500 kB"``) and percentages."""

from __future__ import annotations

import re

__all__ = ["format_duration", "format_size", "parse_duration", "parse_percent", "parse_size"]

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


def parse_duration(value: str | float) -> float:
    """Seconds in ``value``: a string with ms/s/m/h/d, or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, {DURATION_HINT} (got {value!r})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative (got {value!r})")
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected a duration, {DURATION_HINT} (got {value!r})")
    number, unit = match.groups()
    return float(number) * _DURATION_UNITS[unit or "s"]


def parse_size(value: str | int) -> int:
    """Bytes in ``value``: ``"1 MiB"``, ``"500 kB"``, ``"1200"`` or an int."""
    if isinstance(value, bool):
        raise ValueError(f"expected {SIZE_HINT} (got {value!r})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative (got {value!r})")
        return value
    match = _SIZE.match(value)
    if not match or (match.group(2) and match.group(2) not in _SIZE_UNITS):
        raise ValueError(f"expected {SIZE_HINT} (got {value!r})")
    number, unit = match.groups()
    return round(float(number) * _SIZE_UNITS[unit or "B"])


def parse_percent(value: str | float) -> float:
    """A fraction from ``"10%"`` (0.1) or a bare number already a fraction."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _PERCENT.match(str(value))
    if not match:
        raise ValueError(f'expected a percentage such as "10%" (got {value!r})')
    return float(match.group(1)) / 100


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

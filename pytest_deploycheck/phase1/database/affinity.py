"""Type compatibility: which SQLite column affinities can hold which JSON Schema types."""

from __future__ import annotations

from pytest_deploycheck.core.findings import Severity

_DATE_FORMATS = frozenset({"date", "date-time", "time"})


def type_mismatch(
    affinity: str,
    json_type: str,
    string_format: str | None,
    *,
    declared: str | None = None,
    strict: bool = False,
) -> tuple[Severity, str] | None:
    """Whether a column of this affinity can hold this JSON type; None when it can.

    Errors are values that come back as another JSON type; warnings are values that survive
    only if the service converts them, or that SQLite may silently convert.
    """
    untyped = declared is not None and not declared.strip()
    if affinity == "BLOB" and untyped and json_type != "null":
        return Severity.WARNING, "has no declared type, so SQLite stores whatever it is given"
    if json_type in ("integer", "boolean"):
        if affinity in ("INTEGER", "NUMERIC"):
            return None
        if affinity == "TEXT":
            return Severity.ERROR, f"stores {json_type} values as text: 1 comes back as '1'"
        if affinity == "REAL":
            return Severity.WARNING, "stores whole numbers as floating point: 1 comes back as 1.0"
        return Severity.WARNING, "is a BLOB column; declare INTEGER"
    if json_type == "number":
        if affinity in ("REAL", "NUMERIC"):
            return None
        if affinity == "INTEGER":
            if strict:
                return Severity.ERROR, "is INTEGER in a STRICT table, which rejects 1.5"
            return Severity.WARNING, "is INTEGER: fractions survive, but declare REAL"
        if affinity == "TEXT":
            return Severity.ERROR, "stores numbers as text: 1.5 comes back as '1.5'"
        return Severity.WARNING, "is a BLOB column; declare REAL"
    if json_type == "string":
        if string_format in ("byte", "binary") and affinity == "BLOB":
            return None
        if string_format == "binary" and affinity == "TEXT":
            return Severity.WARNING, "holds binary data as TEXT; declare BLOB"
        if affinity == "TEXT":
            return None
        if string_format in _DATE_FORMATS:
            if affinity == "NUMERIC":
                return None  # DATETIME, DATE: ISO 8601 text is not numeric, so it stays text
            if affinity in ("INTEGER", "REAL"):
                return Severity.WARNING, (
                    f"stores a {string_format} as a number; the service must convert it, or "
                    f"declare TEXT for ISO 8601 text"
                )
        if affinity == "NUMERIC":
            return Severity.WARNING, (
                "has NUMERIC affinity, which turns numeric-looking strings such as '007' into "
                "the number 7; declare TEXT"
            )
        if affinity in ("INTEGER", "REAL"):
            return Severity.ERROR, (
                f"has {affinity} affinity, which turns numeric strings into numbers: "
                f"'42' comes back as 42; declare TEXT"
            )
        return Severity.WARNING, "is a BLOB column; declare TEXT"
    if json_type in ("object", "array"):
        if affinity in ("TEXT", "BLOB"):
            return None
        if affinity == "NUMERIC":
            return Severity.WARNING, f"has NUMERIC affinity for a JSON {json_type}; declare TEXT"
        return Severity.ERROR, f"has {affinity} affinity and cannot hold a JSON {json_type}"
    return None

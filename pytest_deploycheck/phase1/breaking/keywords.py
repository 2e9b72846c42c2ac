"""Schema keywords: which are compared, how they are read and how their values are written.

The scalar keywords a view keeps, the bounds and their rule names, reading types, ``enum``
values, bounds and flags, and writing numbers and JSON values into messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_deploycheck.core.spec import Spec

from .documents import _follow

_SCALAR_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "enum",
        "const",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "pattern",
        "default",
        "nullable",
    }
)
# (keywords, rule name, is an upper bound, value when absent)
_BOUNDS: tuple[tuple[tuple[str, ...], str, bool, float | None], ...] = (
    (("maximum", "exclusiveMaximum"), "max", True, None),
    (("minimum", "exclusiveMinimum"), "min", False, None),
    (("maxLength",), "max-length", True, None),
    (("minLength",), "min-length", False, 0),
    (("maxItems",), "max-items", True, None),
    (("minItems",), "min-items", False, 0),
)


def _flag(spec: Spec, entry: tuple[Any, str], keyword: str) -> bool:
    """Whether a property schema says ``keyword: true``, beside its ``$ref`` or behind it."""
    raw, pointer = entry
    if isinstance(raw, Mapping) and raw.get(keyword) is True:
        return True
    target, _ = _follow(spec, raw, pointer)
    return isinstance(target, Mapping) and target.get(keyword) is True


def _types(keywords: Mapping[str, Any]) -> frozenset[str] | None:
    raw = keywords.get("type")
    if isinstance(raw, str):
        names = {raw}
    elif isinstance(raw, list):
        names = {kind for kind in raw if isinstance(kind, str)}
    else:
        return None
    if len(names) > 1:
        names.discard("null")  # nullability is compared on its own
    return frozenset(names) or None


def _accepts(types: frozenset[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _type_text(types: frozenset[str]) -> str:
    return " or ".join(repr(kind) for kind in sorted(types))


def _enum(keywords: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(keywords.get("enum"), list):
        return list(keywords["enum"])
    if "const" in keywords:
        return [keywords["const"]]
    return None


def _bound(
    keywords: Mapping[str, Any], names: tuple[str, ...], upper: bool, absent: float | None
) -> float | None:
    # A boolean exclusiveMaximum (OpenAPI 3.0) only qualifies maximum; skip it.
    values = [
        float(keywords[name])
        for name in names
        if isinstance(keywords.get(name), int | float) and not isinstance(keywords[name], bool)
    ]
    if not values:
        return absent
    return min(values) if upper else max(values)


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if value == int(value) else str(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _values(values: Iterable[Any]) -> str:
    return "[" + ", ".join(_json(value) for value in values) + "]"

"""The settings that name operations of the spec, and checking them against it.

An operation label (``"GET /providers"``) in the config that the spec lacks would be ignored
by one command and rejected by another; ``operation_problems`` finds every one of them at
once, so ``deploycheck check-config`` and the pytest run reject what ``deploycheck monitor``
or ``collect`` would. ``OPERATION_SETTINGS`` lists them: a test keeps it equal to the
settings whose schema takes an operation label.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Literal

from .problems import KeyPath, Problem

__all__ = ["HEALTH_PROBE", "OPERATION_SETTINGS", "named_operations", "operation_problems"]

# monitor.probes takes this word besides operation labels
HEALTH_PROBE = "health"

# (section, key, what names the operation: the list's items or the object's keys)
OPERATION_SETTINGS: tuple[tuple[str, str, Literal["items", "keys"]], ...] = (
    ("availability", "include", "items"),
    ("availability", "exclude", "items"),
    ("availability", "allow_status", "keys"),
    ("contract", "operations", "keys"),
    ("contract", "exclude", "items"),
    ("performance", "operations", "keys"),
    ("performance", "include", "items"),
    ("performance", "exclude", "items"),
    ("scoring", "operations", "keys"),
    ("collect", "include", "items"),
    ("collect", "exclude", "items"),
    ("collect", "measure", "items"),
    ("monitor", "probes", "items"),
)


def operation_problems(config: Mapping[str, Any], labels: Collection[str]) -> list[Problem]:
    """A problem for every operation label in ``config`` that is not one of ``labels``."""
    problems = []
    for path, label in _named_operations(config):
        if label in labels or (path[:2] == ("monitor", "probes") and label == HEALTH_PROBE):
            continue
        problems.append(
            Problem(path, f"{label!r} is not an operation of the spec{_hint(label, labels)}")
        )
    return problems


def named_operations(config: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """Every setting of ``config`` that names an operation: its key path and the label."""
    return list(_named_operations(config))


def _named_operations(config: Mapping[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    for section, key, kind in OPERATION_SETTINGS:
        block = config.get(section)
        value = block.get(key) if isinstance(block, Mapping) else None
        if kind == "items" and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    yield (section, key, index), item
        elif kind == "keys" and isinstance(value, Mapping):
            for label in value:
                yield (section, key, label), str(label)


def _hint(label: str, labels: Collection[str]) -> str:
    close = difflib.get_close_matches(label, list(labels), n=1) if len(label) <= 200 else []
    if close:
        return f" -> did you mean {close[0]!r}?"
    example = next(iter(sorted(labels)), None)
    if example is None:
        return " (the spec has no operations)"
    return f"; operations look like {example!r}"

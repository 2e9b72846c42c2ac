"""What an operation does to the service's data, and which operation creates what it removes.

The gate runs the live items that read before those that write, and those that delete or
reset data last (``gate.ordering``); an item that deletes one resource runs against one it
created first (``live.disposable``), found here by ``creator_of``; ``deploycheck init`` names
the operations that may reset data the same way.
"""

from __future__ import annotations

import re
from enum import IntEnum

from .spec import Operation, Spec

__all__ = ["Effect", "creator_of", "effect_of", "resets_data"]

# Words in a path or an operationId that say an operation deletes or resets data.
_RESETTING = re.compile(r"(delete|remove|purge|reset|destroy|drop|wipe|truncate|clear)", re.I)
_READS = frozenset({"get", "head", "options", "trace"})
_LAST_PARAMETER = re.compile(r"^(?P<parent>.*)/\{(?P<name>[^{}/]+)\}/?$")


class Effect(IntEnum):
    """What an operation may do to the data, in the order the gate runs them."""

    READ = 1
    WRITE = 2
    DELETE = 3


def resets_data(operation: Operation) -> bool:
    """Whether ``operation`` may delete or reset data: DELETE, or a name that says so."""
    names = f"{operation.path} {operation.operation_id or ''}"
    return operation.method == "delete" or bool(_RESETTING.search(names))


def effect_of(operation: Operation) -> Effect:
    """READ, WRITE or DELETE (which includes the operations whose name says they reset)."""
    if resets_data(operation):
        return Effect.DELETE
    return Effect.READ if operation.method in _READS else Effect.WRITE


def creator_of(spec: Spec, operation: Operation) -> tuple[Operation, str] | None:
    """The operation that creates the resource ``operation`` acts on, and the path parameter
    naming that resource: ``POST /items`` and ``id`` for ``DELETE /items/{id}``.

    None when the path does not end with a parameter or its collection has no POST.
    """
    match = _LAST_PARAMETER.match(operation.path)
    if match is None:
        return None
    parent = match["parent"] or "/"
    for candidate in spec.operations:
        if candidate.method == "post" and candidate.path.rstrip("/") == parent.rstrip("/"):
            return candidate, match["name"]
    return None

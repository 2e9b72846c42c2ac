"""The changes a walk finds: the ``Change`` record and the recorder that keeps each once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pytest_deploycheck.core.spec import Spec

from .rules import RULES, Level, Side


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the base and the head spec.

    ``location`` is a JSON pointer into the head spec, or into the base one (``side``
    ``"base"``) when the thing it points at was removed.
    """

    rule: str
    level: Level
    operation: str | None
    message: str
    location: str | None = None
    side: Side = "head"

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        return f"{self.level} [{self.rule}] {where}{self.message}"


class _ChangeRecorder:
    """The state of one walk over both documents: the two specs, today, the changes so far.

    The base of the differ: ``_Differ`` (``operations``) walks the operations, ``_BodyDiffer``
    (``bodies``) the request bodies and responses, ``_SchemaDiffer`` (``schemas``) the
    schemas; each records its changes through ``emit``.
    """

    def __init__(self, base: Spec, head: Spec, today: date) -> None:
        self.base = base
        self.head = head
        self.today = today
        self.changes: list[Change] = []
        self.reported: set[Change] = set()

    def emit(
        self, rule: str, message: str, operation: str | None, pointer: str, side: Side = "head"
    ) -> None:
        """Record a change, once.

        Comparing each alternative of a collapsed ``oneOf`` with the new schema meets what the
        alternatives share once per alternative; the reader needs to hear of it once.
        """
        change = Change(rule, RULES[rule].level, operation, message, pointer, side)
        if change not in self.reported:
            self.reported.add(change)
            self.changes.append(change)


def _listing(items: Iterable[str]) -> str:
    text = ", ".join(str(item) for item in items)
    return text or "none"

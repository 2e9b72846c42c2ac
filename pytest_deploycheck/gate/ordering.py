"""The order the gate's checks run in, so that the data a check needs is still there.

Within each phase (and each round of phase1): health and the checks that only read (GET
operations, performance, drift, TLS) and the negative tests first, then the ones that write
(POST, PUT, PATCH, smoke flows), then those that delete or reset data (DELETE, operations
named like ``reset``, the stateful sequences that follow links to them) last. Phases run in
their own order. The sort is stable, so checks of one rank keep the order they came in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from pytest_deploycheck.core.effects import Effect, effect_of
from pytest_deploycheck.core.families import PHASES, ROUNDS
from pytest_deploycheck.core.spec import Spec

from .checks import Check

__all__ = ["gate_order", "order_key"]

T = TypeVar("T")

# families whose checks send one operation's requests, named by the check's parameter
_PER_OPERATION = frozenset({"availability", "contract", "negative", "performance"})
_FIRST = 0


def _operation_effect(effects: Mapping[str, Effect], label: str) -> Effect:
    label = label.split("#", 1)[0]  # "GET /x#2": a name made unique by the planners
    found = effects.get(label)
    if found is not None:
        return found
    method = label.split(" ", 1)[0].lower()
    return Effect.READ if method in ("get", "head", "options") else Effect.WRITE


def _rank(
    check: Check, effects: Callable[[], Mapping[str, Effect]], deletes: Callable[[], bool]
) -> int:
    if check.family in _PER_OPERATION and check.param:
        effect = _operation_effect(effects(), check.param)
        if check.family == "negative" and effect is Effect.WRITE:
            # invalid input must be rejected before valid writes change the data it names
            return Effect.READ
        return effect
    if check.family == "smoke":
        return Effect.WRITE
    if check.family == "stateful":
        # its sequences follow the links, to the deleting operations too
        return Effect.DELETE if deletes() else Effect.WRITE
    return _FIRST  # health, drift, TLS and every static check


def order_key(spec: Spec | Callable[[], Spec]) -> Callable[[Check], tuple[int, int, int]]:
    """The sort key of a check: its phase, its round, then what it does to the data.

    ``spec`` may be a function that loads it: then only checks of operations load it, so
    ordering the static checks of a huge spec does not read the spec.
    """
    phases = {name: index for index, name in enumerate(PHASES)}
    rounds = {name: index for index, name in enumerate(ROUNDS)}
    load = spec if callable(spec) else lambda: spec

    @functools.cache
    def effects() -> dict[str, Effect]:
        # once per ordering: a spec of 1,000 operations has several thousand checks
        return {operation.label: effect_of(operation) for operation in load().operations}

    @functools.cache
    def deletes() -> bool:
        return Effect.DELETE in effects().values()

    def key(check: Check) -> tuple[int, int, int]:
        return (
            phases.get(check.phase, len(phases)),
            rounds.get(check.round or "", 0),
            _rank(check, effects, deletes),
        )

    return key


def gate_order(
    items: Sequence[T], check_of: Callable[[T], Check | None], spec: Spec | Callable[[], Spec]
) -> list[T]:
    """``items`` with the ones that are checks put in gate order, in the places the checks
    held; anything else (a project's own tests) keeps its place."""
    key = order_key(spec)
    found = [(index, item, check_of(item)) for index, item in enumerate(items)]
    checks = [(index, item, check) for index, item, check in found if check is not None]
    ordered = list(items)
    by_key = sorted(checks, key=lambda entry: key(entry[2]))
    for (index, _, _), (_, item, _) in zip(checks, by_key, strict=True):
        ordered[index] = item
    return ordered

"""Pairing ``oneOf``/``anyOf`` alternatives of two versions, and naming them in messages.

Alternatives pair by ``$ref`` or ``title``, else by how alike they look, never by position.
When alternatives become one schema, a request's are each compared with it and a response's
most alike one is.
"""

from __future__ import annotations

from pytest_deploycheck.core.spec import Spec

from .keywords import _accepts, _json, _type_text, _types, _values
from .views import _admitted, _Alternative, _View, _view


def _compared(scores: list[int], *, every: bool) -> set[int]:
    """Which alternatives to compare with a single schema: every alike one, or the most alike.

    ``scores`` are their resemblances to that schema; of equally alike ones the first wins.
    """
    alike = {index for index, score in enumerate(scores) if score > 0}
    if every or not alike:
        return alike
    return {max(alike, key=lambda index: (scores[index], -index))}


def _pair(
    old_spec: Spec, old: list[_Alternative], new_spec: Spec, new: list[_Alternative]
) -> list[tuple[int, int]]:
    """Pair old and new alternatives (by their index in the lists), each at most once.

    Alternatives with the same name pair first, then alternatives written the same way. The
    others pair by how alike they look, most alike first, then nearest in position; one that
    looks like no alternative of the other version stays unpaired (removed or added),
    whatever its position.
    """
    if not old or not new:
        return []
    pairs: list[tuple[int, int]] = []
    paired_old: set[int] = set()
    paired_new: set[int] = set()

    def join(i: int, j: int) -> None:
        pairs.append((i, j))
        paired_old.add(i)
        paired_new.add(j)

    new_by_name = {alternative.name: j for j, alternative in enumerate(new) if alternative.name}
    for i, alternative in enumerate(old):
        if alternative.name in new_by_name:
            join(i, new_by_name[alternative.name])
    for i, alternative in enumerate(old):
        if i in paired_old:
            continue
        unpaired = (j for j in range(len(new)) if j not in paired_new)
        same = next((j for j in unpaired if new[j].node == alternative.node), None)
        if same is not None:
            join(i, same)
    old_views = {
        i: _view(old_spec, *alternative.entry)
        for i, alternative in enumerate(old)
        if i not in paired_old
    }
    new_views = {
        j: _view(new_spec, *alternative.entry)
        for j, alternative in enumerate(new)
        if j not in paired_new
    }
    candidates = []
    for i, was in old_views.items():
        for j, now in new_views.items():
            score = _likeness(old_spec, was, new_spec, now)
            if score:
                candidates.append((-score, abs(i - j), i, j))
    for _, _, i, j in sorted(candidates):
        if i not in paired_old and j not in paired_new:
            join(i, j)
    return sorted(pairs)


_SAME_NAME = 1_000_000
"""The resemblance of an alternative to a schema that merged in the alternative of its name."""


def _resemblance(
    spec: Spec,
    alternative: _Alternative,
    other_spec: Spec,
    other: _View,
    folded: _Alternative | None,
) -> int:
    """How much an alternative of one version resembles the single schema of the other.

    Highest when ``other`` merged in a lone alternative of the same name (a ``oneOf`` cut
    down to one), else the :func:`_likeness` of the two, 0 when they cannot be the same.
    """
    if alternative.name is not None and folded is not None and folded.name == alternative.name:
        return _SAME_NAME
    return _likeness(spec, _view(spec, *alternative.entry), other_spec, other) or 0


def _likeness(
    one_spec: Spec, one: _View, other_spec: Spec, other: _View, depth: int = 2
) -> int | None:
    """How alike two schemas look, to pair alternatives: None when they cannot be the same.

    Clashing types, disjoint ``enum``/``const`` values, no property name in common, or a
    property whose ``enum``/``const`` values differ (a discriminator such as
    ``type: {enum: [a]}`` against ``{enum: [b]}``) make them different alternatives. Each
    shared type, value, property name, required name and discriminator adds to the score;
    0 means nothing to go by.
    """
    score = 0
    one_types, other_types = _types(one.keywords), _types(other.keywords)
    if one_types and other_types:
        if not _types_meet(one_types, other_types):
            return None
        score += 1
    shared_values = _shared_values(one_spec, one, other_spec, other)
    if shared_values is not None:
        if not shared_values:
            return None
        score += shared_values
    one_names = set(one.properties) | one.required
    other_names = set(other.properties) | other.required
    if one_names and other_names:
        if not one_names & other_names:
            return None
        score += len(one_names & other_names) + len(one.required & other.required)
    for name in set(one.properties) & set(other.properties):
        shared = _shared_values(
            one_spec,
            _view(one_spec, *one.properties[name]),
            other_spec,
            _view(other_spec, *other.properties[name]),
        )
        if shared is not None:
            if not shared:
                return None
            score += 2
    if depth and one.items and other.items:
        one_items, other_items = _view(one_spec, *one.items), _view(other_spec, *other.items)
        inner = _likeness(one_spec, one_items, other_spec, other_items, depth - 1)
        if inner is None:
            return None
        score += inner
    return score


def _types_meet(one: frozenset[str], other: frozenset[str]) -> bool:
    """Whether some value can have a type of both sets (an integer is a number too)."""
    return any(_accepts(other, kind) for kind in one) or any(_accepts(one, kind) for kind in other)


def _shared_values(one_spec: Spec, one: _View, other_spec: Spec, other: _View) -> int | None:
    """How many values two views share; None unless both admit finitely many."""
    one_values, other_values = _admitted(one_spec, one), _admitted(other_spec, other)
    if one_values is None or other_values is None:
        return None
    return len({_json(value) for value in one_values} & {_json(value) for value in other_values})


def _alternative_label(spec: Spec, alternative: _Alternative) -> str:
    """The name of an alternative, or its position and a sketch of what it holds."""
    if alternative.name is not None:
        return repr(alternative.name)
    view = _view(spec, *alternative.entry)
    types = _types(view.keywords)
    parts = [f"type {_type_text(types)}"] if types else []
    values = _admitted(spec, view)
    if values is not None:
        parts.append(f"values {_values(values[:5])}{'...' if len(values) > 5 else ''}")
    names = sorted(view.properties)
    if names:
        parts.append(f"properties {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}")
    return f"#{alternative.index} ({'; '.join(parts)})" if parts else f"#{alternative.index}"

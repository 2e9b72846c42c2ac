"""Schema views: a schema with ``$ref`` followed and ``allOf`` merged in, and its alternatives.

A view keeps the ``oneOf``/``anyOf`` alternatives a schema offers; ``_branch`` is one way to
satisfy it, with one of them. ``_admitted`` is the set of values a view admits when it is a
finite enumeration, however it is spelt (``enum``, ``const``, alternatives of those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_deploycheck.core.spec import Spec

from .documents import _escape, _follow
from .keywords import _SCALAR_KEYWORDS, _enum, _json

_ALTERNATIVES: tuple[tuple[str, str], ...] = (("oneOf", "one-of"), ("anyOf", "any-of"))
"""The keywords that list alternatives, with the suffix of their rules."""


@dataclass(frozen=True, slots=True)
class _Alternative:
    """One ``oneOf``/``anyOf`` alternative as written, with the name it is known by, if any.

    The name is its ``$ref``, else its ``title``. Unnamed alternatives are paired by how alike
    they look (:func:`_likeness`), because their position changes whenever one is inserted.
    """

    name: str | None
    index: int
    node: Any
    pointer: str

    @property
    def entry(self) -> tuple[Any, str]:
        return self.node, self.pointer


@dataclass(slots=True)
class _View:
    """A schema with its ``$ref`` followed and its ``allOf`` parts merged in.

    A ``oneOf``/``anyOf`` with a single non-null alternative is merged in too, like an
    ``allOf`` part; ``folded`` keeps that alternative, so that it still pairs by name with
    an alternative of the other version.
    """

    pointer: str
    keywords: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    items: tuple[Any, str] | None = None
    alternatives: dict[str, list[_Alternative]] = field(default_factory=dict)
    folded: dict[str, _Alternative] = field(default_factory=dict)
    null_alternative: bool = False

    @property
    def nullable(self) -> bool:
        kind = self.keywords.get("type")
        listed = isinstance(kind, list) and "null" in kind
        return self.keywords.get("nullable") is True or listed or self.null_alternative


def _view(spec: Spec, node: Any, pointer: str) -> _View:
    node, pointer = _follow(spec, node, pointer)
    view = _View(pointer)
    if isinstance(node, Mapping):
        _absorb(view, spec, node, pointer, frozenset({pointer}))
    return view


def _absorb(
    view: _View, spec: Spec, node: Mapping[str, Any], pointer: str, seen: frozenset[str]
) -> None:
    """Merge ``node`` into ``view``, then its ``allOf`` parts; what the node says wins."""
    for key, value in node.items():
        if key in _SCALAR_KEYWORDS:
            view.keywords.setdefault(key, value)
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            view.properties.setdefault(str(name), (sub, f"{pointer}/properties/{_escape(name)}"))
    required = node.get("required")
    if isinstance(required, list):
        view.required.update(name for name in required if isinstance(name, str))
    if view.items is None and isinstance(node.get("items"), Mapping):
        view.items = (node["items"], f"{pointer}/items")
    parts = node.get("allOf")
    merged = [
        (part, f"{pointer}/allOf/{index}")
        for index, part in enumerate(parts if isinstance(parts, list) else [])
    ]
    for keyword, _ in _ALTERNATIVES:
        alternatives = node.get(keyword)
        kept: list[_Alternative] = []
        for index, alternative in enumerate(alternatives if isinstance(alternatives, list) else []):
            target, _ = _follow(spec, alternative, f"{pointer}/{keyword}/{index}")
            if isinstance(target, Mapping) and target.get("type") == "null":
                view.null_alternative = True
                continue
            ref = alternative.get("$ref") if isinstance(alternative, Mapping) else None
            title = target.get("title") if isinstance(target, Mapping) else None
            name = ref if isinstance(ref, str) else title if isinstance(title, str) else None
            if name is None or all(name != other.name for other in kept):
                kept.append(_Alternative(name, index, alternative, f"{pointer}/{keyword}/{index}"))
        if len(kept) == 1:
            # `anyOf: [X, {type: "null"}]` is X made nullable (OpenAPI 3.1), not a choice.
            view.folded.setdefault(keyword, kept[0])
            merged.append(kept[0].entry)
        elif kept:
            view.alternatives.setdefault(keyword, kept)
    for part, part_pointer in merged:
        target, part_pointer = _follow(spec, part, part_pointer)
        if isinstance(target, Mapping) and part_pointer not in seen:
            _absorb(view, spec, target, part_pointer, seen | {part_pointer})


def _branch(spec: Spec, parent: _View, keyword: str, alternative: _Alternative) -> _View:
    """One way to satisfy ``parent``: what the parent says, with one of its alternatives."""
    target, pointer = _follow(spec, alternative.node, alternative.pointer)
    view = _View(
        pointer,
        keywords=dict(parent.keywords),
        properties=dict(parent.properties),
        required=set(parent.required),
        items=parent.items,
        alternatives={key: value for key, value in parent.alternatives.items() if key != keyword},
        folded=dict(parent.folded),
        null_alternative=parent.null_alternative,
    )
    if isinstance(target, Mapping):
        _absorb(view, spec, target, pointer, frozenset({pointer}))
    return view


def _listed(view: _View) -> list[tuple[str, str, _Alternative]]:
    """Every alternative of a view, with its keyword and the suffix of that keyword's rules."""
    return [
        (keyword, suffix, alternative)
        for keyword, suffix in _ALTERNATIVES
        for alternative in view.alternatives.get(keyword, [])
    ]


_ENUMERATION_DEPTH = 8
"""How deep alternatives of alternatives are read for their values (and against cycles)."""


def _admitted(spec: Spec, view: _View, depth: int = 0) -> list[Any] | None:
    """The values ``view`` admits when they are finitely many; None when it admits others.

    Whatever the spelling: ``enum``, ``const``, or ``oneOf``/``anyOf`` whose alternatives are
    each such an enumeration (GitHub rewrote ``enum: [A, B]`` as a ``oneOf`` of one-value
    enums, which admits the same values). An ``enum`` beside such alternatives keeps the
    values both admit. A ``type: "null"`` alternative is nullability, compared on its own.
    """
    own = _enum(view.keywords)
    listed = _alternative_values(spec, view, depth)
    if listed is None:
        return own
    if own is None:
        return listed
    allowed = {_json(value) for value in listed}
    return [value for value in own if _json(value) in allowed]


def _alternative_values(spec: Spec, view: _View, depth: int) -> list[Any] | None:
    """The values the alternatives of ``view`` admit, when each admits finitely many."""
    if not view.alternatives or depth >= _ENUMERATION_DEPTH:
        return None
    admitted: dict[str, Any] | None = None
    for keyword, alternatives in view.alternatives.items():
        counts: dict[str, int] = {}
        values: dict[str, Any] = {}
        for alternative in alternatives:
            found = _admitted(spec, _view(spec, *alternative.entry), depth + 1)
            if found is None:
                return None
            for key in {_json(value): value for value in found}.items():
                values.setdefault(*key)
                counts[key[0]] = counts.get(key[0], 0) + 1
        # oneOf rejects a value that more than one alternative admits
        kept = {k: v for k, v in values.items() if keyword != "oneOf" or counts[k] == 1}
        admitted = kept if admitted is None else {k: v for k, v in admitted.items() if k in kept}
    return list(admitted.values()) if admitted is not None else None

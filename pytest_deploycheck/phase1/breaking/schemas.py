"""Comparing two schemas: types, values, properties, items and alternatives, and where they sit.

Request schemas are compared with request semantics (the head accepting less is breaking),
response schemas with response semantics (the head returning more is breaking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .changes import _ChangeRecorder
from .keywords import (
    _BOUNDS,
    _accepts,
    _bound,
    _flag,
    _json,
    _number,
    _type_text,
    _types,
    _values,
)
from .pairing import _alternative_label, _compared, _pair, _resemblance
from .rules import RULES, Direction, Side
from .views import _ALTERNATIVES, _admitted, _Alternative, _branch, _listed, _View, _view


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a schema sits: which operation, which direction, which part of the message."""

    operation: str
    direction: Direction
    root_prefix: str
    root: str
    path: tuple[str, ...] = ()

    def child(self, name: str) -> _Where:
        return _Where(
            self.operation, self.direction, self.root_prefix, self.root, (*self.path, name)
        )

    @property
    def prefix(self) -> str:
        """The rule prefix: the root's, until a property name appears in the path."""
        if all(step == "[]" for step in self.path):
            return self.root_prefix
        return f"{self.direction}-property"

    def describe(self) -> str:
        steps = list(self.path)
        root = self.root
        while steps and steps[0] == "[]":
            steps.pop(0)
            root = f"the items of {root}"
        if not steps:
            return root
        dotted = "".join(step if step == "[]" else f".{step}" for step in steps).lstrip(".")
        return f"property '{dotted}' of {root}"


class _SchemaDiffer(_ChangeRecorder):
    """The part of the walk that compares two schemas, wherever they sit."""

    def schema(
        self,
        where: _Where,
        old: tuple[Any, str],
        new: tuple[Any, str],
        stack: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """Compare two schemas; ``stack`` holds the pairs being compared, against cycles."""
        self.compare(where, _view(self.base, *old), _view(self.head, *new), stack)

    def compare(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """Compare two views, telling apart a choice that became a single schema."""
        pair = (was.pointer, now.pointer)
        if pair in stack:
            return
        stack = stack | {pair}
        if self.by_values(was, now):
            self.shape(where, was, now, stack, by_values=True)
        elif was.alternatives and not now.alternatives:
            self.collapsed(where, was, now, stack)
        elif now.alternatives and not was.alternatives and where.direction == "request":
            self.expanded(where, was, now, stack)
        else:
            self.shape(where, was, now, stack)

    def shape(
        self,
        where: _Where,
        was: _View,
        now: _View,
        stack: frozenset[tuple[str, str]],
        *,
        by_values: bool = False,
    ) -> None:
        """Compare type, values, properties, items and alternatives of two views.

        ``by_values``: the views admit finitely many values, compared as sets; how they are
        spelt (``enum`` or alternatives) does not matter, so alternatives are not paired.
        """
        if self.schema_type(where, was, now):
            return  # the constraints of another type would only add noise
        self.schema_values(where, was, now)
        self.schema_properties(where, was, now, stack)
        if was.items and now.items:
            self.schema(where.child("[]"), was.items, now.items, stack)
        if by_values:
            return
        for keyword, suffix in _ALTERNATIVES:
            old = was.alternatives.get(keyword, [])
            new = now.alternatives.get(keyword, [])
            pairs = _pair(self.base, old, self.head, new)
            for old_index, new_index in pairs:
                self.schema(where, old[old_index].entry, new[new_index].entry, stack)
            paired_old = {old_index for old_index, _ in pairs}
            paired_new = {new_index for _, new_index in pairs}
            for index, alternative in enumerate(old):
                if index not in paired_old:
                    self.alternative_removed(where, keyword, suffix, alternative)
            for index, alternative in enumerate(new):
                if index not in paired_new:
                    self.alternative_added(where, keyword, suffix, alternative)

    def by_values(self, was: _View, now: _View) -> bool:
        """Whether two views are compared by the values they admit rather than by shape.

        So they are when one admits finitely many values and neither has alternatives that
        admit others: ``enum: [A, B]`` and a ``oneOf`` of ``enum: [A]``, ``enum: [B]`` and
        ``enum: [C]`` differ by one value added, not by alternatives.
        """
        old, new = _admitted(self.base, was), _admitted(self.head, now)
        if old is None and new is None:
            return False
        return (old is not None or not was.alternatives) and (
            new is not None or not now.alternatives
        )

    def collapsed(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """The base offered alternatives, the head has one schema (several merged into one).

        A request must still be accepted whatever old alternative the client sends, so each
        old alternative that looks like the head schema is compared with it. A response only
        has to fit one old alternative, so the head schema is compared with the most alike,
        and the others are no longer returned. An old alternative left out was removed.
        """
        listed = _listed(was)
        scores = [
            _resemblance(self.base, alternative, self.head, now, now.folded.get(keyword))
            for keyword, _, alternative in listed
        ]
        compared = _compared(scores, every=where.direction == "request")
        if not compared:
            self.shape(where, was, now, stack)
            return
        for index, (keyword, suffix, alternative) in enumerate(listed):
            if index in compared:
                self.compare(where, _branch(self.base, was, keyword, alternative), now, stack)
            else:
                self.alternative_removed(where, keyword, suffix, alternative)

    def expanded(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """A request body that was one schema now offers alternatives.

        What clients sent must fit one of them: the old schema is compared with the most
        alike; the others were added. A response that gained alternatives is compared part
        with part instead: holding every new alternative to all the old schema promised would
        turn one loose schema split into precise ones into a finding per alternative.
        """
        listed = _listed(now)
        scores = [
            _resemblance(self.head, alternative, self.base, was, was.folded.get(keyword))
            for keyword, _, alternative in listed
        ]
        compared = _compared(scores, every=False)
        if not compared:
            self.shape(where, was, now, stack)
            return
        for index, (keyword, suffix, alternative) in enumerate(listed):
            if index in compared:
                self.compare(where, was, _branch(self.head, now, keyword, alternative), stack)
            else:
                self.alternative_added(where, keyword, suffix, alternative)

    def alternative_removed(
        self, where: _Where, keyword: str, suffix: str, alternative: _Alternative
    ) -> None:
        label = _alternative_label(self.base, alternative)
        message = f"{keyword} alternative {label} of {where.describe()} was removed"
        if where.direction == "request":
            message += "; clients that send that shape are rejected"
        self.schema_change(where, f"{suffix}-removed", message, alternative.pointer, "base")

    def alternative_added(
        self, where: _Where, keyword: str, suffix: str, alternative: _Alternative
    ) -> None:
        label = _alternative_label(self.head, alternative)
        message = f"{keyword} alternative {label} was added to {where.describe()}"
        self.schema_change(where, f"{suffix}-added", message, alternative.pointer)

    def schema_change(
        self, where: _Where, suffix: str, message: str, pointer: str, side: Side = "head"
    ) -> None:
        rule = f"{where.prefix}-{suffix}"
        if rule in RULES:
            self.emit(rule, message, where.operation, pointer, side)

    def schema_type(self, where: _Where, was: _View, now: _View) -> bool:
        old, new = _types(was.keywords), _types(now.keywords)
        if old is None or new is None:
            return False
        if where.direction == "request":
            broken = any(not _accepts(new, kind) for kind in old)
        else:
            broken = any(not _accepts(old, kind) for kind in new)
        if broken:
            message = (
                f"type of {where.describe()} changed from {_type_text(old)} to {_type_text(new)}"
            )
            self.schema_change(where, "type-changed", message, now.pointer)
        return broken

    def schema_values(self, where: _Where, was: _View, now: _View) -> None:
        subject, pointer = where.describe(), now.pointer
        change = self.schema_change
        old_format, new_format = was.keywords.get("format"), now.keywords.get("format")
        if old_format is not None and new_format is not None and old_format != new_format:
            message = f"format of {subject} changed from {old_format!r} to {new_format!r}"
            change(where, "format-changed", message, pointer)
        self.schema_enum(where, was, now)
        for keywords, name, upper, absent in _BOUNDS:
            old = _bound(was.keywords, keywords, upper, absent)
            new = _bound(now.keywords, keywords, upper, absent)
            if old == new:
                continue
            label = keywords[0]
            if new is None:
                loosened, text = True, f"{label} of {subject} was removed (was {_number(old)})"
            elif old is None:
                loosened, text = False, f"{label} of {subject} set to {_number(new)} (was none)"
            else:
                loosened = new > old if upper else new < old
                verb = "increased" if new > old else "decreased"
                text = f"{label} of {subject} {verb} from {_number(old)} to {_number(new)}"
            grew = loosened if upper else not loosened
            change(where, f"{name}-{'increased' if grew else 'decreased'}", text, pointer)
        old_pattern, new_pattern = was.keywords.get("pattern"), now.keywords.get("pattern")
        if old_pattern != new_pattern:
            if old_pattern is None:
                message = f"{subject} must now match the pattern {new_pattern!r}"
                change(where, "pattern-added", message, pointer)
            elif new_pattern is None:
                message = f"pattern {old_pattern!r} of {subject} was removed"
                change(where, "pattern-removed", message, pointer)
            else:
                message = f"pattern of {subject} changed from {old_pattern!r} to {new_pattern!r}"
                change(where, "pattern-changed", message, pointer)
        if where.direction == "request" and "default" in was.keywords:
            old_default, new_default = was.keywords["default"], now.keywords.get("default")
            if "default" not in now.keywords:
                message = f"default of {subject} was removed (was {_json(old_default)})"
                change(where, "default-changed", message, pointer)
            elif _json(old_default) != _json(new_default):
                message = (
                    f"default of {subject} changed from {_json(old_default)} "
                    f"to {_json(new_default)}"
                )
                change(where, "default-changed", message, pointer)
        if now.nullable and not was.nullable:
            change(where, "became-nullable", f"{subject} became nullable (was not)", pointer)
        elif was.nullable and not now.nullable:
            message = f"{subject} is no longer nullable (was nullable)"
            change(where, "became-not-nullable", message, pointer)

    def schema_enum(self, where: _Where, was: _View, now: _View) -> None:
        subject, pointer = where.describe(), now.pointer
        old, new = _admitted(self.base, was), _admitted(self.head, now)
        if old is None or new is None:
            if new is not None:
                message = f"{subject} is now restricted to {_values(new)} (was any value)"
                self.schema_change(where, "became-enum", message, pointer)
            elif old is not None:
                message = f"{subject} is no longer restricted to {_values(old)}"
                self.schema_change(where, "enum-removed", message, pointer)
            return
        new_keys, old_keys = {_json(v) for v in new}, {_json(v) for v in old}
        for value in old:
            if _json(value) not in new_keys:
                message = (
                    f"value {_json(value)} was removed from the enum of {subject} "
                    f"(was {_values(old)}, now {_values(new)})"
                )
                self.schema_change(where, "enum-value-removed", message, pointer)
        for value in new:
            if _json(value) not in old_keys:
                message = (
                    f"value {_json(value)} was added to the enum of {subject} "
                    f"(was {_values(old)}, now {_values(new)})"
                )
                self.schema_change(where, "enum-value-added", message, pointer)

    def schema_properties(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        request = where.direction == "request"
        # readOnly properties are not sent, writeOnly ones are not returned.
        hidden = "readOnly" if request else "writeOnly"
        old = {n: e for n, e in was.properties.items() if not _flag(self.base, e, hidden)}
        new = {n: e for n, e in now.properties.items() if not _flag(self.head, e, hidden)}
        op = where.operation
        for name, (node, pointer) in old.items():
            child = where.child(name)
            subject = child.describe()
            if name not in new:
                if request:
                    message = f"{subject} was removed; clients that still send it may be rejected"
                    self.emit("request-property-removed", message, op, pointer, "base")
                elif name in was.required:
                    message = f"required {subject} was removed"
                    self.emit("response-required-property-removed", message, op, pointer, "base")
                else:
                    message = f"optional {subject} was removed"
                    self.emit("response-optional-property-removed", message, op, pointer, "base")
                continue
            new_node, new_pointer = new[name]
            required_before, required_now = name in was.required, name in now.required
            if required_now != required_before:
                if required_now:
                    rule = f"{where.direction}-property-became-required"
                    message = f"{subject} became required (was optional)"
                else:
                    rule = f"{where.direction}-property-became-optional"
                    message = f"{subject} became optional (was required)"
                    if not request:
                        message += "; clients may rely on it being present"
                self.emit(rule, message, op, new_pointer)
            self.schema(child, (node, pointer), (new_node, new_pointer), stack)
        for name, (_, pointer) in new.items():
            if name in old:
                continue
            subject = where.child(name).describe()
            required = name in now.required
            if request:
                rule = (
                    "new-required-request-property" if required else "new-optional-request-property"
                )
                message = f"new {'required' if required else 'optional'} {subject}"
            else:
                kind = "required" if required else "optional"
                rule = f"response-{kind}-property-added"
                message = f"new {kind} {subject}"
            self.emit(rule, message, op, pointer)

"""The spec side: a component schema's properties and what each says about its values.

``allOf``, ``$ref``, ``anyOf``/``oneOf`` and OpenAPI 3.0's ``nullable`` are merged into one
``Shape`` per property, so the comparison sees the types, format, enum and default a value may
have, wherever the spec wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pytest_deploycheck.core.spec import Spec

_MISSING: Any = object()


@dataclass(frozen=True)
class Shape:
    """What a property's schema says about its values, ``allOf``/``$ref``/``anyOf`` merged.

    ``types`` are JSON types, ``"null"`` included when null is allowed; None means the schema
    does not constrain the type.
    """

    types: frozenset[str] | None = None
    format: str | None = None
    enum: tuple[Any, ...] | None = None
    default: Any = _MISSING
    read_only: bool = False

    @property
    def nullable(self) -> bool:
        return self.types is not None and "null" in self.types

    @property
    def value_types(self) -> frozenset[str]:
        return frozenset() if self.types is None else self.types - {"null"}

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True)
class Property:
    """One property of a component schema and where it is defined."""

    name: str
    pointer: str
    shape: Shape
    required: bool


@dataclass(frozen=True)
class Model:
    """A component schema's properties, ``allOf`` merged."""

    name: str
    pointer: str
    properties: Mapping[str, Property]


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping: a malformed spec is the openapi check's to report."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _own_shape(node: Mapping[str, Any]) -> tuple[Shape, bool]:
    """The keywords of one schema object; the flag is OpenAPI 3.0's ``nullable: true``."""
    raw = node.get("type")
    types: frozenset[str] | None = None
    if isinstance(raw, str):
        types = frozenset({raw})
    elif isinstance(raw, list):
        types = frozenset(str(t) for t in raw)
    enum: tuple[Any, ...] | None = None
    if isinstance(node.get("enum"), list):
        enum = tuple(node["enum"])
    elif "const" in node:
        enum = (node["const"],)
    if types is None and enum:
        types = frozenset(_json_type(value) for value in enum)
    nullable = node.get("nullable") is True
    if types is not None and nullable:
        types = types | {"null"}
    return (
        Shape(
            types,
            node.get("format") if isinstance(node.get("format"), str) else None,
            enum,
            node.get("default", _MISSING),
            node.get("readOnly") is True,
        ),
        nullable,
    )


def _all_of(shapes: Sequence[Shape]) -> Shape:
    typed = [s.types for s in shapes if s.types is not None]
    types = frozenset.intersection(*typed) if typed else None
    enums = [s.enum for s in shapes if s.enum is not None]
    enum = None
    if enums:
        enum = tuple(v for v in enums[0] if all(v in other for other in enums[1:]))
    return Shape(
        types,
        next((s.format for s in shapes if s.format), None),
        enum,
        next((s.default for s in shapes if s.has_default), _MISSING),
        any(s.read_only for s in shapes),
    )


def _any_of(shapes: Sequence[Shape]) -> Shape:
    if any(s.types is None for s in shapes):
        types = None
    else:
        types = frozenset().union(*(s.types or frozenset() for s in shapes))
    formats = {s.format for s in shapes if "string" in s.value_types or s.types is None}
    enum = None
    if all(s.enum is not None or s.value_types <= {"null"} for s in shapes):
        enum = tuple(v for s in shapes for v in (s.enum or ()))
    return Shape(
        types,
        formats.pop() if len(formats) == 1 else None,
        enum,
        next((s.default for s in shapes if s.has_default), _MISSING),
        all(s.read_only for s in shapes),
    )


def _shape(spec: Spec, node: Any, seen: frozenset[str] = frozenset()) -> Shape:
    """The merged shape of a (sub)schema, following ``$ref`` with its siblings kept."""
    if not isinstance(node, Mapping):
        return Shape()
    parts: list[Shape] = []
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref not in seen:
            parts.append(_shape(spec, spec.resolve({"$ref": ref}), seen | {ref}))
        node = {key: value for key, value in node.items() if key != "$ref"}
    own, nullable = _own_shape(node)
    parts.insert(0, own)
    parts.extend(_shape(spec, sub, seen) for sub in _list(node.get("allOf")))
    shape = _all_of(parts)
    for keyword in ("anyOf", "oneOf"):
        variants = node.get(keyword)
        if isinstance(variants, list) and variants:
            shape = _all_of([shape, _any_of([_shape(spec, v, seen) for v in variants])])
    if nullable and shape.types is not None:
        # OpenAPI 3.0: nullable: true next to allOf/$ref makes the whole property nullable
        shape = replace(shape, types=shape.types | {"null"})
    if shape.enum is not None and None in shape.enum and shape.types is not None:
        shape = replace(shape, types=shape.types | {"null"})
    return shape


def _members(
    spec: Spec, node: Any, pointer: str, seen: frozenset[str]
) -> tuple[dict[str, list[tuple[Any, str]]], set[str]]:
    """Properties (with the pointer of each definition) and required names, allOf merged."""
    if not isinstance(node, Mapping):
        return {}, set()
    properties: dict[str, list[tuple[Any, str]]] = {}
    required: set[str] = set()

    def merge(other: tuple[dict[str, list[tuple[Any, str]]], set[str]]) -> None:
        for name, definitions in other[0].items():
            properties.setdefault(name, []).extend(definitions)
        required.update(other[1])

    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref not in seen:
            merge(_members(spec, spec.resolve({"$ref": ref}), ref, seen | {ref}))
        node = {key: value for key, value in node.items() if key != "$ref"}
    for name, schema in as_mapping(node.get("properties")).items():
        properties.setdefault(str(name), []).append(
            (schema, f"{pointer}/properties/{escape(str(name))}")
        )
    required.update(str(name) for name in _list(node.get("required")))
    for index, part in enumerate(_list(node.get("allOf"))):
        merge(_members(spec, part, f"{pointer}/allOf/{index}", seen))
    return properties, required


def component_model(spec: Spec, name: str) -> Model | None:
    """The properties of ``#/components/schemas/<name>``, or None when there is none."""
    schemas = as_mapping(as_mapping(spec.document.get("components")).get("schemas"))
    if name not in schemas:
        return None
    pointer = f"#/components/schemas/{escape(name)}"
    members, required = _members(spec, schemas[name], pointer, frozenset({pointer}))
    properties = {}
    for prop, definitions in members.items():
        nodes = [node for node, _pointer in definitions]
        shape = _shape(spec, nodes[0] if len(nodes) == 1 else {"allOf": nodes})
        properties[prop] = Property(prop, definitions[0][1], shape, prop in required)
    return Model(name, pointer, properties)

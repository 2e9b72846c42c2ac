"""Lint rules on schemas: enums, array items, ``nullable`` and required properties."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .context import LintContext, p
from .registry import Issue, rule
from .schema_errors import short


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    return [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else []


def _enum_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str) + type(value).__name__


@rule("duplicated-entry-in-enum", "warning", "Enum values are not repeated.")
def _duplicated_enum(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["enum"]:
        enum = schema.get("enum")
        if isinstance(enum, list):
            seen: set[str] = set()
            for index, value in enumerate(enum):
                key = _enum_key(value)
                if key in seen:
                    yield Issue(f"{pointer}/enum/{index}", f"enum value {short(value)} is repeated")
                seen.add(key)


_PY_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


@rule("typed-enum", "warning", "Enum values match the schema's type.")
def _typed_enum(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["enum"]:
        enum, types = schema.get("enum"), _types(schema)
        if not isinstance(enum, list) or not types:
            continue
        if schema.get("nullable") is True:
            types = [*types, "null"]
        checks = [_PY_TYPES[t] for t in types if t in _PY_TYPES]
        for index, value in enumerate(enum):
            if checks and not any(check(value) for check in checks):
                yield Issue(
                    f"{pointer}/enum/{index}",
                    f"enum value {short(value)} is not of type {' or '.join(types)}",
                )


@rule("array-items", "error", "Array schemas define their items.")
def _array_items(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["array"]:
        if "array" in _types(schema) and "items" not in schema and "prefixItems" not in schema:
            yield Issue(pointer, "a schema with type: array needs 'items'")


@rule("nullable-type-sibling", "warning", "In OpenAPI 3.0, 'nullable' comes with a 'type'.")
def _nullable_type(ctx: LintContext) -> Iterator[Issue]:
    if ctx.version != "3.0":
        return
    for pointer, schema in ctx.keyed["nullable"]:
        if "type" not in schema:
            yield Issue(
                p(pointer, "nullable"),
                "'nullable' has no effect without 'type' in OpenAPI 3.0; add the type",
            )


@rule(
    "no-required-schema-properties-undefined",
    "warning",
    "Properties listed as required are defined.",
)
def _required_defined(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["required"]:
        required, properties = schema.get("required"), schema.get("properties")
        if not isinstance(required, list) or not isinstance(properties, dict):
            continue
        if any(key in schema for key in ("allOf", "anyOf", "oneOf", "$ref")):
            continue
        for index, name in enumerate(required):
            if isinstance(name, str) and name not in properties:
                yield Issue(
                    f"{pointer}/required/{index}",
                    f"required property {name!r} is not defined in 'properties'",
                )

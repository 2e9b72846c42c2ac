"""Code models against the spec's component schemas.

A model is a Pydantic class (``"package.module:ClassName"``, imported with the project root on
``sys.path``) or a JSON Schema file (a Zod ``z.toJSONSchema()`` export, zod-to-json-schema
output, or any JSON Schema). Both become one JSON Schema document, which is compared with the
component schema it mirrors: properties, types, required, nullable, enums, formats,
constraints, array items and nested objects, following ``$ref`` on both sides with cycles
guarded. Each configured model is one check (``check_model``), so each can be its own item.
"""

from __future__ import annotations

import difflib
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_deploycheck.core.errors import ConfigError, DeployCheckError, SpecError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.spec import Spec, resolve_pointer

__all__ = [
    "ModelSchema",
    "ModelSource",
    "ModelSourceError",
    "check_model",
    "check_models",
    "compare_schemas",
    "load_model_schema",
    "model_sources",
]

Mode = Literal["validation", "serialization"]
Kind = Literal["pydantic", "json_schema"]
_MODES: tuple[Mode, ...] = ("validation", "serialization")
_KINDS: tuple[Kind, ...] = ("pydantic", "json_schema")

# Keywords compared only when both sides state them; a difference is a warning.
_CONSTRAINTS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
# Numeric formats say how a number is stored, not what it means: one-sided ones are noise.
_STORAGE_FORMATS = frozenset({"int32", "int64", "float", "double"})


class ModelSourceError(DeployCheckError):
    """A configured model cannot be imported, read or turned into a JSON Schema."""


@dataclass(frozen=True)
class ModelSource:
    """One configured model: the component it mirrors and where its schema comes from."""

    component: str
    kind: Kind
    target: str
    mode: Mode = "validation"
    ignore: tuple[str, ...] = ()

    @property
    def item_id(self) -> str:
        """``pydantic:Appointment``: unique per entry, usable in node ids."""
        return f"{self.kind}:{self.component}"

    @property
    def key(self) -> str:
        """The config key path of this entry: ``models.pydantic.Appointment``."""
        return f"models.{self.kind}.{self.component}"


@dataclass(frozen=True)
class ModelSchema:
    """A model's JSON Schema document and the pointer of the model's own schema in it."""

    document: Any
    pointer: str
    name: str


def model_sources(section: Mapping[str, Any]) -> list[ModelSource]:
    """The entries of the ``models`` section, defaults applied; ConfigError lists every problem."""
    problems: list[str] = []
    sources: list[ModelSource] = []
    for kind in _KINDS:
        entries = section.get(kind) or {}
        if not isinstance(entries, Mapping):
            problems.append(
                f"models.{kind}: expected an object of component: model (got {entries!r})"
            )
            continue
        target_key = "model" if kind == "pydantic" else "path"
        for component, value in entries.items():
            key = f"models.{kind}.{component}"
            options: Mapping[str, Any] = (
                value if isinstance(value, Mapping) else {target_key: value}
            )
            target = options.get(target_key)
            mode = options.get("mode", "validation")
            ignore = options.get("ignore", [])
            if not isinstance(target, str) or not target:
                problems.append(f"{key}: expected a string or an object with {target_key!r}")
                continue
            if kind == "pydantic" and not _is_import_path(target):
                problems.append(
                    f"{key}: {target!r} is not an import path; write 'package.module:ClassName'"
                )
            if mode not in _MODES:
                problems.append(f"{key}.mode: {mode!r} is not one of 'validation', 'serialization'")
            if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
                problems.append(f"{key}.ignore: expected a list of property paths (got {ignore!r})")
                ignore = []
            sources.append(ModelSource(str(component), kind, target, mode, tuple(ignore)))
    if problems:
        raise ConfigError(problems)
    return sources


def _is_import_path(target: str) -> bool:
    module, colon, attribute = target.partition(":")
    parts = [*module.split("."), *attribute.split(".")]
    return bool(colon) and all(part.isidentifier() for part in parts)


def check_models(spec: Spec, section: Mapping[str, Any], root: Path) -> list[Finding]:
    """Every configured model against its component schema."""
    findings: list[Finding] = []
    for source in model_sources(section):
        findings.extend(check_model(spec, source, root))
    return findings


def check_model(spec: Spec, source: ModelSource, root: Path) -> list[Finding]:
    """One model against its component schema; loading problems become findings too."""
    pointer = "#/components/schemas/" + _escape(source.component)
    schemas = (spec.document.get("components") or {}).get("schemas") or {}
    if source.component not in schemas:
        close = difflib.get_close_matches(source.component, list(schemas), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return [
            Finding(
                "models-component",
                f"{source.key}: the spec has no component schema {source.component!r}{hint}",
                location="#/components/schemas",
            )
        ]
    try:
        model = load_model_schema(source, root)
        return compare_schemas(
            spec, source.component, model, mode=source.mode, ignore=source.ignore
        )
    except ModelSourceError as exc:
        return [Finding("models-source", f"{source.key}: {exc}", location=pointer)]
    except SpecError as exc:
        return [Finding("models-ref", f"{source.key}: {exc}", location=pointer)]


# -- loading ---------------------------------------------------------------------------------


def load_model_schema(source: ModelSource, root: Path) -> ModelSchema:
    """The JSON Schema of ``source``: generated from a Pydantic class, or read from a file."""
    if source.kind == "pydantic":
        return _pydantic_schema(source.target, source.mode, root)
    return _file_schema(source.target, source.component, root)


def _pydantic_schema(target: str, mode: Mode, root: Path) -> ModelSchema:
    module_name, _, attribute = target.partition(":")
    obj: Any = _import_module(module_name, root)
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelSourceError(
                f"module {module_name!r} has no attribute {attribute!r}; check the class name"
            ) from None
    try:
        generate = getattr(obj, "model_json_schema", None)
        if isinstance(obj, type) and callable(generate):
            document = generate(by_alias=True, mode=mode)
        else:
            # dataclasses and TypedDicts go through a TypeAdapter, like FastAPI does
            from pydantic import TypeAdapter

            document = TypeAdapter(obj).json_schema(by_alias=True, mode=mode)
    # anything the user's model raises while building its schema is reported, not a crash
    except Exception as exc:  # noqa: BLE001
        raise ModelSourceError(
            f"{target} has no JSON Schema ({type(exc).__name__}: {exc}); is it a Pydantic model?"
        ) from None
    return ModelSchema(document, "#", target)


def _import_module(module_name: str, root: Path) -> Any:
    entry = str(root.resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        importlib.invalidate_caches()
        return importlib.import_module(module_name)
    # a model module can fail in any way on import, even sys.exit(); report it, do not crash
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise ModelSourceError(
            f"cannot import {module_name!r} from {entry} ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        if added:
            sys.path.remove(entry)


def _file_schema(target: str, component: str, root: Path) -> ModelSchema:
    relative, _, fragment = target.partition("#")
    path = root / relative
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelSourceError(
            f"{relative} does not exist; export the JSON Schema first or fix the path"
        ) from None
    except OSError as exc:
        raise ModelSourceError(f"cannot read {relative}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelSourceError(
            f"{relative}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    if fragment:
        pointer = "#" + fragment
        _resolve(document, pointer, relative)
    else:
        pointer = _root_pointer(document, component)
    return ModelSchema(document, pointer, relative)


def _root_pointer(document: Any, component: str) -> str:
    """Where the model sits in a file: the root, or its entry in a bundle of definitions."""
    if not isinstance(document, Mapping):
        return "#"
    describes_itself = any(
        key in document for key in ("$ref", "type", "properties", "allOf", "anyOf", "oneOf")
    )
    if not describes_itself:
        # zod-to-json-schema with several schemas, or a hand-written bundle
        for container in ("$defs", "definitions"):
            defs = document.get(container)
            if isinstance(defs, Mapping) and component in defs:
                return f"#/{container}/{_escape(component)}"
    return "#"


def _resolve(document: Any, pointer: str, name: str) -> Any:
    try:
        return resolve_pointer(document, pointer, name)
    except SpecError as exc:
        raise ModelSourceError(str(exc)) from None


# -- normalising both sides ------------------------------------------------------------------

_Node = tuple[Any, str]  # a raw schema node and its JSON pointer


@dataclass
class _Shape:
    """What a schema node says, with $ref followed, allOf merged and nullability extracted."""

    pointer: str
    types: frozenset[str] = frozenset()
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    format: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, _Node] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: _Node | None = None
    additional: _Node | None = None
    read_only: bool = False
    write_only: bool = False
    union: bool = False  # several non-null alternatives: only their types are compared

    @property
    def null_only(self) -> bool:
        return (
            self.nullable
            and not self.types
            and self.enum is None
            and not self.properties
            and self.items is None
        )

    def describe(self) -> str:
        """``string (date-time) or null``: how messages show a schema."""
        text = " or ".join(sorted(self.types)) if self.types else "any type"
        if self.format:
            text += f" ({self.format})"
        return text + (" or null" if self.nullable else "")


class _Reader:
    """Follows references inside one document and normalises its schema nodes."""

    def __init__(self, document: Any, name: str) -> None:
        self.document = document
        self.name = name
        self._cache: dict[str, _Shape] = {}

    def follow(self, node: Any, pointer: str) -> tuple[Mapping[str, Any], str]:
        siblings: dict[str, Any] = {}
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"{self.name}: circular $ref {ref!r}")
            seen.add(ref)
            # keywords next to $ref (3.1, JSON Schema 2020-12) apply on top of the target
            siblings = {**{k: v for k, v in node.items() if k != "$ref"}, **siblings}
            node = resolve_pointer(self.document, ref, self.name)
            pointer = ref
        if not isinstance(node, Mapping):
            node = {}  # boolean schemas: true accepts anything, and false is never a model
        return ({**node, **siblings} if siblings else node), pointer

    def shape(self, node: Any, pointer: str, stack: frozenset[str] = frozenset()) -> _Shape:
        cached = self._cache.get(pointer)
        if cached is not None:
            return cached
        given = pointer
        node, pointer = self.follow(node, pointer)
        if pointer in stack:  # an allOf/anyOf that includes itself
            return _Shape(pointer)
        stack = stack | {pointer}
        shape = _own_shape(node, pointer)
        branches = node.get("allOf")
        if isinstance(branches, list) and branches:
            parts = [self.shape(b, f"{pointer}/allOf/{i}", stack) for i, b in enumerate(branches)]
            outer_nullable = shape.nullable
            for part in parts:
                _merge(shape, part)
            shape.nullable = outer_nullable or all(part.nullable for part in parts)
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword)
            if not isinstance(branches, list) or not branches:
                continue
            parts = [
                self.shape(b, f"{pointer}/{keyword}/{i}", stack) for i, b in enumerate(branches)
            ]
            values = [part for part in parts if not part.null_only]
            if len(values) < len(parts) or any(part.nullable for part in values):
                shape.nullable = True
            if len(values) == 1:
                _merge(shape, values[0])
            elif values:
                shape.types = shape.types or frozenset().union(*(v.types for v in values))
                shape.union = True
        self._cache[given] = self._cache[pointer] = shape
        return shape


def _own_shape(node: Mapping[str, Any], pointer: str) -> _Shape:
    raw_type = node.get("type")
    types = {raw_type} if isinstance(raw_type, str) else set(raw_type or [])
    nullable = "null" in types or node.get("nullable") is True
    enum: tuple[Any, ...] | None = None
    if "const" in node:
        enum = (node["const"],)
    elif isinstance(node.get("enum"), list):
        enum = tuple(node["enum"])
    if enum is not None and None in enum:
        nullable = True
        enum = tuple(value for value in enum if value is not None) or None
    constraints = {key: node[key] for key in _CONSTRAINTS if key in node}
    # OpenAPI 3.0 and draft 4 spell an exclusive bound as a boolean next to minimum/maximum
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = constraints.get(bound)
        if isinstance(flag, bool):
            del constraints[bound]
            if flag and limit in constraints:
                constraints[bound] = constraints.pop(limit)
    properties = node.get("properties")
    items = node.get("items")
    additional = node.get("additionalProperties")
    required = node.get("required")
    return _Shape(
        pointer=pointer,
        types=frozenset(str(t) for t in types if t != "null"),
        nullable=nullable,
        enum=enum,
        format=node.get("format") if isinstance(node.get("format"), str) else None,
        constraints=constraints,
        properties={
            str(name): (value, f"{pointer}/properties/{_escape(str(name))}")
            for name, value in (properties.items() if isinstance(properties, Mapping) else [])
        },
        required=frozenset(required) if isinstance(required, list) else frozenset(),
        items=(items, f"{pointer}/items") if isinstance(items, Mapping) else None,
        additional=(
            (additional, f"{pointer}/additionalProperties")
            if isinstance(additional, Mapping) and additional
            else None
        ),
        read_only=node.get("readOnly") is True,
        write_only=node.get("writeOnly") is True,
    )


def _merge(base: _Shape, other: _Shape) -> None:
    """Fold ``other`` into ``base``; what ``base`` states itself wins."""
    if not base.types:
        base.types, base.union = other.types, other.union
    base.enum = base.enum if base.enum is not None else other.enum
    base.format = base.format or other.format
    base.constraints = {**other.constraints, **base.constraints}
    base.properties = {**other.properties, **base.properties}
    base.required = base.required | other.required
    base.items = base.items or other.items
    base.additional = base.additional or other.additional
    base.read_only = base.read_only or other.read_only
    base.write_only = base.write_only or other.write_only


# -- comparing -------------------------------------------------------------------------------


def compare_schemas(
    spec: Spec,
    component: str,
    model: ModelSchema,
    *,
    mode: Mode = "validation",
    ignore: Sequence[str] = (),
) -> list[Finding]:
    """Differences between the component schema ``component`` and the model's schema.

    Structural differences (properties, types, required, nullable, enums, formats stated on
    both sides) are errors; constraints that differ and one-sided formats or enums are warnings.
    """
    comparison = _Comparison(
        _Reader(spec.document, spec.name),
        _Reader(model.document, model.name),
        component=component,
        model_name=model.name,
        mode=mode,
        ignore=tuple(ignore),
    )
    pointer = "#/components/schemas/" + _escape(component)
    spec_node = resolve_pointer(spec.document, pointer, spec.name)
    model_node = _resolve(model.document, model.pointer, model.name)
    comparison.compare(component, (spec_node, pointer), (model_node, model.pointer))
    return comparison.findings


class _Comparison:
    """Walks a component schema and a model schema side by side, collecting findings."""

    def __init__(
        self,
        spec: _Reader,
        model: _Reader,
        *,
        component: str,
        model_name: str,
        mode: Mode,
        ignore: tuple[str, ...],
    ) -> None:
        self.spec = spec
        self.model = model
        self.component = component
        self.model_name = model_name
        self.mode = mode
        self.ignore = ignore
        self.findings: list[Finding] = []
        self._visited: set[tuple[str, str]] = set()

    def compare(self, path: str, spec_node: _Node, model_node: _Node) -> None:
        s = self.spec.shape(*spec_node)
        m = self.model.shape(*model_node)
        # the same pair of schemas is compared once, which ends recursive models; an ignored
        # pair counts as compared, so it does not come back under another path
        if (s.pointer, m.pointer) in self._visited:
            return
        self._visited.add((s.pointer, m.pointer))
        if self._ignored(path):
            return
        if s.nullable != m.nullable and path != self.component:
            said = ("allows null", "does not") if s.nullable else ("does not allow null", "does")
            self._report(
                "models-nullable",
                f"{path}: nullable differs: the spec {said[0]}, the model {said[1]}",
                s.pointer,
            )
        if s.types and m.types and s.types != m.types:
            self._report(
                "models-type",
                f"{path}: type differs: the spec says {s.describe()}, "
                f"the model says {m.describe()}",
                s.pointer,
            )
            return
        if s.union or m.union:
            return  # alternatives cannot be paired reliably; their types matched
        self._compare_values(path, s, m)
        if s.items and m.items:
            self.compare(f"{path}[]", s.items, m.items)
        if s.additional and m.additional:
            self.compare(f"{path}.*", s.additional, m.additional)
        self._compare_properties(path, s, m)

    def _compare_values(self, path: str, s: _Shape, m: _Shape) -> None:
        if s.enum is not None and m.enum is not None:
            added = [v for v in m.enum if v not in s.enum]
            removed = [v for v in s.enum if v not in m.enum]
            if added or removed:
                parts = []
                if added:
                    parts.append(f"the model adds {_show(added)}")
                if removed:
                    parts.append(f"the model lacks {_show(removed)}")
                self._report(
                    "models-enum",
                    f"{path}: enum differs: {'; '.join(parts)} "
                    f"(spec: {_show(s.enum)}; model: {_show(m.enum)})",
                    s.pointer,
                )
        elif s.enum is not None or m.enum is not None:
            side, other, values = ("spec", "model", s.enum) if s.enum else ("model", "spec", m.enum)
            self._report(
                "models-enum",
                f"{path}: the {side} allows only {_show(values or ())}; "
                f"the {other} accepts any {(m if s.enum else s).describe()}",
                s.pointer,
                Severity.WARNING,
            )
        if s.format and m.format and s.format != m.format:
            self._report(
                "models-format",
                f"{path}: format differs: the spec says {s.format}, the model says {m.format}",
                s.pointer,
            )
        elif bool(s.format) != bool(m.format) and (s.format or m.format) not in _STORAGE_FORMATS:
            side, other, value = (
                ("spec", "model", s.format) if s.format else ("model", "spec", m.format)
            )
            self._report(
                "models-format",
                f"{path}: the {side} says format {value}, the {other} states no format",
                s.pointer,
                Severity.WARNING,
            )
        for key in _CONSTRAINTS:
            if key in s.constraints and key in m.constraints:
                ours, theirs = s.constraints[key], m.constraints[key]
                if ours != theirs:
                    self._report(
                        "models-constraint",
                        f"{path}: {key} differs: the spec says {json.dumps(ours)}, "
                        f"the model says {json.dumps(theirs)}",
                        s.pointer,
                        Severity.WARNING,
                    )

    def _compare_properties(self, path: str, s: _Shape, m: _Shape) -> None:
        if not s.properties and not m.properties:
            return
        if not s.properties or not m.properties:
            side, other, names = (
                ("spec", "model", s.properties) if s.properties else ("model", "spec", m.properties)
            )
            self._report(
                "models-structure",
                f"{path}: the {side} declares properties {', '.join(names)}; "
                f"the {other} is a free-form object",
                s.pointer,
                Severity.WARNING,
            )
            return
        missing = [name for name in s.properties if name not in m.properties]
        extra = [name for name in m.properties if name not in s.properties]
        for name in missing:
            child = self.spec.shape(*s.properties[name])
            if self._not_expected(child):
                continue
            required = ", required" if name in s.required else ""
            alias = _alias_of(name, extra)
            hint = f"; is {alias!r} in the model an alias of it?" if alias else ""
            self._report(
                "models-missing-property",
                f"{path}.{name}: missing from the model; the spec declares it "
                f"({child.describe()}{required}){hint}",
                s.properties[name][1],
                child_path=f"{path}.{name}",
            )
        for name in extra:
            child = self.model.shape(*m.properties[name])
            self._report(
                "models-extra-property",
                f"{path}.{name}: the model has it ({child.describe()}), the spec does not",
                s.pointer + "/properties",
                child_path=f"{path}.{name}",
            )
        for name in s.properties:
            if name not in m.properties:
                continue
            child_path = f"{path}.{name}"
            spec_required, model_required = name in s.required, name in m.required
            child = self.spec.shape(*s.properties[name])
            if spec_required != model_required and not self._not_expected(child):
                who = (
                    ("the spec requires it, the model does not")
                    if spec_required
                    else ("the model requires it, the spec does not")
                )
                self._report(
                    "models-required",
                    f"{child_path}: required differs: {who}",
                    s.properties[name][1],
                    child_path=child_path,
                )
            self.compare(child_path, s.properties[name], m.properties[name])

    def _not_expected(self, spec_child: _Shape) -> bool:
        """Read-only properties have no place in a request model, write-only ones in a response."""
        if self.mode == "validation":
            return spec_child.read_only
        return spec_child.write_only

    def _ignored(self, path: str) -> bool:
        relative = path[len(self.component) :].lstrip(".")
        return any(
            relative == pattern or relative.startswith((pattern + ".", pattern + "["))
            for pattern in self.ignore
        )

    def _report(
        self,
        rule: str,
        message: str,
        location: str,
        severity: Severity = Severity.ERROR,
        *,
        child_path: str | None = None,
    ) -> None:
        if child_path is not None and self._ignored(child_path):
            return
        self.findings.append(
            Finding(rule, f"{message} (model {self.model_name})", severity, location)
        )


def _alias_of(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate spelled like ``name`` but for case and separators: a likely alias."""
    folded = name.replace("_", "").replace("-", "").lower()
    for candidate in candidates:
        if candidate.replace("_", "").replace("-", "").lower() == folded:
            return candidate
    return None


def _show(values: Sequence[Any]) -> str:
    return ", ".join(json.dumps(value) for value in values)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")

"""The ``database`` check: the migrated schema against the spec's component schemas.

The migrations are applied to a fresh SQLite database, as the migrations check does, and each
table is compared with the component schema it stores: columns against properties (with
``providerId`` <-> ``provider_id``), SQLite type affinity against JSON Schema type and format,
NOT NULL against ``required`` and nullability, ``CHECK (col IN (...))`` against ``enum``, and
defaults. A mismatch is a service that answers 500 on valid input, or a response that breaks
its own schema, waiting for the first row that shows it.

``compare_schema`` is the pure core; ``check_database`` applies the migrations around it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.findings import Finding, Severity, apply_severities
from pytest_deploycheck.core.spec import Spec

from .migrations import (
    MigrationSettings,
    Table,
    Token,
    apply_migrations,
    check_clauses,
    column_affinity,
    column_origins,
    discover_migrations,
    significant_tokens,
)

__all__ = [
    "RULES",
    "DatabaseSettings",
    "Model",
    "Property",
    "Shape",
    "TableMapping",
    "check_database",
    "check_enums",
    "compare_schema",
    "component_model",
    "infer_tables",
    "snake_case",
    "type_mismatch",
]

#: Every rule of the check and its usual severity (some rules grade their findings).
RULES: Mapping[str, Severity] = {
    "database-migrations": Severity.ERROR,
    "database-table-missing": Severity.ERROR,
    "database-schema-missing": Severity.ERROR,
    "database-pairing": Severity.INFO,
    "database-missing-column": Severity.ERROR,
    "database-extra-column": Severity.WARNING,
    "database-type": Severity.ERROR,
    "database-nullability": Severity.ERROR,
    "database-enum": Severity.ERROR,
    "database-default": Severity.WARNING,
    "database-primary-key": Severity.WARNING,
    "database-config": Severity.WARNING,
}

# Tables that D1, wrangler or SQLite create for themselves.
_INTERNAL = re.compile(r"^(sqlite_|_cf_|d1_migrations$)", re.IGNORECASE)


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableMapping:
    """Which component schema a table stores, and what to leave out of the comparison."""

    table: str
    schema: str
    ignore_columns: frozenset[str] = frozenset()
    ignore_properties: frozenset[str] = frozenset()
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatabaseSettings:
    """The ``database`` section with its defaults applied."""

    tables: tuple[TableMapping, ...] | None = None
    naming: str = "snake_case"
    ignore_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    severities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> DatabaseSettings:
        """Read a validated ``database`` section."""
        ignore_columns = {
            str(table): tuple(str(c) for c in columns)
            for table, columns in (section.get("ignore_columns") or {}).items()
        }
        ignore_properties = {
            str(schema): tuple(str(p) for p in properties)
            for schema, properties in (section.get("ignore_properties") or {}).items()
        }
        tables: tuple[TableMapping, ...] | None = None
        if section.get("tables") is not None:
            mappings = []
            for table, entry in section["tables"].items():
                if isinstance(entry, str):
                    entry = {"schema": entry}
                mappings.append(
                    TableMapping(
                        str(table),
                        str(entry["schema"]),
                        frozenset(str(c) for c in entry.get("ignore_columns", ())),
                        frozenset(str(p) for p in entry.get("ignore_properties", ())),
                        {str(k): str(v) for k, v in (entry.get("columns") or {}).items()},
                    )
                )
            tables = tuple(mappings)
        return cls(
            tables,
            str(section.get("naming", "snake_case")),
            ignore_columns,
            ignore_properties,
            dict(section.get("rules") or {}),
        )

    def mapping_for(self, mapping: TableMapping) -> TableMapping:
        """The mapping with the section-wide ignore lists of its table and schema added."""
        return replace(
            mapping,
            ignore_columns=mapping.ignore_columns | set(self.ignore_columns.get(mapping.table, ())),
            ignore_properties=mapping.ignore_properties
            | set(self.ignore_properties.get(mapping.schema, ())),
        )


# -- the spec side ---------------------------------------------------------------------------

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


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping: a malformed spec is the openapi check's to report."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(token: str) -> str:
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
    for name, schema in _mapping(node.get("properties")).items():
        properties.setdefault(str(name), []).append(
            (schema, f"{pointer}/properties/{_escape(str(name))}")
        )
    required.update(str(name) for name in _list(node.get("required")))
    for index, part in enumerate(_list(node.get("allOf"))):
        merge(_members(spec, part, f"{pointer}/allOf/{index}", seen))
    return properties, required


def component_model(spec: Spec, name: str) -> Model | None:
    """The properties of ``#/components/schemas/<name>``, or None when there is none."""
    schemas = _mapping(_mapping(spec.document.get("components")).get("schemas"))
    if name not in schemas:
        return None
    pointer = f"#/components/schemas/{_escape(name)}"
    members, required = _members(spec, schemas[name], pointer, frozenset({pointer}))
    properties = {}
    for prop, definitions in members.items():
        nodes = [node for node, _pointer in definitions]
        shape = _shape(spec, nodes[0] if len(nodes) == 1 else {"allOf": nodes})
        properties[prop] = Property(prop, definitions[0][1], shape, prop in required)
    return Model(name, pointer, properties)


# -- the database side -----------------------------------------------------------------------


def _literal(tokens: Sequence[Token]) -> tuple[bool, Any]:
    """``(True, value)`` when the tokens spell one SQL literal, else ``(False, None)``."""
    while len(tokens) >= 2 and tokens[0].text == "(" and tokens[-1].text == ")":
        tokens = tokens[1:-1]
    sign = 1
    if len(tokens) == 2 and tokens[0].text in ("-", "+"):
        sign = -1 if tokens[0].text == "-" else 1
        tokens = tokens[1:]
    if len(tokens) != 1:
        return False, None
    token = tokens[0]
    if token.kind == "string":
        return sign == 1, token.text[1:-1].replace("''", "'")
    if token.kind == "number":
        text = token.text
        if text.lower().startswith("0x"):
            return True, sign * int(text, 16)
        number = float(text)
        return True, sign * (int(number) if re.fullmatch(r"\d+", text) else number)
    if token.kind == "word" and token.upper in ("TRUE", "FALSE", "NULL"):
        return True, {"TRUE": 1, "FALSE": 0, "NULL": None}[token.upper]
    return False, None


def _default_value(text: str | None) -> tuple[bool, Any]:
    """A column's DEFAULT as a Python value, when it is a literal (not CURRENT_TIMESTAMP)."""
    return (False, None) if text is None else _literal(significant_tokens(text))


def _in_lists(tokens: Sequence[Token]) -> Iterator[tuple[str, list[Any]]]:
    """Every ``column IN (literal, ...)`` of a CHECK clause, NOT IN and expressions left out."""
    for index, token in enumerate(tokens):
        if not (token.kind == "word" and token.upper == "IN") or index == 0:
            continue
        column = tokens[index - 1]
        if column.kind not in ("word", "ident") or column.upper == "NOT":
            continue
        if index + 1 >= len(tokens) or tokens[index + 1].text != "(":
            continue
        values: list[Any] = []
        element: list[Token] = []
        for inner in tokens[index + 2 :]:
            if inner.text in (",", ")"):
                ok, value = _literal(element)
                if not ok:
                    break
                if value is not None:
                    values.append(value)
                element = []
                if inner.text == ")":
                    yield column.name.lower(), values
                    break
            else:
                element.append(inner)


def check_enums(table: Table) -> dict[str, tuple[Any, ...]]:
    """The values a ``CHECK (col IN (...))`` allows, by lower-case column name."""
    allowed: dict[str, tuple[Any, ...]] = {}
    for clause in check_clauses(table.sql):
        for column, values in _in_lists(clause):
            if column in allowed:
                keep = {_canon(v) for v in values}
                allowed[column] = tuple(v for v in allowed[column] if _canon(v) in keep)
            else:
                allowed[column] = tuple(values)
    return allowed


def _canon(value: Any) -> tuple[str, Any]:
    """A value as SQLite compares it: booleans are integers, 1 equals 1.0."""
    if isinstance(value, bool):
        return ("n", float(value))
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    return ("x", repr(value))


def _show(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


# -- comparison ------------------------------------------------------------------------------

_DATE_FORMATS = frozenset({"date", "date-time", "time"})


def type_mismatch(
    affinity: str,
    json_type: str,
    string_format: str | None,
    *,
    declared: str | None = None,
    strict: bool = False,
) -> tuple[Severity, str] | None:
    """Whether a column of this affinity can hold this JSON type; None when it can.

    Errors are values that come back as another JSON type; warnings are values that survive
    only if the service converts them, or that SQLite may silently convert.
    """
    untyped = declared is not None and not declared.strip()
    if affinity == "BLOB" and untyped and json_type != "null":
        return Severity.WARNING, "has no declared type, so SQLite stores whatever it is given"
    if json_type in ("integer", "boolean"):
        if affinity in ("INTEGER", "NUMERIC"):
            return None
        if affinity == "TEXT":
            return Severity.ERROR, f"stores {json_type} values as text: 1 comes back as '1'"
        if affinity == "REAL":
            return Severity.WARNING, "stores whole numbers as floating point: 1 comes back as 1.0"
        return Severity.WARNING, "is a BLOB column; declare INTEGER"
    if json_type == "number":
        if affinity in ("REAL", "NUMERIC"):
            return None
        if affinity == "INTEGER":
            if strict:
                return Severity.ERROR, "is INTEGER in a STRICT table, which rejects 1.5"
            return Severity.WARNING, "is INTEGER: fractions survive, but declare REAL"
        if affinity == "TEXT":
            return Severity.ERROR, "stores numbers as text: 1.5 comes back as '1.5'"
        return Severity.WARNING, "is a BLOB column; declare REAL"
    if json_type == "string":
        if string_format in ("byte", "binary") and affinity == "BLOB":
            return None
        if string_format == "binary" and affinity == "TEXT":
            return Severity.WARNING, "holds binary data as TEXT; declare BLOB"
        if affinity == "TEXT":
            return None
        if string_format in _DATE_FORMATS:
            if affinity == "NUMERIC":
                return None  # DATETIME, DATE: ISO 8601 text is not numeric, so it stays text
            if affinity in ("INTEGER", "REAL"):
                return Severity.WARNING, (
                    f"stores a {string_format} as a number; the service must convert it, or "
                    f"declare TEXT for ISO 8601 text"
                )
        if affinity == "NUMERIC":
            return Severity.WARNING, (
                "has NUMERIC affinity, which turns numeric-looking strings such as '007' into "
                "the number 7; declare TEXT"
            )
        if affinity in ("INTEGER", "REAL"):
            return Severity.ERROR, (
                f"has {affinity} affinity, which turns numeric strings into numbers: "
                f"'42' comes back as 42; declare TEXT"
            )
        return Severity.WARNING, "is a BLOB column; declare TEXT"
    if json_type in ("object", "array"):
        if affinity in ("TEXT", "BLOB"):
            return None
        if affinity == "NUMERIC":
            return Severity.WARNING, f"has NUMERIC affinity for a JSON {json_type}; declare TEXT"
        return Severity.ERROR, f"has {affinity} affinity and cannot hold a JSON {json_type}"
    return None


def snake_case(name: str) -> str:
    """``providerId`` -> ``provider_id``, ``HTTPStatus`` -> ``http_status``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return text.replace("-", "_").lower()


def _schema_name_for(table: str) -> str:
    """The component name a table would have by convention: time_slots -> TimeSlot,
    category_groups -> CategoryGroup, __meta__ -> Meta."""
    words = [word for word in re.split(r"[_\W]+", _singular(table)) if word]
    return "".join(word[:1].upper() + word[1:] for word in words) or table


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 3:
        return word[:-3] + "y"
    if lower.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return word[:-1]
    return word


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def infer_tables(
    tables: Sequence[str], schemas: Sequence[str]
) -> tuple[list[TableMapping], list[str]]:
    """Pair tables with component schemas by name (``time_slots`` -> ``TimeSlot``).

    Returns the pairs and the tables nothing matched.
    """
    by_name: dict[str, list[str]] = {}
    for schema in schemas:
        by_name.setdefault(_squash(schema), []).append(schema)
    pairs, unpaired = [], []
    for table in tables:
        candidates = by_name.get(_squash(_singular(table))) or by_name.get(_squash(table)) or []
        if len(candidates) == 1:
            pairs.append(TableMapping(table, candidates[0]))
        else:
            unpaired.append(table)
    return pairs, unpaired


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class _Comparison:
    """Compares one table with one component schema."""

    table: Table
    model: Model
    mapping: TableMapping
    naming: str
    origins: Mapping[tuple[str, str], str]
    findings: list[Finding] = field(default_factory=list)

    def origin(self, column: str) -> str:
        where = self.origins.get((self.table.name.lower(), column.lower()))
        return f"{self.table.name}.{column} ({where})" if where else f"{self.table.name}.{column}"

    def add(self, rule: str, severity: Severity, message: str, location: str) -> None:
        self.findings.append(Finding(rule, message, severity, location))

    def column_for(self, prop: str) -> tuple[str, bool]:
        """The column a property is stored in, and whether the config named it."""
        if prop in self.mapping.columns:
            return self.mapping.columns[prop], True
        candidates = [snake_case(prop), prop] if self.naming == "snake_case" else [prop]
        for candidate in candidates:
            if self.table.column(candidate) is not None:
                return candidate, False
        return candidates[0], False

    def run(self) -> list[Finding]:
        table, model, mapping = self.table, self.model, self.mapping
        ignored_columns = {c.lower() for c in mapping.ignore_columns}
        used: set[str] = set()
        for name, prop in model.properties.items():
            if name in mapping.ignore_properties:
                continue
            column_name, configured = self.column_for(name)
            column = table.column(column_name)
            if column is None:
                known = [c.name for c in table.columns]
                if configured:
                    how = (
                        f"database.tables.{table.name}.columns maps it to {column_name!r}, "
                        f"which is not a column of {table.name}"
                    )
                else:
                    how = f"{table.name} has no column {column_name!r}"
                self.add(
                    "database-missing-column",
                    Severity.ERROR,
                    f"{model.name}.{name} has nowhere to be stored: {how}"
                    f"{_suggest(column_name, known)}; add the column, map it in "
                    f"database.tables.{table.name}.columns, or list it in "
                    f"database.ignore_properties",
                    prop.pointer,
                )
                continue
            used.add(column.name.lower())
            self.compare(prop, column.name)
        for column in table.columns:
            key = column.name.lower()
            if key in used or key in ignored_columns or column.hidden == 1:
                continue
            self.add(
                "database-extra-column",
                Severity.WARNING,
                f"{self.origin(column.name)} matches no property of {model.name}; if it is "
                f"internal, list it in database.ignore_columns",
                model.pointer,
            )
        if table.kind == "table" and not table.primary_key and not table.without_rowid:
            self.add(
                "database-primary-key",
                Severity.WARNING,
                f"table {table.name} has no PRIMARY KEY: rows can only be told apart by "
                f"SQLite's hidden rowid, which VACUUM may renumber",
                model.pointer,
            )
        return self.findings

    def compare(self, prop: Property, column_name: str) -> None:
        table = self.table
        column = table.column(column_name)
        assert column is not None
        shape, where, label = prop.shape, prop.pointer, self.origin(column.name)
        affinity = column_affinity(column.type, strict=table.strict)
        worst: tuple[Severity, str] | None = None
        for json_type in sorted(shape.value_types):
            verdict = type_mismatch(
                affinity, json_type, shape.format, declared=column.type, strict=table.strict
            )
            if verdict is None:
                worst = None
                break
            if worst is None or (worst[0] is Severity.WARNING and verdict[0] is Severity.ERROR):
                worst = verdict
        if worst is not None:
            kind = "/".join(sorted(shape.value_types))
            kind += f" ({shape.format})" if shape.format else ""
            self.add(
                "database-type",
                worst[0],
                f"{label}, declared {column.type or 'without a type'}, backs {kind} property "
                f"{self.model.name}.{prop.name}: it {worst[1]}",
                where,
            )
        if table.kind == "table":
            self.compare_nullability(prop, column_name)
            self.compare_enum(prop, column_name)
        ok, default = _default_value(column.default)
        documented = shape.default if shape.has_default else None
        if (
            ok
            and default is not None
            and documented is not None
            and _canon(default) != _canon(documented)
        ):
            self.add(
                "database-default",
                Severity.WARNING,
                f"{label} defaults to {default!r} but {self.model.name}.{prop.name} "
                f"documents {shape.default!r}; a client leaving it out gets another value "
                f"than the spec promises",
                where,
            )

    def compare_nullability(self, prop: Property, column_name: str) -> None:
        table, shape = self.table, prop.shape
        column = table.column(column_name)
        assert column is not None
        label, name = self.origin(column.name), f"{self.model.name}.{prop.name}"
        if shape.types is None:
            return
        never_null = table.never_null(column)
        if not never_null and prop.required and not shape.nullable:
            quirk = (
                " (SQLite lets a PRIMARY KEY other than INTEGER hold NULL unless it is "
                "declared NOT NULL)"
                if column.pk
                else ""
            )
            self.add(
                "database-nullability",
                Severity.ERROR,
                f"{label} allows NULL{quirk} but {name} is required and not nullable: a NULL "
                f"in the column gives a response that breaks the spec; add NOT NULL to the "
                f"column or make the property nullable",
                prop.pointer,
            )
        elif never_null and shape.nullable and not table.is_rowid_alias(column):
            self.add(
                "database-nullability",
                Severity.WARNING,
                f"{label} is NOT NULL but {name} allows null: storing a null the API accepted "
                f"fails with a constraint error (a 500)",
                prop.pointer,
            )
        elif (
            column.notnull
            and not prop.required
            and column.default is None
            and not shape.read_only
            and not table.is_rowid_alias(column)
            and not column.generated
        ):
            self.add(
                "database-nullability",
                Severity.WARNING,
                f"{label} is NOT NULL without a default but {name} is optional: a client that "
                f"leaves it out gets a constraint error unless the service fills it in; add a "
                f"DEFAULT or make the property required",
                prop.pointer,
            )

    def compare_enum(self, prop: Property, column_name: str) -> None:
        shape = prop.shape
        label, name = self.origin(column_name), f"{self.model.name}.{prop.name}"
        allowed = check_enums(self.table).get(column_name.lower())
        documented: tuple[Any, ...] | None = None
        if shape.enum is not None:
            documented = tuple(v for v in shape.enum if v is not None)
        elif shape.value_types == {"boolean"}:
            documented = (0, 1)
        if allowed is None:
            if shape.enum is not None and documented:
                self.add(
                    "database-enum",
                    Severity.INFO,
                    f"{name} allows only {_show(documented)}, and nothing in {label} enforces "
                    f"it; a CHECK ({column_name} IN (...)) would",
                    prop.pointer,
                )
            return
        if documented is None:
            if not shape.read_only:
                self.add(
                    "database-enum",
                    Severity.WARNING,
                    f"{label} accepts only {_show(allowed)} (CHECK) but {name} has no enum: "
                    f"any other value the API accepts fails with a constraint error (a 500); "
                    f"add the enum to the spec",
                    prop.pointer,
                )
            return
        db = {_canon(v) for v in allowed}
        api = {_canon(v) for v in documented}
        only_api = [v for v in documented if _canon(v) not in db]
        only_db = [v for v in allowed if _canon(v) not in api]
        if only_api:
            self.add(
                "database-enum",
                Severity.ERROR,
                f"{name} allows {_show(only_api)}, which the CHECK of {label} rejects (it "
                f"allows {_show(allowed)}): storing one fails with a constraint error (a 500)",
                prop.pointer,
            )
        if only_db:
            self.add(
                "database-enum",
                Severity.WARNING,
                f"{label} also accepts {_show(only_db)} (CHECK), which {name} does not list: "
                f"a row holding one gives a response that breaks the spec",
                prop.pointer,
            )


def compare_schema(
    spec: Spec,
    schema: Mapping[str, Table],
    settings: DatabaseSettings,
    origins: Mapping[tuple[str, str], str] | None = None,
) -> list[Finding]:
    """Compare every mapped (or name-paired) table of ``schema`` with its component schema."""
    origins = origins or {}
    findings: list[Finding] = []
    components = list(_mapping(_mapping(spec.document.get("components")).get("schemas")))
    tables = {name.lower(): table for name, table in schema.items() if not _INTERNAL.match(name)}
    if settings.tables is None:
        names = sorted(t.name for t in tables.values() if t.kind != "view")
        mappings, unpaired = infer_tables(names, components)
        for mapping in mappings:
            findings.append(
                Finding(
                    "database-pairing",
                    f"table {mapping.table} is compared with {mapping.schema} (paired by name; "
                    f"set database.tables to choose)",
                    Severity.INFO,
                    f"#/components/schemas/{_escape(mapping.schema)}",
                )
            )
        for name in unpaired:
            example = f'{{"{name}": "{_schema_name_for(name)}"}}'
            findings.append(
                Finding(
                    "database-pairing",
                    f"table {name} is not compared: no component schema is named like it; "
                    f"map it in database.tables, such as {example}",
                    Severity.INFO,
                    f"database.tables.{name}",
                )
            )
        if not mappings:
            findings.append(
                Finding(
                    "database-pairing",
                    "no table could be paired with a component schema by name, so nothing was "
                    "compared; map them in database.tables",
                    Severity.WARNING,
                    "database.tables",
                )
            )
    else:
        mappings = list(settings.tables)
    for raw in mappings:
        mapping = settings.mapping_for(raw)
        table = tables.get(mapping.table.lower())
        if table is None:
            findings.append(
                Finding(
                    "database-table-missing",
                    f"database.tables names table {mapping.table!r}, which the migrations do "
                    f"not create{_suggest(mapping.table, [t.name for t in tables.values()])}",
                    Severity.ERROR,
                    f"database.tables.{mapping.table}",
                )
            )
            continue
        model = component_model(spec, mapping.schema)
        if model is None:
            findings.append(
                Finding(
                    "database-schema-missing",
                    f"database.tables maps {mapping.table} to {mapping.schema!r}, which is not "
                    f"in components.schemas{_suggest(mapping.schema, components)}",
                    Severity.ERROR,
                    f"database.tables.{mapping.table}",
                )
            )
            continue
        findings.extend(_stale_config(table, model, mapping))
        findings.extend(_Comparison(table, model, mapping, settings.naming, origins).run())
    compared_tables = {m.table.lower() for m in mappings}
    compared_schemas = {m.schema for m in mappings}
    for key, compared, listed in (
        ("ignore_columns", compared_tables, settings.ignore_columns),
        ("ignore_properties", compared_schemas, settings.ignore_properties),
    ):
        for name in sorted(listed):
            if (name.lower() if key == "ignore_columns" else name) not in compared:
                findings.append(
                    Finding(
                        "database-config",
                        f"database.{key} names {name!r}, which is not compared with anything"
                        f"{_suggest(name, sorted(compared))}, so it does nothing",
                        Severity.WARNING,
                        f"database.{key}.{name}",
                    )
                )
    return findings


def _stale_config(table: Table, model: Model, mapping: TableMapping) -> list[Finding]:
    """Ignore lists and column maps that name nothing: typos that would hide a mismatch."""
    findings = []
    columns = [column.name for column in table.columns]
    where = f"database.tables.{mapping.table}"
    for column in sorted(mapping.ignore_columns):
        if table.column(column) is None:
            findings.append(
                Finding(
                    "database-config",
                    f"ignore_columns lists {column!r}, which is not a column of {table.name}"
                    f"{_suggest(column, columns)}",
                    Severity.WARNING,
                    where,
                )
            )
    names = [*model.properties]
    for prop in sorted({*mapping.ignore_properties, *mapping.columns}):
        if prop not in model.properties:
            findings.append(
                Finding(
                    "database-config",
                    f"{prop!r} is not a property of {model.name}{_suggest(prop, names)}, so "
                    f"ignoring or mapping it does nothing",
                    Severity.WARNING,
                    where,
                )
            )
    return findings


def check_database(
    spec: Spec,
    database_section: Mapping[str, Any],
    migrations_section: Mapping[str, Any],
    root: Path,
) -> list[Finding]:
    """Apply the migrations and compare the resulting tables with the component schemas.

    The sections are the validated ``database`` and ``migrations`` sections (defaults not
    filled in); ``root`` is the folder of deployment-config.json.
    """
    settings = DatabaseSettings.from_section(database_section)
    migration_settings = MigrationSettings.from_section(migrations_section, root)
    migrations, discovered = discover_migrations(migration_settings)
    missing = [f for f in discovered if f.rule == "migration-folder-missing"]
    if missing:
        return apply_severities(
            [
                Finding(
                    "database-migrations", missing[0].message, Severity.ERROR, missing[0].location
                )
            ],
            settings.severities,
        )
    run = apply_migrations(
        migrations,
        foreign_keys=migration_settings.foreign_keys,
        statement_timeout=migration_settings.statement_timeout,
    )
    try:
        failure, schema, origins = run.failure, run.schema, column_origins(run)
    finally:
        run.connection.close()
    if failure is not None:
        line = failure.statement.line if failure.statement else None
        return apply_severities(
            [
                Finding(
                    "database-migrations",
                    f"cannot compare the database with the spec: {failure.describe()}; fix "
                    f"the migration first (the migrations check reports it too)",
                    Severity.ERROR,
                    failure.migration.at(line),
                )
            ],
            settings.severities,
        )
    return apply_severities(compare_schema(spec, schema, settings, origins), settings.severities)

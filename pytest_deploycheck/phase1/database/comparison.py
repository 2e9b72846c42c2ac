"""One table against one component schema: columns, types, nullability, enums, defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.phase1.migrations import Table, column_affinity

from .affinity import type_mismatch
from .components import Model, Property
from .constraints import canon, check_enums, default_value
from .naming import snake_case, suggest
from .settings import TableMapping


def _show(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass
class Comparison:
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
                    f"{suggest(column_name, known)}; add the column, map it in "
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
        ok, default = default_value(column.default)
        documented = shape.default if shape.has_default else None
        if (
            ok
            and default is not None
            and documented is not None
            and canon(default) != canon(documented)
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
        db = {canon(v) for v in allowed}
        api = {canon(v) for v in documented}
        only_api = [v for v in documented if canon(v) not in db]
        only_db = [v for v in allowed if canon(v) not in api]
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

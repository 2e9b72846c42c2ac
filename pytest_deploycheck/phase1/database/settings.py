"""The ``database`` section: which table stores which component schema, and what to ignore."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


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
    # a SQLite file (glob) to compare instead of the replay alone: wrangler's local D1
    file: str | None = None

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
            str(section["file"]) if section.get("file") else None,
        )

    def mapping_for(self, mapping: TableMapping) -> TableMapping:
        """The mapping with the section-wide ignore lists of its table and schema added."""
        return replace(
            mapping,
            ignore_columns=mapping.ignore_columns | set(self.ignore_columns.get(mapping.table, ())),
            ignore_properties=mapping.ignore_properties
            | set(self.ignore_properties.get(mapping.schema, ())),
        )

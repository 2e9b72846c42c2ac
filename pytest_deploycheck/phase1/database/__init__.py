"""The ``database`` check: the migrated schema against the spec's component schemas.

The migrations are replayed into SQLite and each table is compared with the component schema
it stores: ``settings`` reads the ``database`` section (which table stores which schema, what to
ignore), ``components`` merges a component schema's properties into one shape each,
``constraints`` reads the DEFAULTs and ``CHECK (col IN (...))`` lists of the migrated tables,
``affinity`` says which column affinities hold which JSON types, ``naming`` pairs tables with
schemas and columns with properties by name, ``comparison`` compares one table with one schema,
``drift`` reads a database file (wrangler's local D1) and lists how its schema differs from
the replay, and ``check`` holds the entry points, ``compare_schema`` (the pure core) and
``check_database``. Modules here may import ``core``, their phase1 siblings (``migrations``)
and each other, nothing above.
"""

from __future__ import annotations

from .affinity import type_mismatch
from .check import RULES, check_database, compare_schema
from .components import Model, Property, Shape, component_model
from .constraints import check_enums
from .naming import infer_tables, snake_case
from .settings import DatabaseSettings, TableMapping

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

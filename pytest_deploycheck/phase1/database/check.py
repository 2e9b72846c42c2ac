"""The check's entry points: ``compare_schema``, the pure core, and ``check_database``.

The migrations are applied to a fresh SQLite database, as the migrations check does, and each
table is compared with the component schema it stores: columns against properties (with
``providerId`` <-> ``provider_id``), SQLite type affinity against JSON Schema type and format,
NOT NULL against ``required`` and nullability, ``CHECK (col IN (...))`` against ``enum``, and
defaults. A mismatch is a service that answers 500 on valid input, or a response that breaks
its own schema, waiting for the first row that shows it.

``compare_schema`` is the pure core; ``check_database`` applies the migrations around it.
With ``database.file`` (wrangler's local D1 database, say) the tables compared are that
file's, and the file's schema must agree with the replay (``database-drift``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.findings import Finding, Severity, apply_severities
from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.phase1.migrations import (
    Migration,
    MigrationSettings,
    Table,
    apply_migrations,
    column_origins,
    discover_migrations,
)

from .comparison import Comparison
from .components import Model, as_mapping, component_model, escape
from .drift import DatabaseFileError, read_database_file, schema_drift, unapplied
from .naming import infer_tables, schema_name_for, suggest
from .settings import DatabaseSettings, TableMapping

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
    "database-file": Severity.ERROR,
    "database-drift": Severity.ERROR,
}

# Tables that D1, wrangler or SQLite create for themselves.
_INTERNAL = re.compile(r"^(sqlite_|_cf_|d1_migrations$)", re.IGNORECASE)


def compare_schema(
    spec: Spec,
    schema: Mapping[str, Table],
    settings: DatabaseSettings,
    origins: Mapping[tuple[str, str], str] | None = None,
) -> list[Finding]:
    """Compare every mapped (or name-paired) table of ``schema`` with its component schema."""
    origins = origins or {}
    findings: list[Finding] = []
    components = list(as_mapping(as_mapping(spec.document.get("components")).get("schemas")))
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
                    f"#/components/schemas/{escape(mapping.schema)}",
                )
            )
        for name in unpaired:
            example = f'{{"{name}": "{schema_name_for(name)}"}}'
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
                    f"not create{suggest(mapping.table, [t.name for t in tables.values()])}",
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
                    f"in components.schemas{suggest(mapping.schema, components)}",
                    Severity.ERROR,
                    f"database.tables.{mapping.table}",
                )
            )
            continue
        findings.extend(_stale_config(table, model, mapping))
        findings.extend(Comparison(table, model, mapping, settings.naming, origins).run())
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
                        f"{suggest(name, sorted(compared))}, so it does nothing",
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
                    f"{suggest(column, columns)}",
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
                    f"{prop!r} is not a property of {model.name}{suggest(prop, names)}, so "
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
    if settings.file is None:
        findings = compare_schema(spec, schema, settings, origins)
    else:
        findings = _compare_file(spec, settings, settings.file, root, schema, migrations, origins)
    return apply_severities(findings, settings.severities)


def _compare_file(
    spec: Spec,
    settings: DatabaseSettings,
    pattern: str,
    root: Path,
    replayed: Mapping[str, Table],
    migrations: Sequence[Migration],
    origins: Mapping[tuple[str, str], str],
) -> list[Finding]:
    """The database file's tables against the spec, and its schema against the replay."""
    try:
        database = read_database_file(pattern, root)
    except DatabaseFileError as exc:
        return [Finding("database-file", str(exc), Severity.ERROR, "database.file")]
    findings = [
        Finding(
            "database-drift",
            f"{database.path} differs from the migrations replayed on a fresh database: "
            f"{line}; make the change in a migration, or apply the migrations afresh",
            Severity.ERROR,
            database.path,
        )
        for line in schema_drift(replayed, database.schema, _INTERNAL)
    ]
    if database.applied is not None:
        findings.extend(
            Finding(
                "database-drift",
                f"{database.path} has not applied {name}; apply the migrations (with "
                "wrangler: npx wrangler d1 migrations apply DB --local, or database.prepare)",
                Severity.ERROR,
                database.path,
            )
            for name in unapplied(migrations, database.applied)
        )
    recorded = "" if database.applied is None else f" ({len(database.applied)} migrations applied)"
    findings.append(
        Finding(
            "database-file",
            f"compared this database's tables{recorded} with the spec",
            Severity.INFO,
            database.path,
        )
    )
    findings.extend(compare_schema(spec, database.schema, settings, origins))
    return findings

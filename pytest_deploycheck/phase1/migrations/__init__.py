"""The ``migrations`` check of D1-style numbered SQL migrations, one topic a module.

``settings`` holds the defaults, the rules and the section's settings; ``discovery`` finds
the files and checks their numbering; ``parsing`` splits SQL into tokens, statements and allow
comments; ``schema`` reads a SQLite schema snapshot; ``applying`` applies the migrations to an
in-memory database; ``lint`` judges one applied migration's destructive changes and
``allows`` applies its allow comments; ``lock`` reads, compares and writes
``migrations.lock``; ``check`` ties them together into ``check_migrations``. Modules here may
import ``core`` and each other without a cycle, nothing above; the names other code uses are
re-exported here.
"""

from __future__ import annotations

from .applying import (
    AppliedMigration,
    ApplyFailure,
    MigrationRun,
    Step,
    apply_migrations,
    column_origins,
)
from .check import check_migrations
from .discovery import Migration, check_numbering, discover_migrations, timestamp_numbered
from .lint import lint_migration
from .lock import (
    LOCK_VERSION,
    compare_lock,
    lock_document,
    normalized_checksum,
    read_lock,
    write_lock,
)
from .parsing import (
    AllowComment,
    ParsedSql,
    Statement,
    Token,
    parse_sql,
    significant_tokens,
    tokenize,
)
from .schema import Column, ForeignKey, Index, Table, check_clauses, column_affinity, read_schema
from .settings import (
    DEFAULT_FOLDER,
    DEFAULT_LOCK_FILE,
    DEFAULT_PATTERN,
    DEFAULT_START,
    DEFAULT_STATEMENT_TIMEOUT,
    RULES,
    MigrationError,
    MigrationSettings,
)

__all__ = [
    "DEFAULT_FOLDER",
    "DEFAULT_LOCK_FILE",
    "DEFAULT_PATTERN",
    "DEFAULT_START",
    "DEFAULT_STATEMENT_TIMEOUT",
    "LOCK_VERSION",
    "RULES",
    "AllowComment",
    "AppliedMigration",
    "ApplyFailure",
    "Column",
    "ForeignKey",
    "Index",
    "Migration",
    "MigrationError",
    "MigrationRun",
    "MigrationSettings",
    "ParsedSql",
    "Statement",
    "Step",
    "Table",
    "Token",
    "apply_migrations",
    "check_clauses",
    "check_migrations",
    "check_numbering",
    "column_affinity",
    "column_origins",
    "compare_lock",
    "discover_migrations",
    "lint_migration",
    "lock_document",
    "normalized_checksum",
    "parse_sql",
    "read_lock",
    "read_schema",
    "significant_tokens",
    "timestamp_numbered",
    "tokenize",
    "write_lock",
]

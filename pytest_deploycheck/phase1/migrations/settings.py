"""The check's settings: the defaults, every rule with its default severity, the error it
raises, and the ``migrations`` section read into :class:`MigrationSettings`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import ConfigError, DeployCheckError
from pytest_deploycheck.core.findings import Severity
from pytest_deploycheck.core.units import parse_duration

DEFAULT_FOLDER = "migrations"
DEFAULT_PATTERN = r"^(\d+)_([A-Za-z0-9_\-]+)\.sql$"
DEFAULT_START = 1
DEFAULT_LOCK_FILE = "migrations.lock"
DEFAULT_STATEMENT_TIMEOUT = "30s"
TIMEOUT_SECONDS = parse_duration(DEFAULT_STATEMENT_TIMEOUT)

#: Every rule of the check and its default severity. ``migrations.rules`` overrides them.
RULES: Mapping[str, Severity] = {
    "migration-folder-missing": Severity.ERROR,
    "migration-filename": Severity.WARNING,
    "migration-empty": Severity.WARNING,
    "migration-encoding": Severity.ERROR,
    "migration-numbering-start": Severity.ERROR,
    "migration-numbering-gap": Severity.ERROR,
    "migration-numbering-duplicate": Severity.ERROR,
    "migration-numbering-order": Severity.ERROR,
    "migration-apply": Severity.ERROR,
    "migration-d1-unsupported": Severity.ERROR,
    "migration-foreign-keys-pragma": Severity.WARNING,
    "migration-drop-table": Severity.ERROR,
    "migration-rename-table": Severity.ERROR,
    "migration-drop-column": Severity.ERROR,
    "migration-rename-column": Severity.ERROR,
    "migration-not-null-without-default": Severity.ERROR,
    "migration-column-type": Severity.ERROR,
    "migration-constraint-tightened": Severity.ERROR,
    "migration-primary-key-changed": Severity.ERROR,
    "migration-default-dropped": Severity.ERROR,
    "migration-drop-unique": Severity.ERROR,
    "migration-drop-referenced-table": Severity.ERROR,
    "migration-unused-allow": Severity.WARNING,
    "migration-lock-missing": Severity.INFO,
    "migration-lock-invalid": Severity.ERROR,
    "migration-lock-modified": Severity.ERROR,
    "migration-lock-removed": Severity.ERROR,
    "migration-lock-order": Severity.ERROR,
    "migration-lock-new": Severity.INFO,
}


class MigrationError(DeployCheckError):
    """Migration files or the lock file cannot be read or written, or locking would hide
    a problem (a locked migration edited, removed or preceded by a new one)."""


@dataclass(frozen=True)
class MigrationSettings:
    """The ``migrations`` section with its defaults applied and its paths resolved."""

    root: Path
    folder: Path
    pattern: re.Pattern[str]
    start: int = DEFAULT_START
    numbering: str = "auto"
    lock_file: Path = Path(DEFAULT_LOCK_FILE)
    ignore_files: tuple[str, ...] = ()
    foreign_keys: bool = True
    statement_timeout: float = TIMEOUT_SECONDS
    severities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Mapping[str, Any], root: Path) -> MigrationSettings:
        """Read a validated ``migrations`` section; raise ConfigError on a bad pattern."""
        raw_pattern = str(section.get("pattern", DEFAULT_PATTERN))
        try:
            pattern = re.compile(raw_pattern)
        except re.error as exc:
            raise ConfigError(
                [
                    f"migrations.pattern: {raw_pattern!r} is not a valid regular expression "
                    f"({exc}); the default is {DEFAULT_PATTERN!r}"
                ]
            ) from None
        if pattern.groups == 0:
            raise ConfigError(
                [
                    f"migrations.pattern: {raw_pattern!r} has no group for the migration number; "
                    f"capture it in the first group or in (?P<number>...), as in "
                    f"{DEFAULT_PATTERN!r}"
                ]
            )
        return cls(
            root=root,
            folder=root / str(section.get("folder", DEFAULT_FOLDER)),
            pattern=pattern,
            start=int(section.get("start", DEFAULT_START)),
            numbering=str(section.get("numbering", "auto")),
            lock_file=root / str(section.get("lock_file", DEFAULT_LOCK_FILE)),
            ignore_files=tuple(str(item) for item in section.get("ignore_files", ())),
            foreign_keys=bool(section.get("foreign_keys", True)),
            statement_timeout=parse_duration(
                section.get("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)
            ),
            severities=dict(section.get("rules", {})),
        )

    def display(self, path: Path) -> str:
        """``migrations/0001_init.sql``: a path as users see it, relative to the project."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

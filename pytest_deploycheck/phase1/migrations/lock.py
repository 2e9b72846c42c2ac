"""The lock file, ``migrations.lock``: the checksum of every migration already deployed,
read, compared with the migrations folder, and written."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.findings import Finding, Severity

from .discovery import Migration, discover_migrations
from .settings import MigrationError, MigrationSettings

LOCK_VERSION = 1


def normalized_checksum(content: bytes) -> str:
    """SHA-256 of a migration with the BOM, line endings and trailing blanks normalised.

    Re-saving a file with CRLF line endings or an editor that trims trailing spaces does not
    count as an edit; any other change, comments included, does (as in Flyway).
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return hashlib.sha256(content).hexdigest()
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def read_lock(path: Path) -> dict[str, str] | None:
    """The locked checksums by file name, or None when there is no lock file.

    Raises MigrationError when the file is not a lock file this version can read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"{path.name}: cannot read the lock file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(
            f"{path.name}:{exc.lineno}: not valid JSON ({exc.msg}); restore it from version "
            f"control or write it again with `deploycheck migrations lock`"
        ) from None
    entries = data.get("migrations") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise MigrationError(
            f"{path.name}: lock format version {version!r} is not {LOCK_VERSION}; write it "
            f"again with `deploycheck migrations lock`"
        )
    if not isinstance(entries, dict) or not all(
        isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in entries.values()
    ):
        raise MigrationError(
            f"{path.name}: 'migrations' must map file names to sha256 hex digests; write it "
            f"again with `deploycheck migrations lock`"
        )
    return {str(name): str(digest) for name, digest in entries.items()}


def compare_lock(
    locked: Mapping[str, str], migrations: Sequence[Migration], lock_location: str
) -> list[Finding]:
    """Locked migrations must be unchanged and present; new ones must sort after them."""
    findings: list[Finding] = []
    current = {migration.name: migration for migration in migrations}
    for name in sorted(locked):
        migration = current.get(name)
        if migration is None:
            findings.append(
                Finding(
                    "migration-lock-removed",
                    f"{name} is locked but no longer exists: production databases have "
                    f"applied it, and a fresh one would not; restore it (to undo it, add a "
                    f"new migration)",
                    Severity.ERROR,
                    lock_location,
                )
            )
        elif normalized_checksum(migration.content) != locked[name]:
            findings.append(
                Finding(
                    "migration-lock-modified",
                    f"{name} was edited after it was locked: databases that already applied "
                    f"it will not run it again, so they differ from fresh ones; revert the "
                    f"edit and add a new migration, or re-lock if it never left your machine",
                    Severity.ERROR,
                    migration.location,
                )
            )
    last = max(locked) if locked else None
    for migration in migrations:
        if migration.name in locked:
            continue
        if last is not None and migration.name < last:
            findings.append(
                Finding(
                    "migration-lock-order",
                    f"{migration.name} is new but sorts before {last}, which is already "
                    f"locked: D1 would apply it after {last} on existing databases and before "
                    f"it on fresh ones; renumber it after {last}",
                    Severity.ERROR,
                    migration.location,
                )
            )
        else:
            findings.append(
                Finding(
                    "migration-lock-new",
                    f"{migration.name} is not yet locked; run `deploycheck migrations lock` "
                    f"once it is deployed",
                    Severity.INFO,
                    migration.location,
                )
            )
    return findings


def lock_document(migrations: Sequence[Migration]) -> str:
    """The text of a lock file for ``migrations``: stable, sorted, one entry a line."""
    document = {
        "version": LOCK_VERSION,
        "algorithm": "sha256",
        "migrations": {m.name: normalized_checksum(m.content) for m in migrations},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_lock(section: Mapping[str, Any], root: Path, *, force: bool = False) -> Path:
    """Record the checksum of every migration in the lock file and return its path.

    Refuses, unless ``force``, when the lock would hide a problem the check reports: a
    locked migration edited or removed, or a new one sorted before the locked ones.
    """
    settings = MigrationSettings.from_section(section, root)
    migrations, discovery = discover_migrations(settings)
    missing = [f for f in discovery if f.rule == "migration-folder-missing"]
    if missing:
        raise MigrationError(missing[0].message)
    if not force:
        locked = read_lock(settings.lock_file) or {}
        problems = [
            f
            for f in compare_lock(locked, migrations, settings.display(settings.lock_file))
            if f.severity is Severity.ERROR
        ]
        if problems:
            lines = "\n".join(f"  - {problem.message}" for problem in problems)
            raise MigrationError(
                f"{settings.display(settings.lock_file)}: not rewritten, because:\n{lines}\n"
                f"Fix these, or lock anyway with --force if no database has applied them."
            )
    try:
        settings.lock_file.parent.mkdir(parents=True, exist_ok=True)
        settings.lock_file.write_text(lock_document(migrations), encoding="utf-8")
    except OSError as exc:
        where = settings.display(settings.lock_file)
        raise MigrationError(f"cannot write {where}: {exc.strerror}") from None
    return settings.lock_file

"""Numbered SQL migrations: D1's ``migrations_dir`` and folders named ``migrations``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_deploycheck.phase1.migrations import DEFAULT_PATTERN

from .found import MigrationsFound
from .repository import in_tests

_NUMBERED_SQL = re.compile(DEFAULT_PATTERN)
_NUMBERED_PY = re.compile(r"^\d+_\w+\.py$")


def _d1_migration_dirs(wrangler: Mapping[str, Any]) -> list[str]:
    """``migrations_dir`` of every D1 database, top level first, then each environment."""
    sections: list[Mapping[str, Any]] = [wrangler]
    environments = wrangler.get("env")
    if isinstance(environments, Mapping):
        sections.extend(env for env in environments.values() if isinstance(env, Mapping))
    folders: list[str] = []
    for section in sections:
        databases = section.get("d1_databases")
        for database in databases if isinstance(databases, list) else []:
            if isinstance(database, Mapping):
                folder = str(database.get("migrations_dir") or "migrations").strip("/")
                if folder not in folders:
                    folders.append(folder)
    return folders


def _numbered_sql(folder: Path) -> list[int]:
    try:
        names = [entry.name for entry in folder.iterdir() if entry.is_file()]
    except OSError:
        return []
    numbers = []
    for name in names:
        match = _NUMBERED_SQL.search(name)
        if match:
            numbers.append(int(match[1]))
    return sorted(numbers)


def _note_unmatched_sql(
    paths: Sequence[PurePosixPath], found: Sequence[MigrationsFound], notes: list[str]
) -> None:
    """Name the folders below a migrations/ folder whose SQL files are not configured:
    another naming scheme (``00001-collections.sqlite.sql``), or a deeper folder."""
    taken = {m.folder for m in found}
    unmatched: dict[PurePosixPath, tuple[str, bool]] = {}
    for path in paths:
        if (
            path.suffix == ".sql"
            and "migrations" in path.parts[:-1]
            and str(path.parent) not in taken
            and not in_tests(path)
        ):
            unmatched.setdefault(path.parent, (path.name, bool(_NUMBERED_SQL.search(path.name))))
    for folder, (example, numbered) in sorted(unmatched.items()):
        if numbered:
            notes.append(
                f"{folder}: SQL migrations ({example}, ...) not configured; set "
                "migrations.folder to check them"
            )
        else:
            notes.append(
                f"{folder}: SQL files not named NNNN_name.sql (such as {example}); to check "
                "them, set migrations.folder and a migrations.pattern whose first group is the "
                "number"
            )


def find_migrations(
    root: Path,
    paths: Sequence[PurePosixPath],
    wrangler: tuple[str, Mapping[str, Any]] | None,
    notes: list[str],
) -> MigrationsFound | None:
    found: list[MigrationsFound] = []
    if wrangler is not None:
        name, data = wrangler
        for d1_folder in _d1_migration_dirs(data):
            numbers = _numbered_sql(root / d1_folder)
            if numbers:
                source = f"{name}: d1_databases migrations_dir"
                found.append(MigrationsFound(d1_folder, len(numbers), min(numbers), source))
            elif (root / d1_folder).is_dir():
                notes.append(
                    f"{d1_folder} (D1 migrations_dir in {name}) holds no NNNN_name.sql files"
                )
    folders = sorted({path.parent for path in paths if path.parent.name == "migrations"})
    if (root / "alembic.ini").is_file():
        notes.append(
            "alembic.ini: Alembic migrations are Python, not SQL files; the migrations "
            "check reads numbered .sql files (D1 style), so they are left out"
        )
    for folder in folders:
        if in_tests(folder / "x") or any(m.folder == str(folder) for m in found):
            continue
        numbers = _numbered_sql(root / folder)
        if numbers:
            found.append(MigrationsFound(str(folder), len(numbers), min(numbers), "folder"))
            continue
        names = [p.name for p in paths if p.parent == folder]
        python = [n for n in names if _NUMBERED_PY.match(n)] or (
            ["env.py"] if "env.py" in names else []
        )
        if python and not (root / "alembic.ini").is_file():
            notes.append(
                f"{folder}: Python migrations (Alembic or Django), not SQL files; the "
                "migrations check reads numbered .sql files (D1 style), so they are left out"
            )
    _note_unmatched_sql(paths, found, notes)
    if not found:
        return None
    # D1's own setting first, then the shallowest folder
    best = min(found, key=lambda m: (m.source == "folder", m.folder.count("/"), m.folder))
    others = [m.folder for m in found if m is not best]
    if others:
        notes.append(f"other migration folders, not configured: {', '.join(others)}")
    return best

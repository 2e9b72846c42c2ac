"""The repository's files: walking them without installed or built folders, reading them,
and its Python sources (which files, their module names, their syntax trees), read and
parsed only, never imported or run.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Folders that hold installed, generated or cached files, never the project's own sources.
_SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "venv",
        "env",
        "dist",
        "build",
        "target",
        "coverage",
        "htmlcov",
        "bower_components",
        "vendor",
    }
)
# Folders of tests: their specs, apps and models are fixtures, not the service.
_TEST_DIRS = frozenset({"tests", "test", "__tests__", "fixtures", "testdata", "test_data"})
_MAX_FILES = 50_000
MAX_SOURCE_BYTES = 1024 * 1024


def walk(root: Path) -> list[PurePosixPath]:
    """The project's files, relative to ``root``, without hidden, installed or built folders."""
    found: list[PurePosixPath] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            # a virtualenv, whatever its name
            and not (here / d / "pyvenv.cfg").exists()
        )
        relative = PurePosixPath(here.relative_to(root).as_posix())
        for name in sorted(names):
            found.append(relative / name if str(relative) != "." else PurePosixPath(name))
            if len(found) >= _MAX_FILES:
                return found
    return found


def in_tests(path: PurePosixPath) -> bool:
    return any(part.lower() in _TEST_DIRS for part in path.parts[:-1])


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_text(path: Path, limit: int) -> str | None:
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def _module_name(path: PurePosixPath) -> tuple[str, str | None] | None:
    """``src/pkg/app.py`` -> (``pkg.app``, ``src``): the module and the folder to import from."""
    parts = list(path.with_suffix("").parts)
    app_dir = None
    if parts and parts[0] == "src" and len(parts) > 1:
        app_dir, parts = "src", parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), app_dir


def parse_python(root: Path, path: PurePosixPath, needle: str) -> ast.Module | None:
    text = read_text(root / path, MAX_SOURCE_BYTES)
    if text is None or needle not in text:
        return None
    try:
        return ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None


def python_sources(paths: Iterable[PurePosixPath]) -> list[PurePosixPath]:
    return [p for p in paths if p.suffix == ".py" and not in_tests(p)]

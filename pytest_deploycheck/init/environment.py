"""The environment a service declares: ``.env.example`` (and Workers' ``.dev.vars.example``),
read as dotenv-safe reads it (see ``phase1.env_example``)."""

from __future__ import annotations

from pathlib import Path

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.phase1.env_example import EXAMPLE_FILES, Declared, read_example

from .found import EnvFound


def find_env_example(root: Path, notes: list[str]) -> EnvFound | None:
    """The declaration files at the root, the value files that go with them, and the names
    they declare."""
    examples, files, declared = [], [], []
    for example, values in EXAMPLE_FILES.items():
        if not (root / example).is_file():
            continue
        try:
            names: list[Declared] = read_example(root, example)
        except ConfigError as exc:
            notes.append(f"{example}: cannot be read, skipped: {exc.problems[0]}")
            continue
        examples.append(example)
        files.append(values)
        declared += names
    if not examples:
        return None
    return EnvFound(tuple(examples), tuple(files), tuple(declared))

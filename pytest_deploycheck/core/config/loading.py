"""Finding and reading ``deployment-config.json``.

``load_config`` reads the file, replaces ``${VAR}`` and ``${VAR:-default}`` in every string
value from the environment (``$${`` stands for a literal ``${``), and validates the result
against the JSON Schema shipped in ``schemas/``. Every problem is reported at once, one line
each, naming the key path, the value received (secrets hidden) and what would be valid.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.redaction import Redactor

from .interpolation import interpolate
from .model import Config
from .problems import KeyPath, Problem
from .secrets import collect_secrets
from .validation import validate

__all__ = ["CONFIG_FILENAME", "HISTORY_SECTIONS", "config_from_text", "find_config", "load_config"]

CONFIG_FILENAME = "deployment-config.json"


def _parse_json(text: str, source: Path) -> tuple[Any, list[Problem]]:
    """The JSON document in ``text``, and a problem for every key written twice in an object."""
    duplicates: dict[int, list[str]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        repeated = []
        for key, value in pairs:
            if key in result:
                repeated.append(key)
            result[key] = value
        if repeated:
            duplicates[id(result)] = repeated
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg.startswith(("Expecting property name", "Expecting value", "Illegal trailing")):
            hint = " (JSON allows no comments and no comma after the last item)"
        problem = f"{source.name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}{hint}"
        raise ConfigError([problem], source=str(source)) from None

    problems: list[Problem] = []

    def find(node: Any, path: KeyPath) -> None:
        if isinstance(node, dict):
            for key in duplicates.get(id(node), ()):
                problems.append(
                    Problem((*path, key), "written twice in one object; JSON keeps only the last")
                )
            for key, item in node.items():
                find(item, (*path, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                find(item, (*path, index))

    if duplicates:
        find(data, ())
    return data, problems


# What a command that only reads the history needs of the config: where the history is and
# what the service is called. The target's credentials may be missing from its environment.
HISTORY_SECTIONS = frozenset({"history", "service", "scoring"})


def load_config(
    path: Path,
    environ: Mapping[str, str] | None = None,
    *,
    sections: Collection[str] | None = None,
) -> Config:
    """Read, interpolate and validate ``path``; raise ConfigError listing every problem.

    With ``sections``, only those need their ``${VAR}`` set: a variable unset elsewhere reads
    as empty (``deploycheck report`` runs where the target's secrets are not).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                "no such file: run 'deploycheck init' to write one, "
                "or name another with --deploycheck-config PATH"
            ],
            source=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"], source=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot be read: {exc.strerror}"], source=str(path)) from None
    return config_from_text(
        text, path, os.environ if environ is None else environ, sections=sections
    )


def config_from_text(
    text: str,
    path: Path,
    environ: Mapping[str, str],
    *,
    sections: Collection[str] | None = None,
) -> Config:
    """The config in ``text``, as if read from ``path``; raise ConfigError listing problems."""
    data, problems = _parse_json(text, path)
    interpolation = interpolate(data, environ, sections=sections)
    secrets = collect_secrets(interpolation.value, interpolation.substitutions, environ)
    problems.extend(interpolation.problems)
    # A value still holding an unset ${VAR}, or blanked for want of one, has no shape to judge.
    unresolved = {problem.path for problem in (*interpolation.problems, *interpolation.waived)}
    for problem in validate(interpolation.value, Redactor(secrets)):
        if problem.path not in unresolved:
            problems.append(problem)
    if problems:
        ordered = sorted(problems, key=lambda p: _document_order(interpolation.value, p.path))
        raise ConfigError([str(problem) for problem in ordered], source=str(path))
    return Config(
        raw=interpolation.value,
        root=path.parent.resolve(),
        path=path,
        secrets=secrets,
    )


def find_config(start: Path) -> Path | None:
    """The nearest ``deployment-config.json`` in ``start`` or a folder above it."""
    start = Path(start).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        config = candidate / CONFIG_FILENAME
        if config.is_file():
            return config
    return None


def _document_order(data: Any, path: KeyPath) -> tuple[int, ...]:
    """Where ``path`` sits in ``data``, as positions, so problems read top to bottom."""
    order: list[int] = []
    node = data
    for step in path:
        if isinstance(node, Mapping):
            keys = list(node)
            order.append(keys.index(step) if step in node else len(keys))
            node = node.get(step) if isinstance(step, str) else None
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            order.append(step)
            node = node[step]
        else:
            order.append(sys.maxsize)
            node = None
    return tuple(order)

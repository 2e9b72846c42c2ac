"""Finding and reading ``deployment-config.json``.

``load_config`` reads the file, replaces ``${VAR}`` and ``${VAR:-default}`` in every string
value from the environment (``$${`` stands for a literal ``${``), and validates the result
against the JSON Schema shipped in ``schemas/``. Every problem is reported at once, one line
each, naming the key path, the value received (secrets hidden) and what would be valid.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import MAX_PROBLEMS_LISTED, ConfigError
from pytest_deploycheck.core.redaction import Redactor

from .interpolation import interpolate
from .model import Config
from .problems import KeyPath, Problem
from .secrets import collect_secrets
from .validation import validate

__all__ = ["CONFIG_FILENAME", "HISTORY_SECTIONS", "config_from_text", "find_config", "load_config"]

CONFIG_FILENAME = "deployment-config.json"
# Deeper than any config goes (a smoke request's JSON body included), and shallow enough for
# everything that walks the document recursively.
MAX_DEPTH = 64
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep: no setting goes that deep; flatten it"
_NOT_FINITE = (
    "must be a finite number: NaN, Infinity and numbers too large to hold (1e999) are not "
    "JSON numbers"
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


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
        data = json.loads(text, object_pairs_hook=pairs_hook, parse_int=_parse_int)
    except RecursionError:
        # the parser's own recursion gave out, far deeper than any config goes
        problem = f"{source.name}: {_TOO_DEEP}"
        raise ConfigError([problem], source=str(source)) from None
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


def _parse_int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # more digits than Python converts: a number too large to hold
        return math.inf


def _shape_problems(data: Any) -> list[Problem]:
    """Values no setting can take, found without recursion: nesting deeper than
    ``MAX_DEPTH`` (then nothing deeper is looked at), and numbers that are NaN, infinite or
    too large to hold (Python's parser accepts ``NaN``, ``Infinity`` and ``1e999``)."""
    problems: list[Problem] = []
    too_deep = False
    stack: list[tuple[Any, KeyPath]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            problems.append(Problem(path, _NOT_FINITE))
        elif isinstance(node, dict | list):
            if len(path) >= MAX_DEPTH:
                if not too_deep:
                    problems.append(Problem(path, _TOO_DEEP))
                    too_deep = True
                continue
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((item, (*path, key)) for key, item in items)
    return problems


def _text_problems(data: Any) -> list[Problem]:
    """Keys and strings holding a NUL character or a lone surrogate (from a ``\\u`` escape
    or an undecodable environment variable): no file name, argument, header or database
    can carry them."""
    problems: list[Problem] = []
    stack: list[tuple[Any, KeyPath]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            problem = _bad_character(node)
            if problem:
                problems.append(Problem(path, problem))
        elif isinstance(node, dict | list):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                problem = _bad_character(key) if isinstance(key, str) else None
                if problem:
                    problems.append(Problem((*path, key), f"the key {problem}"))
                else:
                    stack.append((item, (*path, key)))
    return problems


def _bad_character(text: str) -> str | None:
    nul = text.find("\x00")
    if nul >= 0:
        return f"contains a NUL character (\\u0000) at position {nul}: remove it"
    surrogate = _SURROGATE.search(text)
    if surrogate:
        code = f"\\u{ord(surrogate.group()):04x}"
        return (
            f"contains a lone surrogate ({code}) at position {surrogate.start()}, which is not "
            "text: write the character itself, or both halves of its \\u pair"
        )
    return None


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
    shape = _shape_problems(data)
    if any(problem.message == _TOO_DEEP for problem in shape):
        # what comes next (interpolation, the schema) walks the document recursively
        raise ConfigError([str(problem) for problem in [*problems, *shape]], source=str(path))
    problems.extend(shape)
    interpolation = interpolate(data, environ, sections=sections)
    secrets = collect_secrets(interpolation.value, interpolation.substitutions, environ)
    problems.extend(interpolation.problems)
    problems.extend(_text_problems(interpolation.value))
    # A value still holding an unset ${VAR}, or blanked for want of one, has no shape to
    # judge; nor has a number or text already found unusable.
    unresolved = {
        problem.path for problem in (*problems, *interpolation.problems, *interpolation.waived)
    }
    for problem in validate(interpolation.value, Redactor(secrets)):
        if problem.path not in unresolved:
            problems.append(problem)
    if problems:
        order = _DocumentOrder(interpolation.value)
        # only the first ones are listed: they are all that needs ordering
        first = heapq.nsmallest(MAX_PROBLEMS_LISTED, problems, key=lambda p: order.of(p.path))
        omitted = len(problems) - len(first)
        raise ConfigError([str(problem) for problem in first], str(path), omitted)
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


class _DocumentOrder:
    """Where a key path sits in a document, as positions, so problems read top to bottom.

    Each object's key positions are indexed once: a list of thousands of problems must not
    search the same keys thousands of times.
    """

    def __init__(self, data: Any) -> None:
        self.data = data
        self._positions: dict[int, dict[Any, int]] = {}

    def of(self, path: KeyPath) -> tuple[int, ...]:
        order: list[int] = []
        node = self.data
        for step in path:
            if isinstance(node, Mapping):
                positions = self._positions.get(id(node))
                if positions is None:
                    positions = self._positions[id(node)] = {k: i for i, k in enumerate(node)}
                order.append(positions.get(step, len(positions)))
                node = node.get(step) if isinstance(step, str) else None
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                order.append(step)
                node = node[step]
            else:
                order.append(sys.maxsize)
                node = None
        return tuple(order)

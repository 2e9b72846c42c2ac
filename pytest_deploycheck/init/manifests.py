"""The project's manifests: the wrangler config, ``package.json``, and the service's name
they (or ``pyproject.toml``, or the spec's title) give.
"""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .repository import MAX_SOURCE_BYTES, read_text


def _strip_jsonc(text: str) -> str:
    """JSON with ``//`` and ``/* */`` comments and trailing commas made plain JSON."""
    out: list[str] = []
    index, length, in_string = 0, len(text), False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        else:
            out.append(char)
        index += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def wrangler_config(root: Path, notes: list[str]) -> tuple[str, Mapping[str, Any]] | None:
    """The first wrangler config file at the root, parsed."""
    for name in ("wrangler.toml", "wrangler.jsonc", "wrangler.json"):
        path = root / name
        if not path.is_file():
            continue
        text = read_text(path, MAX_SOURCE_BYTES)
        try:
            if text is None:
                raise ValueError("unreadable")
            data = tomllib.loads(text) if name.endswith(".toml") else json.loads(_strip_jsonc(text))
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            notes.append(f"{name}: cannot be parsed ({exc}), skipped")
            continue
        if isinstance(data, Mapping):
            return name, data
    return None


def package_json(root: Path, notes: list[str]) -> Mapping[str, Any] | None:
    path = root / "package.json"
    if not path.is_file():
        return None
    text = read_text(path, MAX_SOURCE_BYTES)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError as exc:
        notes.append(f"package.json: not valid JSON ({exc}), skipped")
        return None
    return data if isinstance(data, Mapping) else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def pyproject_of(root: Path) -> Mapping[str, Any]:
    """The project's ``pyproject.toml`` as data; empty when there is none or it does not
    parse."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(read_text(path, MAX_SOURCE_BYTES) or "")
    except tomllib.TOMLDecodeError:
        return {}


def service_name(
    root: Path,
    package: Mapping[str, Any] | None,
    wrangler: tuple[str, Mapping[str, Any]] | None,
    title: str | None,
) -> tuple[str, str] | tuple[None, None]:
    data = pyproject_of(root)
    project = data.get("project") or data.get("tool", {}).get("poetry") or {}
    name = project.get("name") if isinstance(project, Mapping) else None
    if isinstance(name, str) and name.strip():
        return name.strip(), "pyproject.toml"
    if package is not None and isinstance(package.get("name"), str) and package["name"].strip():
        return str(package["name"]).strip(), "package.json"
    if wrangler is not None and isinstance(wrangler[1].get("name"), str):
        return str(wrangler[1]["name"]), wrangler[0]
    if title and _slug(title):
        return _slug(title), "the spec's info.title"
    return None, None


_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _names(requirements: Any) -> set[str]:
    if isinstance(requirements, Mapping):  # poetry's and Pipfile's tables: name -> version
        return {str(name).lower().replace("_", "-") for name in requirements}
    names = set()
    for line in requirements if isinstance(requirements, list) else []:
        match = _REQUIREMENT_NAME.match(str(line)) if not str(line).startswith("-") else None
        if match:
            names.add(match[1].lower().replace("_", "-"))
    return names


def python_dependencies(root: Path) -> frozenset[str]:
    """The names of the Python packages the project depends on (pyproject.toml, Pipfile and
    requirements files), lower case: which server it brings decides how init starts it."""
    names: set[str] = set()
    data = pyproject_of(root)
    if data:
        project = data.get("project") or {}
        names |= _names(project.get("dependencies"))
        for extra in (project.get("optional-dependencies") or {}).values():
            names |= _names(extra)
        for group in (data.get("dependency-groups") or {}).values():
            names |= _names(group)
        names |= _names(data.get("tool", {}).get("poetry", {}).get("dependencies"))
    pipfile = root / "Pipfile"
    if pipfile.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError):
            pipenv = tomllib.loads(read_text(pipfile, MAX_SOURCE_BYTES) or "")
            names |= _names(pipenv.get("packages"))
    requirement_files = [*root.glob("requirements*.txt"), *root.glob("requirements/*.txt")]
    for path in requirement_files:
        names |= _names((read_text(path, MAX_SOURCE_BYTES) or "").splitlines())
    return frozenset(names)

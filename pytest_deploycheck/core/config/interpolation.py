"""``${VAR}`` and ``${VAR:-default}`` interpolation of every string value from the environment.

``$${`` stands for a literal ``${``. A variable that is unset and has no default is a problem at
its key path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .problems import KeyPath, Problem

__all__ = ["Interpolation", "Substitution", "escape_literal", "interpolate"]

# "$${" is a literal "${"; "${NAME}" and "${NAME:-default}" are references; any other "${"
# is a reference written wrong.
_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)


@dataclass(frozen=True, slots=True)
class Substitution:
    """One reference replaced: where, which variable, and the text it brought in."""

    path: KeyPath
    variable: str
    value: str


@dataclass(frozen=True)
class Interpolation:
    """The interpolated value, what was substituted, and what could not be: ``problems``,
    and ``waived``, the unset variables of key paths that could go without (left empty)."""

    value: Any
    substitutions: tuple[Substitution, ...] = ()
    problems: tuple[Problem, ...] = ()
    waived: tuple[Problem, ...] = ()


def escape_literal(text: str) -> str:
    """``text`` written so that interpolation gives it back unchanged (``${`` -> ``$${``)."""
    return text.replace("${", "$${")


def interpolate(
    value: Any,
    environ: Mapping[str, str],
    path: KeyPath = (),
    *,
    sections: Collection[str] | None = None,
) -> Interpolation:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string inside ``value``.

    The default applies when the variable is unset or empty, as in the shell. Keys are left
    alone. A variable that is unset and has no default is a problem at its key path; its
    reference stays in the text. With ``sections``, only under those top-level keys: elsewhere
    (what the command never uses) it becomes the empty string, noted in ``waived``.
    Values brought in are not interpolated again. A ``$`` written right before a reference
    reads as the escape ``$${``, so a literal ``$`` cannot directly precede one.
    """
    substitutions: list[Substitution] = []
    problems: list[Problem] = []
    waived: list[Problem] = []

    def walk(node: Any, where: KeyPath) -> Any:
        if isinstance(node, str):
            if sections is not None and (not where or where[0] not in sections):
                return _interpolate_text(node, environ, where, substitutions, waived, missing="")
            return _interpolate_text(node, environ, where, substitutions, problems)
        if isinstance(node, Mapping):
            return {key: walk(item, (*where, key)) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item, (*where, index)) for index, item in enumerate(node)]
        return node

    result = walk(value, path)
    return Interpolation(result, tuple(substitutions), tuple(problems), tuple(waived))


def _interpolate_text(
    text: str,
    environ: Mapping[str, str],
    path: KeyPath,
    substitutions: list[Substitution],
    problems: list[Problem],
    missing: str | None = None,
) -> str:
    """``text`` interpolated; an unset variable without a default becomes ``missing``, or
    stays as written with a problem when ``missing`` is None."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name = match.group("name")
        if name is None:
            end = text.find("}", match.start())
            if 0 <= end < match.start() + 40:
                fragment = text[match.start() : end + 1]
            else:
                fragment = text[match.start() : match.start() + 12] + "..."
            problems.append(
                Problem(
                    path,
                    f"{fragment!r} is not a valid reference: write ${{NAME}} or "
                    "${NAME:-default} (NAME: letters, digits and _), or $${ for a literal '${'",
                )
            )
            return whole
        default = match.group("default")
        value = environ.get(name)
        if default is not None and not value:
            return default
        if value is None:
            problems.append(
                Problem(
                    path,
                    f"environment variable {name} is not set: set it, or give a default "
                    f"with ${{{name}:-value}}",
                )
            )
            return whole if missing is None else missing
        substitutions.append(Substitution(path, name, value))
        return value

    return _REFERENCE.sub(replace, text)

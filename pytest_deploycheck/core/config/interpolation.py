"""``${VAR}`` and ``${VAR:-default}`` interpolation of every string value from the environment.

``$${`` stands for a literal ``${``. A default is interpolated too, so defaults nest:
``${PRIMARY_URL:-${FALLBACK_URL:-http://localhost:8000}}``. A variable that is unset and has
no default is a problem at its key path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .problems import KeyPath, Problem

__all__ = [
    "MAX_NESTED_DEFAULTS",
    "MAX_REFERENCES",
    "Interpolation",
    "Substitution",
    "escape_literal",
    "interpolate",
]

# "$${" is a literal "${", "${" opens a reference, and inside a default "}" closes it.
_TOKEN = re.compile(r"\$\$\{|\$\{|\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Defaults within defaults, at most: deeper is a mistake, and the parser must stay bounded.
MAX_NESTED_DEFAULTS = 8
# References in one value, at most: reading each costs time, and no setting needs many.
MAX_REFERENCES = 1000
_MAX_UNSET_LISTED = 5
_HELP = "write ${NAME} or ${NAME:-default} (NAME: letters, digits and _), or $${ for a literal '${'"


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
    written = text.count("${")
    if written > MAX_REFERENCES:
        # not a config value but a mistake (or an attack): say so once, read none of it
        message = (
            f"holds {written:,} '${{': a value takes at most {MAX_REFERENCES:,} references; "
            "write fewer (or $${ for a literal '${')"
        )
        problems.append(Problem(path, message))
        return text
    reader = _Reader(text, environ, missing)
    value, _ = reader.expand(0, 0)
    if reader.too_deep:
        message = f"defaults nest more than {MAX_NESTED_DEFAULTS} deep: use fewer fallbacks"
        problems.append(Problem(path, message))
        return text
    if reader.invalid:
        count = reader.invalid
        more = f" (and {count - 1:,} more in this value)" if count > 1 else ""
        message = f"{reader.first_invalid} is not a valid reference{more}: {_HELP}"
        problems.append(Problem(path, message))
    unset = list(dict.fromkeys(reader.problems))
    if len(unset) > _MAX_UNSET_LISTED:
        rest = len(unset) - _MAX_UNSET_LISTED
        unset = [*unset[:_MAX_UNSET_LISTED], f"and {rest:,} more unset variables in this value"]
    problems.extend(Problem(path, message) for message in unset)
    substitutions.extend(Substitution(path, name, found) for name, found in reader.used)
    return value


@dataclass
class _Reader:
    """Reads one string: references, nested defaults and escapes, left to right.

    References written wrong are counted (``invalid``; the first is quoted), unset variables
    are ``problems``, and a bad reference stays in the text as written.
    """

    text: str
    environ: Mapping[str, str]
    missing: str | None
    invalid: int = 0
    first_invalid: str = ""
    too_deep: bool = False
    problems: list[str] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)

    def expand(self, position: int, depth: int) -> tuple[str, int | None]:
        """The text from ``position`` interpolated, up to the end (``depth`` 0) or to the
        ``}`` closing a default (``depth`` > 0): (value, position after the ``}``, or None
        when the text ended first)."""
        pieces: list[str] = []
        while True:
            match = _TOKEN.search(self.text, position)
            if match is None:
                pieces.append(self.text[position:])
                return "".join(pieces), None
            pieces.append(self.text[position : match.start()])
            kind, position = match.group(), match.end()
            if kind == "$${":
                pieces.append("${")
            elif kind == "}":
                if depth:
                    return "".join(pieces), position
                pieces.append("}")
            else:
                value, position = self.reference(match.start(), depth)
                pieces.append(value)

    def reference(self, start: int, depth: int) -> tuple[str, int]:
        """The value of the reference at ``start`` (``${``), and where the text goes on."""
        opened = start + 2
        name = _NAME.match(self.text, opened)
        after = name.end() if name else opened
        if name is None or not self.text.startswith(("}", ":-"), after):
            self.note_invalid(_fragment(self.text, start))
            return "${", opened
        variable = name.group()
        found = self.environ.get(variable)
        if self.text.startswith("}", after):
            return self.resolve(variable, found, start, after + 1), after + 1
        # ${NAME:-default}: the default is read (and checked) whether it is used or not
        if depth + 1 > MAX_NESTED_DEFAULTS:
            self.too_deep = True
            return self.text[start:], len(self.text)
        reader = _Reader(self.text, self.environ, self.missing)
        default, end = reader.expand(after + 2, depth + 1)
        if reader.too_deep:
            self.too_deep = True
            return self.text[start:], len(self.text)
        if reader.invalid:
            self.note_invalid(reader.first_invalid, reader.invalid)
        if end is None:
            self.note_invalid(_fragment(self.text, start))
            return self.text[start:], len(self.text)
        if found:
            self.used.append((variable, found))
            return found, end
        # the default stands in: what it brought in counts, as its own problems do
        self.problems.extend(reader.problems)
        self.used.extend(reader.used)
        return default, end

    def note_invalid(self, fragment: str, count: int = 1) -> None:
        # counted, and only the first quoted: "${" written 500,000 times is one problem
        if not self.invalid:
            self.first_invalid = fragment
        self.invalid += count

    def resolve(self, variable: str, found: str | None, start: int, end: int) -> str:
        if found is None:
            self.problems.append(
                f"environment variable {variable} is not set: set it, or give a default "
                f"with ${{{variable}:-value}}"
            )
            return self.text[start:end] if self.missing is None else self.missing
        self.used.append((variable, found))
        return found


def _fragment(text: str, start: int) -> str:
    """The reference written at ``start``, quoted and shortened, for a message."""
    end = text.find("}", start, start + 40)
    if end >= 0:
        return repr(text[start : end + 1])
    return repr(text[start : start + 12] + "...")

"""JSON Schema errors in plain words: what ``jsonschema_rs`` reports, explained as problems.

``describe`` turns one validation error into :class:`Problem` objects (a path into the value
and a message); for a ``oneOf``/``anyOf`` it picks the likeliest branch. Validity explains
the meta-schema's errors with it, and the example rules the errors of examples. ``short``
quotes a value in a message, cut to a length; rules' messages use it too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from pytest_deploycheck.core.patterns import PATTERN_DIALECT, pattern_problem


@dataclass
class Problem:
    """What is wrong in a value: where (a path into it), what, and the keyword that failed."""

    path: list[str | int]
    message: str
    keyword: str = ""
    options: tuple[Any, ...] = ()


def short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_MESSAGE_LIMIT = 300


def _cut_quoted(message: str, value: Any) -> str:
    """A jsonschema_rs message with the value it quotes cut short, and its reason whole.

    Its messages start with the whole value (``"..." is not a "regex"``), which may be
    thousands of characters: only that part is shortened.
    """
    try:
        quoted = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        quoted = ""
    if quoted and message.startswith(quoted) and len(quoted) > 60:
        return short(value) + message[len(quoted) :]
    if len(message) > _MESSAGE_LIMIT:  # a message that quotes the value elsewhere
        return message[: _MESSAGE_LIMIT - 3] + "..."
    return message


def _options(options: Sequence[Any], limit: int = 12) -> str:
    """The allowed values, the first ``limit`` of them: an enum may have hundreds."""
    listed = ", ".join(short(option) for option in options[:limit])
    return listed if len(options) <= limit else f"{listed}, ... ({len(options) - limit} more)"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


Metaschemas = Mapping[str, Mapping[str, Any]]
"""Meta-schemas by their URI, to find the keyword an error names in the one it belongs to."""


def _schema_at(root: Mapping[str, Any] | None, path: Sequence[str | int]) -> Any:
    node: Any = root
    for token in path:
        if isinstance(node, dict) and str(token) in node:
            node = node[str(token)]
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return None
    return node


def _keyword_parent(error: jsonschema_rs.ValidationError, metaschemas: Metaschemas | None) -> Any:
    """The schema holding the keyword that failed, in the meta-schema it belongs to."""
    location = error.absolute_keyword_location or ""
    root = (metaschemas or {}).get(location.partition("#")[0])
    # schema_path runs from the root of the resource that holds the keyword
    return _schema_at(root, error.schema_path[:-1])


def _unexpected(
    error: jsonschema_rs.ValidationError, keys: Iterable[str], metaschemas: Metaschemas | None
) -> list[Problem]:
    parent = _keyword_parent(error, metaschemas)
    allowed: list[str] = []
    patterns: list[str] = []
    if isinstance(parent, dict):
        allowed = sorted(k for k in parent.get("properties", {}) if isinstance(k, str))
        patterns = [p for p in parent.get("patternProperties", {}) if p != "^x-"]
    problems = []
    for key in keys:
        if patterns == ["^\\/"]:
            message = f"{key!r} is not a path: path keys start with '/'"
        elif any("[1-5]" in pattern for pattern in patterns):
            message = f"{key!r} is not a status code: use 100 to 599, 1XX to 5XX, or 'default'"
        else:
            message = f"{key!r} is not an allowed field here"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
            elif allowed or patterns:
                choices = [*allowed, *(f"a key matching {p}" for p in patterns)]
                message += f"; use {', '.join(choices)} or an 'x-' extension"
        problems.append(Problem([*error.instance_path, key], message, "additionalProperties"))
    return problems


def describe(
    error: jsonschema_rs.ValidationError,
    metaschemas: Metaschemas | None = None,
    depth: int = 0,
) -> list[Problem]:
    """Readable problems for one jsonschema_rs error; for oneOf/anyOf, the likeliest branch.

    ``metaschemas`` (by URI) let an unexpected field be explained by the fields allowed there.
    """
    kind = error.kind
    name = kind.name
    path = list(error.instance_path)
    value = error.instance
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        prop = kind.property
        return [Problem(path, f"{prop!r} is required here; add it", "required", (prop,))]
    if isinstance(
        kind,
        jsonschema_rs.ValidationErrorKind.AdditionalProperties
        | jsonschema_rs.ValidationErrorKind.UnevaluatedProperties,
    ):
        return _unexpected(error, kind.unexpected, metaschemas)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Enum):
        options = tuple(kind.options)
        listed = _options(options)
        return [Problem(path, f"{short(value)} is not one of {listed}", "enum", options)]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Constant):
        expected = kind.expected_value
        message = f"{short(value)} is not {short(expected)}"
        return [Problem(path, message, "enum", (expected,))]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
        wanted = " or ".join(kind.types)
        message = f"must be {wanted} (got {_json_type(value)}: {short(value)})"
        return [Problem(path, message, "type")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Pattern):
        message = f"{short(value)} does not match the pattern {kind.pattern!r}"
        return [Problem(path, message, "pattern")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format):
        message = f"{short(value)} is not a valid {kind.format!r}"
        problem = (
            pattern_problem(value) if kind.format == "regex" and isinstance(value, str) else None
        )
        if problem:
            message = (
                f"{short(value)} is not a valid regular expression ({PATTERN_DIALECT}): {problem}"
            )
        return [Problem(path, message, "format")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Not):
        schema = kind.schema
        required = schema.get("required") if isinstance(schema, dict) else None
        if isinstance(required, list) and len(schema) == 1:  # type: ignore[arg-type]
            names = " and ".join(repr(n) for n in required)
            return [Problem(path, f"{names} cannot be used together here; keep one", "not")]
        return [Problem(path, "this combination of fields is not allowed here", "not")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.FalseSchema):
        return [Problem(path, "no value is allowed here", "false")]
    if (
        isinstance(
            kind,
            jsonschema_rs.ValidationErrorKind.OneOfNotValid
            | jsonschema_rs.ValidationErrorKind.AnyOf,
        )
        and depth < 10
    ):
        return _best_branch(error, kind.context, metaschemas, depth)
    return [Problem(path, _cut_quoted(error.message, value), name)]


def _best_branch(
    error: jsonschema_rs.ValidationError,
    context: list[list[jsonschema_rs.ValidationError]],
    metaschemas: Metaschemas | None,
    depth: int,
) -> list[Problem]:
    value = error.instance
    branches = [branch for branch in context if branch]
    is_ref = isinstance(value, dict) and "$ref" in value

    def reference_branch(branch: list[jsonschema_rs.ValidationError]) -> bool:
        return any(
            isinstance(e.kind, jsonschema_rs.ValidationErrorKind.Required)
            and e.kind.property == "$ref"
            for e in branch
        )

    if not is_ref:
        branches = [b for b in branches if not reference_branch(b)] or branches
    explained = [
        [p for e in branch for p in describe(e, metaschemas, depth + 1)] for branch in branches
    ]
    if not explained:
        return [
            Problem(list(error.instance_path), _cut_quoted(error.message, value), error.kind.name)
        ]
    # Every alternative rejects the same value for not being one of a few: merge the options.
    firsts = [next((p for p in problems if p.keyword == "enum"), None) for problems in explained]
    if len(explained) > 1 and all(firsts) and len({str(p.path) for p in firsts if p}) == 1:
        options = tuple(o for p in firsts if p for o in p.options)
        at = firsts[0].path if firsts[0] else []
        shown = _schema_at_value(value, at[len(error.instance_path) :])
        listed = _options(options)
        return [Problem(at, f"{short(shown)} is not one of {listed}", "enum", options)]
    requireds = [
        problems for problems in explained if all(p.keyword == "required" for p in problems)
    ]
    if len(requireds) == len(explained) > 1 and all(len(p) == 1 for p in requireds):
        names = " or ".join(repr(p[0].options[0]) for p in requireds)
        return [Problem(list(error.instance_path), f"needs one of {names}", "required")]

    def rank(problems: list[Problem]) -> tuple[int, int]:
        return (max(len(p.path) for p in problems), -len(problems))

    return max(explained, key=rank)


def _schema_at_value(value: Any, path: Sequence[str | int]) -> Any:
    node = value
    for token in path:
        if isinstance(node, dict):
            node = node.get(str(token))
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return None
    return node

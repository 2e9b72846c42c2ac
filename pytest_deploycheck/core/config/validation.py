"""Validation against the schema, and the messages that explain each mistake.

A message names the key path, the value received (secrets hidden) and what would be valid; an
unknown key or a wrong choice gets a did-you-mean suggestion.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from pytest_deploycheck.core.errors import shorten
from pytest_deploycheck.core.redaction import MASK, Redactor

from .problems import MAX_KEY_SHOWN, KeyPath, Problem, printable
from .schema import resolve, validator
from .secrets import is_secret_slot

__all__ = ["validate"]

_VALUE_PREVIEW = 60
# Suggestions ("did you mean") are looked for only for keys and values this short.
_SUGGEST_LENGTH = 100
_SUGGESTIONS = 200

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}

_PLURAL = {
    "string": "strings",
    "integer": "integers",
    "number": "numbers",
    "boolean": "booleans",
    "object": "objects",
    "array": "lists",
}


def _kind(value: Any) -> str:
    """What a JSON value is, in words: ``"a string"``, ``"a list"``."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return "null"


def _expected(schema: Mapping[str, Any]) -> str:
    """What ``schema`` accepts, in words: ``an integer from 1 to 100``."""
    schema = resolve(schema)
    if isinstance(schema.get("patternErrorMessage"), str):
        return str(schema["patternErrorMessage"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(choice) for choice in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if not names:
        description = schema.get("description")
        return str(description).split(". ")[0] if description else "a valid value"
    words = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
    if "array" in names:
        item_types = resolve(schema.get("items") or {}).get("type")
        if isinstance(item_types, str) and item_types in _PLURAL:
            words += f" of {_PLURAL[item_types]}"
        if schema.get("minItems") == 1:
            words = "a non-empty " + words.removeprefix("a ")
    if "string" in names and schema.get("minLength") == 1:
        words = words.replace("a string", "a non-empty string")
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        words += f" from {low} to {high}"
    elif low is not None:
        words += f" >= {low}"
    elif high is not None:
        words += f" <= {high}"
    if schema.get("exclusiveMinimum") is not None:
        words += f" > {schema['exclusiveMinimum']}"
    if schema.get("exclusiveMaximum") is not None:
        words += f" < {schema['exclusiveMaximum']}"
    return words


def _instance(error: ValidationError) -> Any:
    """The value that failed (typed loosely: jsonschema marks it possibly unset)."""
    return error.instance


def _rule(error: ValidationError) -> Any:
    """The keyword's value in the schema, such as the list of an ``enum``."""
    return error.validator_value


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    schema = error.schema
    return schema if isinstance(schema, Mapping) else {}


class _Explainer:
    """Turns jsonschema errors into problem lines that never show a secret."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def show(self, value: Any, path: KeyPath) -> str:
        """``value`` as JSON, secrets masked, cut to a readable length."""
        if is_secret_slot(path):
            return MASK
        text = self.redactor.redact(printable(json.dumps(value, ensure_ascii=False, default=str)))
        # Cut after masking, so a cut cannot leave part of a secret unrecognised.
        if len(text) > _VALUE_PREVIEW:
            text = text[: _VALUE_PREVIEW - 3] + "..."
        return text

    def got(self, value: Any, path: KeyPath, with_kind: bool = False) -> str:
        shown = self.show(value, path)
        return f"(got {shown}, {_kind(value)})" if with_kind else f"(got {shown})"

    def explain(self, error: ValidationError) -> list[Problem]:
        path: KeyPath = tuple(error.absolute_path)
        handler = _HANDLERS.get(str(error.validator))
        if handler is not None:
            return handler(self, error, path)
        return [Problem(path, self.redactor.redact(error.message))]

    def alternatives(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        best = best_match([error])
        if best is not None and best is not error:
            return self.explain(best)
        if not error.context:
            # oneOf matched more than one branch: nothing to pick, say it as jsonschema does
            return [Problem(path, self.redactor.redact(error.message))]
        # Every branch failed the same way at the same place: say what each would accept.
        choices: list[str] = []
        for branch_error in error.context:
            choice = _expected(_schema_of(branch_error))
            if choice not in choices:
                choices.append(choice)
        expected = " or ".join(choices)
        return [Problem(path, f"must be {expected} {self.got(_instance(error), path, True)}")]

    def unknown_keys(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        schema = _schema_of(error)
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        folded = {name.lower(): name for name in allowed}
        known = set(allowed)
        matchers = [re.compile(pattern).search for pattern in patterns]
        problems: list[Problem] = []
        # keys of earlier versions: what replaced them says more than a did-you-mean
        retired = schema.get("x-retired", {})
        for key in _instance(error):
            if key in known or any(match(key) for match in matchers):
                continue
            if isinstance(retired.get(key), str):
                problems.append(Problem((*path, key), retired[key]))
                continue
            # past the first few hundred, a list of unknown keys needs no suggestions
            look = len(problems) < _SUGGESTIONS
            hint = _suggest(key, allowed, folded if look else None)
            problems.append(Problem((*path, key), f"unknown key{hint}"))
        return problems

    def missing_keys(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        schema = _schema_of(error)
        properties = schema.get("properties", {})
        problems = []
        for key in _rule(error):
            if isinstance(_instance(error), Mapping) and key not in _instance(error):
                expected = _expected(properties.get(key, {}))
                problems.append(Problem((*path, key), f"is required; must be {expected}"))
        return problems

    def wrong_type(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        schema = _schema_of(error)
        return [
            Problem(path, f"must be {_expected(schema)} {self.got(_instance(error), path, True)}")
        ]

    def wrong_choice(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        choices = [str(choice) for choice in _rule(error) if isinstance(choice, str)]
        listed = ", ".join(json.dumps(choice) for choice in _rule(error))
        hint = ""
        if isinstance(_instance(error), str) and len(_instance(error)) <= _SUGGEST_LENGTH:
            folded = {choice.lower(): choice for choice in choices}
            match = folded.get(_instance(error).lower()) or next(
                iter(difflib.get_close_matches(_instance(error), choices, n=1)), None
            )
            hint = f" -> did you mean {json.dumps(match)}?" if match else ""
        return [Problem(path, f"must be one of {listed} {self.got(_instance(error), path)}{hint}")]

    def out_of_range(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        schema = _schema_of(error)
        return [Problem(path, f"must be {_expected(schema)} {self.got(_instance(error), path)}")]

    def bad_pattern(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        schema = _schema_of(error)
        words = schema.get("patternErrorMessage")
        expected = str(words) if words else f"a string matching {_rule(error)!r}"
        return [Problem(path, f"must be {expected} {self.got(_instance(error), path)}")]

    def bad_length(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        limit = _rule(error)
        kind = str(error.validator)
        if kind == "minLength":
            rule = "must not be empty" if limit == 1 else f"must be at least {limit} characters"
        elif kind == "maxLength":
            rule = f"must be at most {limit} characters"
        elif kind == "minItems":
            rule = (
                "must not be an empty list" if limit == 1 else f"must list at least {limit} items"
            )
        elif kind == "maxItems":
            rule = f"must list at most {limit} items"
        elif kind == "minProperties":
            rule = f"must have at least {limit} key{'s' if limit != 1 else ''}"
        else:
            rule = f"must have at most {limit} keys"
        return [Problem(path, f"{rule} {self.got(_instance(error), path)}")]

    def repeated(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        return [
            Problem(path, f"must not list the same item twice {self.got(_instance(error), path)}")
        ]

    def too_much(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        return [Problem(path, f"{error.message} {self.got(_instance(error), path)}")]

    def wrong_constant(self, error: ValidationError, path: KeyPath) -> list[Problem]:
        expected = json.dumps(_rule(error))
        return [Problem(path, f"must be {expected} {self.got(_instance(error), path)}")]


_HANDLERS: dict[str, Callable[[_Explainer, ValidationError, KeyPath], list[Problem]]] = {
    "oneOf": _Explainer.alternatives,
    "anyOf": _Explainer.alternatives,
    "additionalProperties": _Explainer.unknown_keys,
    "unevaluatedProperties": _Explainer.unknown_keys,
    "required": _Explainer.missing_keys,
    "type": _Explainer.wrong_type,
    "enum": _Explainer.wrong_choice,
    "const": _Explainer.wrong_constant,
    "minimum": _Explainer.out_of_range,
    "maximum": _Explainer.out_of_range,
    "exclusiveMinimum": _Explainer.out_of_range,
    "exclusiveMaximum": _Explainer.out_of_range,
    "pattern": _Explainer.bad_pattern,
    "minLength": _Explainer.bad_length,
    "maxLength": _Explainer.bad_length,
    "minItems": _Explainer.bad_length,
    "maxItems": _Explainer.bad_length,
    "minProperties": _Explainer.bad_length,
    "maxProperties": _Explainer.bad_length,
    "uniqueItems": _Explainer.repeated,
    "maxDuration": _Explainer.too_much,
    "maxSize": _Explainer.too_much,
    "maxPercent": _Explainer.too_much,
}


def _suggest(key: str, allowed: Sequence[str], folded: Mapping[str, str] | None) -> str:
    """`` 'key' -> did you mean 'other'?``, else the valid keys; with ``folded`` (the allowed
    keys by their lower case) None, only the key: past the first few hundred unknown keys,
    suggestions cost time and help nobody."""
    shown = printable(repr(shorten(key, MAX_KEY_SHOWN)))
    if folded is None:
        return f" {shown}"
    match = None
    if len(key) <= _SUGGEST_LENGTH:
        # (a long key resembles no key, and difflib's cost grows with its length)
        match = folded.get(key.lower()) or next(
            iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
        )
    if match:
        return f" {shown} -> did you mean {match!r}?"
    if allowed:
        return f" {shown}; valid keys: {', '.join(allowed)}"
    return f" {shown}: this object takes no keys"


def validate(data: Any, redactor: Redactor | None = None) -> list[Problem]:
    """Every way ``data`` breaks the schema, in the order of the document."""
    explainer = _Explainer(redactor or Redactor(()))
    problems: list[Problem] = []
    for error in validator().iter_errors(data):
        problems.extend(explainer.explain(error))
    return _unique(problems)


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    # anyOf branches and overlapping keywords can report one problem twice
    return list(dict.fromkeys(problems))

"""Loading ``deployment-config.json``: interpolation, validation and typed access.

``load_config`` reads the file, replaces ``${VAR}`` and ``${VAR:-default}`` in every string
value from the environment (``$${`` stands for a literal ``${``), and validates the result
against the JSON Schema shipped in ``schemas/``. Every problem is reported at once, one line
each, naming the key path, the value received (secrets hidden) and what would be valid.

The schema is one top-level file that refers to one file per section
(``sections/<name>.json``), with shared types in ``sections/common.json``. Editors follow the
relative ``$ref``; the loader serves the same files from a ``referencing.Registry``;
``schema_document()`` bundles them into one self-contained document.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from .errors import ConfigError
from .redaction import DEFAULT_SENSITIVE_HEADERS, MASK, Redactor, looks_secret
from .units import parse_duration

__all__ = [
    "CONFIG_FILENAME",
    "SCHEMA_FILENAME",
    "SCHEMA_ID",
    "SECTIONS",
    "Config",
    "Interpolation",
    "LocalTarget",
    "Problem",
    "Substitution",
    "config_from_text",
    "escape_literal",
    "find_config",
    "format_path",
    "interpolate",
    "load_config",
    "schema_document",
    "schema_registry",
    "substitute",
    "validate",
]

CONFIG_FILENAME = "deployment-config.json"
SCHEMA_FILENAME = "deployment-config.schema.json"
# The files on disk carry no $id: an editor would take it as the base of their relative
# $ref and try to download the sections from a host that serves nothing. The loader and the
# bundled document use this URI instead.
SCHEMA_ID = "https://pytest-deploycheck.dev/schemas/deployment-config.schema.json"
_BASE_URI = SCHEMA_ID.rsplit("/", 1)[0] + "/"
_SECTIONS_URI = _BASE_URI + "sections/"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"

SECTIONS = (
    "service",
    "spec",
    "target",
    "health",
    "availability",
    "static_analysis",
    "env",
    "bundle",
    "openapi",
    "breaking",
    "migrations",
    "database",
    "models",
    "contract",
    "smoke",
    "performance",
    "drift",
    "tls",
    "scoring",
    "history",
    "collect",
    "monitor",
    "notify",
    "rollback",
)

KeyPath = tuple[str | int, ...]

_VALUE_PREVIEW = 60
_EMPTY: Mapping[str, Any] = MappingProxyType({})


# -- problems ----------------------------------------------------------------------------------


_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def format_path(path: Sequence[str | int]) -> str:
    """``("target", "local", "command", 0)`` -> ``target.local.command[0]``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _PLAIN_KEY.match(step):
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step, ensure_ascii=False)}]"
    return text or "(top level)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the config, at a key path."""

    path: KeyPath
    message: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


# -- interpolation -------------------------------------------------------------------------------

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


# -- the schema ----------------------------------------------------------------------------------


def _schema_folder() -> Traversable:
    return files("pytest_deploycheck") / "schemas"


def _read_schema_files(folder: Traversable) -> dict[str, Any]:
    """Every schema file under ``folder`` by its relative name, missing sections stubbed."""
    documents: dict[str, Any] = {
        SCHEMA_FILENAME: json.loads((folder / SCHEMA_FILENAME).read_text("utf-8"))
    }
    sections = folder / "sections"
    present = {entry.name for entry in sections.iterdir()} if sections.is_dir() else set()
    for name in sorted(present):
        if name.endswith(".json"):
            text = (sections / name).read_text("utf-8")
            documents[f"sections/{name}"] = json.loads(text)
    for section in SECTIONS:
        # A section whose schema is not written yet accepts any object rather than breaking
        # every config; the stub says so to anyone who prints the schema.
        documents.setdefault(
            f"sections/{section}.json",
            {
                "title": section,
                "description": f"No schema ships for the {section!r} section yet: "
                "any object is accepted.",
                "type": "object",
            },
        )
    return documents


@cache
def _schema_documents() -> Mapping[str, Any]:
    return MappingProxyType(_read_schema_files(_schema_folder()))


def schema_registry(documents: Mapping[str, Any] | None = None) -> Registry[Any]:
    """A registry serving the schema files under their URIs (``.../sections/target.json``)."""
    documents = _schema_documents() if documents is None else documents
    resources = [
        (_BASE_URI + name, Resource.from_contents(document, default_specification=DRAFT202012))
        for name, document in documents.items()
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    return registry.crawl()


@cache
def _registry() -> Registry[Any]:
    return schema_registry()


@cache
def _validator() -> Draft202012Validator:
    top = {**_schema_documents()[SCHEMA_FILENAME], "$id": SCHEMA_ID}
    return Draft202012Validator(top, registry=_registry())


def schema_document(bundled: bool = True) -> dict[str, Any]:
    """The configuration's JSON Schema.

    Bundled, it is one self-contained document: every section file (and ``common.json``)
    becomes an entry of ``$defs`` and every ``$ref`` a local ``#/$defs/...`` pointer, so any
    tool can use it without the other files. Otherwise it is the top-level file as shipped,
    whose ``$ref`` name the section files next to it.
    """
    documents = _schema_documents()
    if not bundled:
        return copy.deepcopy(dict(documents[SCHEMA_FILENAME]))
    return _bundle(documents)


def _bundle(documents: Mapping[str, Any]) -> dict[str, Any]:
    locations = {_BASE_URI + SCHEMA_FILENAME: "#"}
    for name in documents:
        if name.startswith("sections/"):
            locations[_BASE_URI + name] = "#/$defs/" + name.removeprefix("sections/").removesuffix(
                ".json"
            )

    def relocate(ref: str, base: str) -> str:
        target, fragment = urldefrag(urljoin(base, ref))
        if target not in locations or (fragment and not fragment.startswith("/")):
            return ref  # not one of ours, or a named anchor: leave it as written
        where = locations[target]
        return where + fragment if where != "#" else "#" + fragment

    def rewrite(node: Any, base: str) -> Any:
        if isinstance(node, dict):
            result: dict[str, Any] = {}
            for key, item in node.items():
                if key == "$ref" and isinstance(item, str):
                    result[key] = relocate(item, base)
                elif key in ("default", "examples", "const", "enum"):
                    result[key] = copy.deepcopy(item)  # instance data, not schemas
                else:
                    result[key] = rewrite(item, base)
            return result
        if isinstance(node, list):
            return [rewrite(item, base) for item in node]
        return node

    top = rewrite(documents[SCHEMA_FILENAME], _BASE_URI + SCHEMA_FILENAME)
    defs: dict[str, Any] = {}
    # sections in the order of SECTIONS, then common.json and any other shared file
    rank = {f"sections/{section}.json": index for index, section in enumerate(SECTIONS)}
    for name in sorted(documents, key=lambda name: (rank.get(name, len(rank)), name)):
        document = documents[name]
        if name.startswith("sections/"):
            embedded = rewrite(document, _BASE_URI + name)
            embedded.pop("$schema", None)
            embedded.pop("$id", None)
            defs[name.removeprefix("sections/").removesuffix(".json")] = embedded
    bundled = {"$schema": top.pop("$schema", _DIALECT), "$id": SCHEMA_ID, **top}
    bundled["$defs"] = {**top.get("$defs", {}), **defs}
    return bundled


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` merged with the target of its ``$ref``, to describe it in words."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    resolver = _registry().resolver()
    for base in (_SECTIONS_URI, _BASE_URI):
        try:
            target = resolver.lookup(urljoin(base, ref)).contents
        except Unresolvable:
            continue
        if isinstance(target, Mapping):
            own = {key: value for key, value in schema.items() if key != "$ref"}
            return {**_resolve(target), **own}
    return schema


# -- validation messages -------------------------------------------------------------------------

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
    schema = _resolve(schema)
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
        item_types = _resolve(schema.get("items") or {}).get("type")
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
        if _is_secret_slot(path):
            return MASK
        text = self.redactor.redact(json.dumps(value, ensure_ascii=False, default=str))
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
        problems = []
        for key in _instance(error):
            if key in allowed or any(re.search(pattern, key) for pattern in patterns):
                continue
            problems.append(Problem((*path, key), f"unknown key{_suggest(key, allowed)}"))
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
        if isinstance(_instance(error), str):
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
}


def _suggest(key: str, allowed: Sequence[str]) -> str:
    folded = {name.lower(): name for name in allowed}
    match = folded.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
    )
    if match:
        return f" {key!r} -> did you mean {match!r}?"
    if allowed:
        return f" {key!r}; valid keys: {', '.join(allowed)}"
    return f" {key!r}: this object takes no keys"


def validate(data: Any, redactor: Redactor | None = None) -> list[Problem]:
    """Every way ``data`` breaks the schema, in the order of the document."""
    explainer = _Explainer(redactor or Redactor(()))
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        problems.extend(explainer.explain(error))
    return _unique(problems)


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    # anyOf branches and overlapping keywords can report one problem twice
    return list(dict.fromkeys(problems))


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


# -- reading the file ----------------------------------------------------------------------------


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
    secrets = _collect_secrets(interpolation.value, interpolation.substitutions, environ)
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


# -- secrets -------------------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9_-]*\s+)?(?P<credential>\S.*?)\s*$")


def _collect_secrets(
    data: Any, substitutions: Sequence[Substitution], environ: Mapping[str, str]
) -> frozenset[str]:
    """The values that must never be shown: see ``Config.secrets``."""
    marked = set(_marked_secret_variables(data))
    secrets: set[str] = set()
    for substitution in substitutions:
        if (
            looks_secret(substitution.variable)
            or substitution.variable in marked
            or substitution.path[:2] == ("target", "headers")
        ):
            secrets.add(substitution.value)
    secrets.update(environ[name] for name in marked if environ.get(name))
    for path, value in _strings(data):
        last = path[-1] if path else ""
        parent = path[-2] if len(path) > 1 else ""
        if _is_secret_slot(path):
            secrets.add(value)
            match = _CREDENTIAL.match(value)
            if parent == "headers" and match:
                secrets.add(match.group("credential"))
        elif path[:2] == ("notify", "channels") and last == "url":
            secrets.add(value)  # an Apprise URL carries the channel's token
        if "://" in value:
            password = _url_password(value)
            if password:
                secrets.add(password)
    return frozenset(secret for secret in secrets if secret)


def _is_secret_slot(path: KeyPath) -> bool:
    """Whether ``path`` names a credential header or a secret-looking environment variable."""
    if len(path) < 2 or not isinstance(path[-1], str):
        return False
    name, parent = path[-1], path[-2]
    if parent == "headers":
        return name.lower() in DEFAULT_SENSITIVE_HEADERS or looks_secret(name)
    return parent == "env" and looks_secret(name)


def _marked_secret_variables(data: Any) -> Iterator[str]:
    """Names in ``env.variables`` marked secret, or secret by name when not marked."""
    env = data.get("env") if isinstance(data, Mapping) else None
    variables = env.get("variables") if isinstance(env, Mapping) else None
    if not isinstance(variables, Mapping):
        return
    for name, options in variables.items():
        marked = options.get("secret") if isinstance(options, Mapping) else None
        if marked is True or (marked is None and looks_secret(str(name))):
            yield str(name)


def _strings(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, item in node.items():
            yield from _strings(item, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, (*path, index))


def _url_password(text: str) -> str | None:
    try:
        return urlsplit(text.strip()).password
    except ValueError:
        return None


def substitute(argv: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``{port}``, ``{host}`` and ``{python}`` in each argument."""
    result = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        result.append(arg)
    return result


# -- the loaded config ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalTarget:
    """How to start the service locally: ``target.local`` with its defaults applied."""

    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/health"
    ready_timeout: float = 30.0
    base_path: str | None = None

    def argv(self, host: str, port: int, python: str = sys.executable) -> list[str]:
        """The command with ``{host}``, ``{port}`` and ``{python}`` filled in."""
        return substitute(self.command, {"host": host, "port": str(port), "python": python})


@dataclass(frozen=True)
class Config:
    """A validated, interpolated ``deployment-config.json``.

    ``raw`` is the document after interpolation, without defaults; the properties apply the
    schema's defaults. ``secrets`` holds every value to keep out of output: values brought in
    from a variable whose name looks secret (TOKEN, SECRET, PASSWORD, KEY, AUTH, COOKIE, ...),
    or into a ``target.headers`` value, or marked ``secret`` in ``env.variables``; credential
    headers and secret-looking ``env`` entries written literally; notification URLs; and
    passwords in URLs.
    """

    raw: Mapping[str, Any]
    root: Path
    path: Path
    secrets: frozenset[str] = frozenset()

    def section(self, name: str) -> Mapping[str, Any]:
        """The section called ``name`` as written (empty when absent)."""
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else _EMPTY

    @property
    def redactor(self) -> Redactor:
        """A redactor for this config's secrets."""
        return Redactor(self.secrets)

    # service

    @property
    def service_name(self) -> str:
        """``service.name``, else the name of the folder holding the config."""
        return str(self.section("service").get("name") or self.root.name)

    @property
    def environment(self) -> str:
        return str(self.section("service").get("environment", "production"))

    # spec

    @property
    def spec_path(self) -> Path:
        """The OpenAPI document, resolved against the config's folder."""
        spec = self.raw.get("spec")
        location = spec.get("path") if isinstance(spec, Mapping) else spec
        if not isinstance(location, str) or not location:
            raise ConfigError(
                ['spec: not set; name the OpenAPI document, such as "spec": "specs/api.yaml"'],
                source=str(self.path),
            )
        return self.root / location

    @property
    def spec_served_path(self) -> str | None:
        """Where the deployed service serves its spec (``spec.served_path``), if anywhere."""
        spec = self.raw.get("spec")
        served = spec.get("served_path") if isinstance(spec, Mapping) else None
        return str(served) if served else None

    # target

    @property
    def base_url(self) -> str | None:
        """``target.base_url``; an empty string (an unset ``${VAR:-}``) means none."""
        value = self.section("target").get("base_url")
        if value is None:
            return None
        return str(value).strip() or None

    @property
    def headers(self) -> Mapping[str, str]:
        return {str(k): str(v) for k, v in (self.section("target").get("headers") or {}).items()}

    @property
    def timeout(self) -> float:
        """``target.timeout`` in seconds."""
        return parse_duration(self.section("target").get("timeout", "10s"))

    @property
    def verify_tls(self) -> bool:
        return bool(self.section("target").get("verify_tls", True))

    @property
    def local(self) -> LocalTarget | None:
        """``target.local`` with its defaults, or None when the config has none."""
        local = self.section("target").get("local")
        if not isinstance(local, Mapping) or not local.get("command"):
            return None
        return LocalTarget(
            command=tuple(str(argument) for argument in local["command"]),
            cwd=self.root / str(local.get("cwd", ".")),
            env={str(k): str(v) for k, v in (local.get("env") or {}).items()},
            ready_path=str(local.get("ready_path", "/health")),
            ready_timeout=parse_duration(local.get("ready_timeout", "30s")),
            base_path=str(local["base_path"]) if "base_path" in local else None,
        )

    @property
    def local_command(self) -> tuple[str, ...] | None:
        """``target.local.command`` as written, placeholders included."""
        local = self.local
        return local.command if local else None

"""Structural validity: the official meta-schema, resolvable references, unique keys.

The document is checked against the official OpenAPI 3.0 or 3.1 JSON Schema with
``jsonschema_rs`` (which is fast), and what fails is explained in plain words. In 3.1 the
Schema Objects are checked too, against the JSON Schema dialect the document declares in
``jsonSchemaDialect`` (the OpenAPI base dialect by default, which is JSON Schema 2020-12 plus
``discriminator``, ``xml``, ``externalDocs`` and ``example``), as the official "schema-base"
meta-schema does. Every ``pattern`` (and ``patternProperties`` key) must compile as an
ECMA-262 regular expression with the ``u`` flag (``core.patterns``). Every ``$ref`` must
resolve, and no YAML mapping may repeat a key. These are the structural rules that
``validate_document`` runs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs

from pytest_deploycheck.core.patterns import PATTERN_DIALECT, pattern_problem
from pytest_deploycheck.core.spec import Spec, format_pointer, parse_pointer

from .context import LintContext, lookup, p
from .registry import Issue, rule
from .schema_errors import describe, short

_SUPPORTED = re.compile(r"^3\.[01]\.\d+(-.+)?$")
_OAS_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"
_JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_SCHEMA_FILES = (
    "oas-3.0.schema.json",
    "oas-3.1.schema.json",
    "oas-3.1-dialect-base.schema.json",
    "oas-3.1-meta-base.schema.json",
)
_BASE = {
    "3.0": "https://spec.openapis.org/oas/3.0/schema/2021-09-28",
    "3.1": "https://spec.openapis.org/oas/3.1/schema/2022-10-07",
}
_WITH_SCHEMAS = "urn:deploycheck:oas-3.1-with-schema-objects"


@cache
def _metaschemas() -> dict[str, dict[str, Any]]:
    """The shipped meta-schemas, by their URI (``$id``, or draft-4's ``id``)."""
    folder = files("pytest_deploycheck") / "schemas" / "openapi"
    loaded: dict[str, dict[str, Any]] = {}
    for name in _SCHEMA_FILES:
        schema = json.loads((folder / name).read_text(encoding="utf-8"))
        loaded[schema.get("$id") or schema["id"]] = schema
    return loaded


def _dialect(document: Mapping[str, Any]) -> str | None:
    """The dialect of the document's Schema Objects, when this gate knows it; None if not."""
    declared = document.get("jsonSchemaDialect", _OAS_DIALECT)
    if not isinstance(declared, str):
        return None  # the meta-schema reports it
    declared = declared.rstrip("#")
    return declared if declared in (_OAS_DIALECT, _JSON_SCHEMA_2020_12) else None


@cache
def _metavalidator(version: str, dialect: str | None) -> jsonschema_rs.Validator:
    """The meta-schema of ``version``; in 3.1, with Schema Objects held to ``dialect``.

    Patterns are left to :func:`_pattern_issues`, which reads them as ECMA-262 and says why
    one is invalid, so the 3.0 meta-schema's ``format: regex`` accepts any string here.
    """
    metaschemas = _metaschemas()
    if version == "3.0":
        return jsonschema_rs.Draft4Validator(
            metaschemas[_BASE["3.0"]], formats={"regex": lambda _: True}
        )
    if dialect is None:  # an unknown dialect: the document's structure only
        return jsonschema_rs.Draft202012Validator(metaschemas[_BASE["3.1"]])
    # The official schema-base's way: the base meta-schema leaves Schema Objects to whatever
    # "$dynamicAnchor: meta" the outermost schema names; this one names the dialect.
    with_schemas = {
        "$id": _WITH_SCHEMAS,
        "$schema": _JSON_SCHEMA_2020_12,
        "$ref": _BASE["3.1"],
        "$defs": {"schema": {"$dynamicAnchor": "meta", "$ref": dialect}},
    }
    registry = jsonschema_rs.Registry(
        [(uri, schema) for uri, schema in metaschemas.items() if uri != _BASE["3.0"]]
    )
    return jsonschema_rs.Draft202012Validator(with_schemas, registry=registry)


def _meta_issues(spec: Spec) -> Iterator[Issue]:
    document = spec.document
    short_version = document["openapi"][:3]
    validator = _metavalidator(short_version, _dialect(document))
    try:
        if validator.is_valid(document):
            return
        errors = list(validator.iter_errors(document))
    except (ValueError, TypeError) as exc:  # a Spec built by hand with non-JSON data
        yield Issue("#", f"the document is not JSON data: {exc}")
        return
    seen: set[tuple[str, str]] = set()
    for error in errors:
        for problem in describe(error, _metaschemas()):
            key = (format_pointer(problem.path), problem.message)
            if key not in seen:
                seen.add(key)
                yield Issue(*key)


def _version_issue(document: Mapping[str, Any]) -> Issue | None:
    version = document.get("openapi")
    if not isinstance(version, str):
        hint = " (quote it in YAML)" if isinstance(version, int | float) else ""
        return Issue(
            "#/openapi",
            f"'openapi' must be a version string such as \"3.1.0\" (got {short(version)}){hint}",
        )
    if not _SUPPORTED.match(version):
        return Issue(
            "#/openapi",
            f"OpenAPI {version} is not supported: write the document as 3.0.x or 3.1.x",
        )
    return None


def _pattern_issues(ctx: LintContext) -> Iterator[Issue]:
    """Every ``pattern`` and ``patternProperties`` key that is not a valid ECMA-262 regex."""
    for pointer, schema in ctx.keyed["pattern"]:
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            problem = pattern_problem(pattern)
            if problem:
                yield Issue(p(pointer, "pattern"), _pattern_message(pattern, problem))
        keyed = schema.get("patternProperties")
        if isinstance(keyed, dict):
            for key in keyed:
                problem = pattern_problem(key) if isinstance(key, str) else None
                if problem:
                    yield Issue(
                        p(p(pointer, "patternProperties"), key), _pattern_message(key, problem)
                    )


def _pattern_message(pattern: str, problem: str) -> str:
    return (
        f"pattern {short(pattern, 80)} is not a valid regular expression ({PATTERN_DIALECT}): "
        f"{problem}"
    )


@rule(
    "oas3-schema",
    "error",
    "The document follows the official OpenAPI 3.0/3.1 JSON Schema.",
    structural=True,
)
def _oas3_schema(ctx: LintContext) -> Iterator[Issue]:
    version_issue = _version_issue(ctx.document)
    if version_issue is not None:
        yield version_issue
        return
    yield from _meta_issues(ctx.spec)
    yield from _pattern_issues(ctx)


@rule(
    "no-unresolved-refs",
    "error",
    "Every $ref points at something that exists.",
    structural=True,
)
def _no_unresolved_refs(ctx: LintContext) -> Iterator[Issue]:
    verdicts: dict[str, str | None] = {}
    for pointer, node in ctx.refs:
        ref = node.get("$ref")
        if not isinstance(ref, str):
            yield Issue(p(pointer, "$ref"), f"$ref must be a string (got {short(ref)})")
            continue
        if ref not in verdicts:
            verdicts[ref] = _ref_problem(ctx, ref)
        problem = verdicts[ref]
        if problem:
            yield Issue(p(pointer, "$ref"), problem)


def _ref_problem(ctx: LintContext, ref: str) -> str | None:
    if not ref.startswith("#"):
        return f"$ref {ref!r} points outside the document; load it with load_spec to inline it"
    if not ref.startswith("#/") and ref != "#":
        return None if ref[1:] in ctx.anchors else f"$ref {ref!r}: no schema has that $anchor"
    seen = {ref}
    target = lookup(ctx.document, ref)
    while isinstance(target, dict) and isinstance(target.get("$ref"), str):
        nxt = target["$ref"]
        if nxt in seen:
            return f"$ref {ref!r} is circular: it never reaches an object"
        seen.add(nxt)
        target = lookup(ctx.document, nxt) if nxt.startswith("#/") else {}
    if target is None:
        tokens = parse_pointer(ref, uri_fragment=True) if ref.startswith("#/") else []
        found = _deepest(ctx.document, tokens)
        hint = ""
        if isinstance(found[1], dict) and found[0] < len(tokens):
            close = difflib.get_close_matches(tokens[found[0]], [str(k) for k in found[1]], n=1)
            if close:
                hint = f"; did you mean {format_pointer([*tokens[: found[0]], close[0]])!r}?"
        return f"$ref {ref!r} does not resolve{hint}"
    return None


def _deepest(document: Any, tokens: list[str]) -> tuple[int, Any]:
    node = document
    for index, token in enumerate(tokens):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return index, node
    return len(tokens), node


@rule(
    "no-duplicate-keys",
    "error",
    "A YAML mapping does not repeat a key (the last one silently wins).",
    structural=True,
)
def _no_duplicate_keys(ctx: LintContext) -> Iterator[Issue]:
    for where, key in ctx.spec.duplicate_keys:
        yield Issue(f"@{where}", f"key {key!r} appears twice in the same mapping; keep one")

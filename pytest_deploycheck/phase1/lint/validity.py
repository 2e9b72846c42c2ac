"""Structural validity: the official meta-schema, resolvable references, unique keys.

The document is checked against the official OpenAPI 3.0 or 3.1 JSON Schema with
``jsonschema_rs`` (which is fast), and what fails is explained in plain words; every ``$ref``
must resolve, and no YAML mapping may repeat a key. These are the structural rules that
``validate_document`` runs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs

from pytest_deploycheck.core.spec import Spec, format_pointer, parse_pointer

from .context import LintContext, lookup, p
from .registry import Issue, rule
from .schema_errors import describe, short

_SUPPORTED = re.compile(r"^3\.[01]\.\d+(-.+)?$")


@cache
def _metaschema(version: str) -> dict[str, Any]:
    resource = files("pytest_deploycheck") / "schemas" / "openapi" / f"oas-{version}.schema.json"
    loaded: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return loaded


@cache
def _metavalidator(version: str) -> jsonschema_rs.Validator:
    if version == "3.0":
        return jsonschema_rs.Draft4Validator(_metaschema(version))
    return jsonschema_rs.Draft202012Validator(_metaschema(version))


def _meta_issues(spec: Spec) -> Iterator[Issue]:
    document = spec.document
    version = document.get("openapi")
    if not isinstance(version, str):
        hint = " (quote it in YAML)" if isinstance(version, int | float) else ""
        yield Issue(
            "#/openapi",
            f"'openapi' must be a version string such as \"3.1.0\" (got {short(version)}){hint}",
        )
        return
    if not _SUPPORTED.match(version):
        yield Issue(
            "#/openapi",
            f"OpenAPI {version} is not supported: write the document as 3.0.x or 3.1.x",
        )
        return
    short_version = version[:3]
    validator = _metavalidator(short_version)
    try:
        if validator.is_valid(document):
            return
        errors = list(validator.iter_errors(document))
    except (ValueError, TypeError) as exc:  # a Spec built by hand with non-JSON data
        yield Issue("#", f"the document is not JSON data: {exc}")
        return
    metaschema = _metaschema(short_version)
    seen: set[tuple[str, str]] = set()
    for error in errors:
        for problem in describe(error, metaschema):
            key = (format_pointer(problem.path), problem.message)
            if key not in seen:
                seen.add(key)
                yield Issue(*key)


@rule(
    "oas3-schema",
    "error",
    "The document follows the official OpenAPI 3.0/3.1 JSON Schema.",
    structural=True,
)
def _oas3_schema(ctx: LintContext) -> Iterator[Issue]:
    return _meta_issues(ctx.spec)


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

"""Lint rules on examples: each example value (and default) is valid against its schema.

The schemas that examples need are copied, converted where needed (3.0's ``nullable``), into
one sparse resource, and all examples are checked at once against it with ``jsonschema_rs``.
``pattern`` and ``format: regex`` are read as ECMA-262 with the ``u`` flag, as validity reads
them (``core.patterns``): a pattern invalid there constrains nothing here, and one that
jsonschema_rs cannot compile is still matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import jsonschema_rs

from pytest_deploycheck.core.patterns import pattern_problem, search
from pytest_deploycheck.core.spec import format_pointer, parse_pointer

from .context import ExampleSite, LintContext, lookup
from .indexer import SCHEMA_MANY, SCHEMA_MAP, SCHEMA_ONE
from .registry import Issue, rule
from .schema_errors import Problem, describe, short

_RESOURCE = "urn:deploycheck:openapi"  # the base URI examples' schemas are resolved against
_SLOTS = "x-deploycheck-example-schemas"  # where example schemas sit in that resource


class _EcmaPattern:
    """The ``pattern`` keyword, matched as ECMA-262 with the ``u`` flag.

    An invalid pattern constrains nothing here: validity reports it, and the example is
    still checked against the rest of its schema.
    """

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[Any]) -> None:
        valid = isinstance(value, str) and pattern_problem(value) is None
        self.pattern: str | None = value if valid else None

    def validate(self, instance: Any) -> None:
        if (
            self.pattern is not None
            and isinstance(instance, str)
            and not search(self.pattern, instance)
        ):
            raise ValueError(
                f"{short(instance)} does not match the pattern {short(self.pattern, 80)}"
            )


def _is_regex(value: str) -> bool:
    return pattern_problem(value) is None


def _convert_30(node: Any, refs: list[str]) -> Any:
    """An OpenAPI 3.0 schema as draft-4 JSON Schema: nullable becomes a null type."""
    if isinstance(node, list):
        return [_convert_30(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        refs.append(ref)
        return {"$ref": ref}  # siblings of $ref are ignored in 3.0
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in SCHEMA_ONE or key in SCHEMA_MANY:
            out[key] = _convert_30(value, refs)
        elif key in SCHEMA_MAP and isinstance(value, dict):
            out[key] = {name: _convert_30(sub, refs) for name, sub in value.items()}
        else:
            out[key] = value
    if out.get("nullable") is True:
        declared = out.get("type")
        if isinstance(declared, str):
            out["type"] = [declared, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif declared is None:
            return {"anyOf": [{"type": "null"}, out]}
    return out


def _collect_refs_31(node: Any, refs: list[str]) -> Any:
    if isinstance(node, list):
        for item in node:
            _collect_refs_31(item, refs)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            refs.append(ref)
        for key, value in node.items():
            if key in SCHEMA_ONE or key in SCHEMA_MANY:
                _collect_refs_31(value, refs)
            elif key in SCHEMA_MAP and isinstance(value, dict):
                for sub in value.values():
                    _collect_refs_31(sub, refs)
    return node


def _schema_resource(ctx: LintContext, pointers: Iterable[str]) -> dict[str, Any]:
    """A sparse copy of the document with only the schemas that examples need, at their places.

    Refs inside keep working because every schema sits at its original pointer.
    """
    resource: dict[str, Any] = {}
    placed: set[tuple[str, ...]] = set()
    queue = list(pointers)
    seen: set[str] = set()
    convert = _convert_30 if ctx.version == "3.0" else _collect_refs_31
    while queue:
        pointer = queue.pop()
        if pointer in seen or not pointer.startswith("#/"):
            continue
        seen.add(pointer)
        tokens = tuple(parse_pointer(pointer, uri_fragment=True))
        if any(tokens[:n] in placed for n in range(1, len(tokens) + 1)):
            continue
        node = lookup(ctx.document, pointer)
        if node is None:
            continue
        refs: list[str] = []
        converted = convert(node, refs)
        holder = resource
        for token in tokens[:-1]:
            nxt = holder.get(token)
            if not isinstance(nxt, dict):
                nxt = holder[token] = {}
            holder = nxt
        holder[tokens[-1]] = converted
        placed.add(tokens)
        queue.extend(refs)
    return resource


_UNSAFE_IN_FRAGMENT = re.compile(r"[^A-Za-z0-9/~!$&'()*+,;=:@\-._]+")


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def _example_results(ctx: LintContext) -> dict[int, str | list[Problem]]:
    """What is wrong with each example (by index in ``ctx.examples``); valid ones are absent.

    A schema that is only a ``$ref`` is checked as its target. Other schemas are converted
    standalone into a slot of one shared resource, so that converting a parent (3.0
    ``nullable`` may wrap it) never moves them. All examples are then checked at once, as the
    items of one array against one compiled schema, so that every referenced component is
    compiled once; only when that fails (a schema that does not compile, a value that is not
    JSON) are the examples checked one by one to find the culprit.
    """
    if ctx._example_results is not None:
        return ctx._example_results
    convert = _convert_30 if ctx.is_30 else _collect_refs_31
    keys: dict[str, str] = {}  # schema pointer -> its place in the resource
    slots: list[Any] = []
    targets: list[str] = []
    for site in ctx.examples:
        if site.schema_pointer in keys:
            continue
        node = lookup(ctx.document, site.schema_pointer)
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and (ctx.is_30 or len(node) == 1):
            keys[site.schema_pointer] = ref
            targets.append(ref)
        else:
            keys[site.schema_pointer] = f"#/{_SLOTS}/{len(slots)}"
            slots.append(convert(node, targets))
    checked = [i for i, site in enumerate(ctx.examples) if site.schema_pointer in keys]
    results: dict[int, str | list[Problem]] = {}
    ctx._example_results = results
    if not checked:
        return results
    resource = _schema_resource(ctx, targets)
    resource[_SLOTS] = {str(index): schema for index, schema in enumerate(slots)}
    draft = jsonschema_rs.Draft4 if ctx.is_30 else jsonschema_rs.Draft202012
    try:
        registry = jsonschema_rs.Registry([(_RESOURCE, resource)], draft=draft)
    except ValueError:  # a value JSON cannot hold (bytes, a set) in a hand-built document
        resource = json.loads(json.dumps(resource, default=str))
        registry = jsonschema_rs.Registry([(_RESOURCE, resource)], draft=draft)

    def compile_(schema: dict[str, Any]) -> jsonschema_rs.Validator:
        cls = jsonschema_rs.Draft4Validator if ctx.is_30 else jsonschema_rs.Draft202012Validator
        return cls(
            schema,
            registry=registry,
            validate_formats=True,
            formats={"regex": _is_regex},
            keywords={"pattern": _EcmaPattern},
        )

    def reference(index: int) -> dict[str, str]:
        key = keys[ctx.examples[index].schema_pointer]
        return {"$ref": f"{_RESOURCE}#{_UNSAFE_IN_FRAGMENT.sub(_percent, key[1:])}"}

    values = [ctx.examples[i].value for i in checked]
    items = [reference(i) for i in checked]
    try:
        together = compile_({"type": "array", "items" if ctx.is_30 else "prefixItems": items})
        if together.is_valid(values):
            return results
        for error in together.iter_errors(values):
            if error.instance_path:
                at = checked[int(error.instance_path[0])]
                problems = results.setdefault(at, [])
                if isinstance(problems, list):
                    problems.extend(Problem(p.path[1:], p.message) for p in describe(error))
        return results
    except (ValueError, TypeError, jsonschema_rs.ReferencingError):
        results.clear()
    compiled: dict[str, jsonschema_rs.Validator | str] = {}
    for index in checked:
        key = keys[ctx.examples[index].schema_pointer]
        if key not in compiled:
            try:
                compiled[key] = compile_(reference(index))
            except (ValueError, jsonschema_rs.ReferencingError) as exc:
                compiled[key] = f"its schema is invalid: {_schema_problem(exc)}"
        validator = compiled[key]
        what = _what(ctx.examples[index])
        if isinstance(validator, str):
            results[index] = f"cannot check this {what}: {validator.splitlines()[0]}"
            continue
        value = ctx.examples[index].value
        try:
            if not validator.is_valid(value):
                results[index] = [p for e in validator.iter_errors(value) for p in describe(e)]
        except (ValueError, TypeError) as exc:
            results[index] = f"this {what} is not JSON data: {exc}"
    return results


def _schema_problem(exc: Exception) -> str:
    """Why a schema does not compile; jsonschema_rs's message quotes the whole bad part."""
    if isinstance(exc, jsonschema_rs.ValidationError):
        problems = describe(exc)
        if problems:
            return problems[0].message
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _what(site: ExampleSite) -> str:
    return "default" if site.is_default else "example"


def _example_issues(ctx: LintContext, kind: str) -> Iterator[Issue]:
    if not any(site.kind == kind for site in ctx.examples):
        return
    results = _example_results(ctx)
    for index, site in enumerate(ctx.examples):
        result = results.get(index)
        if site.kind != kind or not result:
            continue
        if isinstance(result, str):
            yield Issue(site.pointer, result)
            continue
        first = result[0]
        where = f" at {format_pointer(first.path)[1:]}" if first.path else ""
        more = f" (and {len(result) - 1} more)" if len(result) > 1 else ""
        message = f"{_what(site)} does not match its schema{where}: {first.message}{more}"
        yield Issue(site.pointer, message)


@rule(
    "oas3-valid-media-example",
    "error",
    "Examples of media types, parameters and headers are valid against their schema.",
)
def _valid_media_example(ctx: LintContext) -> Iterator[Issue]:
    return _example_issues(ctx, "media")


@rule(
    "oas3-valid-schema-example",
    "error",
    "A schema's example, examples and default are valid against the schema.",
)
def _valid_schema_example(ctx: LintContext) -> Iterator[Issue]:
    return _example_issues(ctx, "schema")

"""Lint rules on references and reusable components.

Nothing sits next to a ``$ref`` in 3.0, every component is referenced, and Example objects
have a value or an externalValue.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_deploycheck.core.spec import parse_pointer

from .context import LintContext, p
from .registry import Issue, rule

_COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)


@rule(
    "no-$ref-siblings",
    "error",
    "In OpenAPI 3.0, nothing sits next to a $ref (it would be ignored).",
)
def _ref_siblings(ctx: LintContext) -> Iterator[Issue]:
    if ctx.version != "3.0":
        return
    for pointer, node in ctx.refs:
        for key in node:
            if key != "$ref":
                yield Issue(
                    p(pointer, key),
                    f"{key!r} next to $ref is ignored in OpenAPI 3.0; move it into the "
                    "referenced object or wrap the $ref in allOf",
                )


@rule(
    "oas3-unused-component",
    "warning",
    "Every reusable component is referenced (from paths, webhooks, x-webhooks or components).",
)
def _unused_component(ctx: LintContext) -> Iterator[Issue]:
    components = ctx.document.get("components")
    if not isinstance(components, dict):
        return
    used: set[tuple[str, str]] = set()
    refs = [node.get("$ref") for _, node in ctx.refs]
    for ref in [*refs, *ctx.mapping_refs, *ctx.extension_refs]:
        if isinstance(ref, str) and ref.startswith("#/components/"):
            tokens = parse_pointer(ref, uri_fragment=True)
            if len(tokens) >= 3:
                used.add((tokens[1], tokens[2]))
    for kind in _COMPONENT_KINDS:
        if kind == "securitySchemes":
            continue  # used by name in security requirements, not by $ref
        entries = components.get(kind)
        if isinstance(entries, dict):
            for name in entries:
                if (kind, name) not in used:
                    yield Issue(
                        p(f"#/components/{kind}", name),
                        f"components.{kind}.{name} is never referenced; use it or remove it",
                    )


@rule(
    "oas3-examples-value-or-externalValue",
    "warning",
    "Example objects have a value or an externalValue, not both.",
)
def _example_value(ctx: LintContext) -> Iterator[Issue]:
    for pointer, example in ctx.example_objects:
        has_value, has_external = "value" in example, "externalValue" in example
        if has_value == has_external:
            if has_value:
                message = "this example has both 'value' and 'externalValue'; keep one"
            else:
                message = "this example has neither 'value' nor 'externalValue'; add one"
            yield Issue(pointer, message)

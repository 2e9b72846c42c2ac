"""Lint rules on links: valid runtime expressions, and an existing target operation."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from pytest_deploycheck.core.spec import format_pointer, parse_pointer

from .context import LintContext, OperationInfo, p
from .registry import Issue, rule

_EXPRESSION = re.compile(
    r"^\$(url|method|statusCode|(request|response)\.(header\.[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    r"|query\.[^\s{}]+|path\.[^\s{}]+|body(#(/([^/~]|~[01])*)*)?))$"
)


def _expressions(value: Any) -> Iterator[str]:
    """Runtime expressions in a link value: a whole ``$...`` string or embedded ``{$...}``."""
    if isinstance(value, str):
        if value.startswith("$"):
            yield value
        else:
            yield from re.findall(r"{(\$[^{}]*)}", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


@rule(
    "oas3-links-parameters-expression",
    "error",
    "Link parameters and request bodies use valid runtime expressions.",
)
def _link_expressions(ctx: LintContext) -> Iterator[Issue]:
    for pointer, link in ctx.links:
        parameters = link.get("parameters")
        values: list[tuple[str, Any]] = []
        if isinstance(parameters, dict):
            values = [(p(p(pointer, "parameters"), k), v) for k, v in parameters.items()]
        if "requestBody" in link:
            values.append((p(pointer, "requestBody"), link["requestBody"]))
        for at, value in values:
            for expression in _expressions(value):
                if not _EXPRESSION.match(expression):
                    yield Issue(
                        at,
                        f"{expression!r} is not a runtime expression; use $url, $method, "
                        "$statusCode, $request.path.<name>, $response.body#/<pointer>, ...",
                    )


@rule(
    "link-operation-defined",
    "error",
    "Links name an existing operation, and parameters it declares.",
)
def _link_operation(ctx: LintContext) -> Iterator[Issue]:
    by_id = {
        op.node.get("operationId"): op
        for op in ctx.operations
        if isinstance(op.node.get("operationId"), str)
    }
    by_pointer = {op.pointer: op for op in ctx.operations}
    for pointer, link in ctx.links:
        operation_id, operation_ref = link.get("operationId"), link.get("operationRef")
        target: OperationInfo | None = None
        if isinstance(operation_id, str):
            target = by_id.get(operation_id)
            if target is None:
                close = difflib.get_close_matches(operation_id, [str(k) for k in by_id], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                yield Issue(
                    p(pointer, "operationId"),
                    f"link to operationId {operation_id!r}, which no operation has{hint}",
                )
                continue
        elif isinstance(operation_ref, str):
            if operation_ref.startswith("#/"):
                normal = format_pointer(parse_pointer(operation_ref, uri_fragment=True))
                target = by_pointer.get(normal)
                if target is None:
                    yield Issue(
                        p(pointer, "operationRef"),
                        f"operationRef {operation_ref!r} does not point at an operation",
                    )
                    continue
        else:
            yield Issue(pointer, "a link needs an operationId or an operationRef")
            continue
        parameters = link.get("parameters")
        if target is None or not isinstance(parameters, dict):
            continue
        known = {(str(p.get("in")), str(p.get("name"))) for _, p in target.parameters}
        for name in parameters:
            where, _, bare = str(name).rpartition(".")
            if where in ("path", "query", "header", "cookie"):
                ok = (where, bare) in known
            else:
                ok = any(n == name for _, n in known)
            if not ok:
                yield Issue(
                    p(p(pointer, "parameters"), name),
                    f"{target.label} has no parameter {name!r}",
                )

"""Lint rules on operations: operationIds, descriptions, tags, responses, security.

Operations of callbacks are left out of the rules on the API's own operations. The rules on
security requirements, and on parameters' descriptions, are here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .context import LintContext, OperationInfo, blank, p
from .metadata import tags as top_level_tags
from .registry import Issue, rule


def _api_operations(ctx: LintContext) -> Iterator[OperationInfo]:
    return (op for op in ctx.operations if op.kind != "callback")


@rule("operation-operationId", "warning", "Every operation has an operationId.")
def _operation_id(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if blank(operation.node.get("operationId")):
            yield Issue(
                operation.pointer,
                f"{operation.label}: add an operationId; clients, links and reports use it",
            )


@rule("operation-operationId-unique", "error", "No two operations share an operationId.")
def _operation_id_unique(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    for operation in _api_operations(ctx):
        operation_id = operation.node.get("operationId")
        if isinstance(operation_id, str):
            if operation_id in seen:
                yield Issue(
                    p(operation.pointer, "operationId"),
                    f"operationId {operation_id!r} is also used by {seen[operation_id]}; "
                    "make it unique",
                )
            else:
                seen[operation_id] = operation.label


_URL_SAFE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*$")


@rule(
    "operation-operationId-valid-in-url",
    "warning",
    "operationIds contain only characters that are valid in a URL.",
)
def _operation_id_url(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        operation_id = operation.node.get("operationId")
        if isinstance(operation_id, str) and not _URL_SAFE.match(operation_id):
            yield Issue(
                p(operation.pointer, "operationId"),
                f"operationId {operation_id!r} has characters that are not valid in a URL; "
                "use letters, digits, '-', '_' and '.'",
            )


@rule("operation-description", "warning", "Every operation has a non-empty description.")
def _operation_description(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if blank(operation.node.get("description")):
            yield Issue(operation.pointer, f"{operation.label}: add a description")


@rule("operation-summary", "warning", "Every operation has a non-empty summary.")
def _operation_summary(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if blank(operation.node.get("summary")):
            yield Issue(operation.pointer, f"{operation.label}: add a one-line summary")


@rule("operation-tags", "warning", "Every operation has a non-empty tags list.")
def _operation_tags(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if not isinstance(tags, list) or not tags:
            yield Issue(operation.pointer, f"{operation.label}: add tags to group it")


@rule("operation-singular-tag", "off", "Every operation has at most one tag.")
def _operation_singular_tag(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if isinstance(tags, list) and len(tags) > 1:
            yield Issue(p(operation.pointer, "tags"), f"{operation.label}: keep a single tag")


@rule("operation-tag-defined", "warning", "Operation tags are defined in the top-level tags.")
def _operation_tag_defined(ctx: LintContext) -> Iterator[Issue]:
    defined = {name for _, tag in top_level_tags(ctx) if isinstance(name := tag.get("name"), str)}
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if isinstance(tags, list):
            for index, tag in enumerate(tags):
                # a tag that is not a string is the meta-schema's to report
                if isinstance(tag, str) and tag not in defined:
                    yield Issue(
                        f"{operation.pointer}/tags/{index}",
                        f"tag {tag!r} is not defined; add it to the top-level 'tags' list",
                    )


def _responses(operation: OperationInfo) -> list[str]:
    responses = operation.node.get("responses")
    return [str(code) for code in responses] if isinstance(responses, dict) else []


@rule(
    "operation-success-response",
    "warning",
    "Every operation has at least one 2xx or 3xx response.",
)
def _operation_success(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        codes = _responses(operation)
        if not any(code[:1] in ("2", "3") for code in codes):
            yield Issue(
                p(operation.pointer, "responses"),
                f"{operation.label}: add a 2xx or 3xx response",
            )


@rule("operation-4xx-response", "warning", "Every operation has at least one 4xx response.")
def _operation_4xx(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if operation.kind != "path":
            continue
        if not any(code[:1] == "4" for code in _responses(operation)):
            yield Issue(
                p(operation.pointer, "responses"),
                f"{operation.label}: describe at least one 4xx response (such as 400 or 404)",
            )


@rule(
    "oas3-operation-security-defined",
    "warning",
    "Security requirements name schemes defined in components.securitySchemes.",
)
def _security_names(ctx: LintContext) -> Iterator[Issue]:
    components = ctx.document.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    schemes = schemes if isinstance(schemes, dict) else {}
    for pointer, requirement in ctx.security:
        for name, scopes in requirement.items():
            scheme = ctx.resolve(schemes.get(name))
            if not isinstance(scheme, dict):
                yield Issue(
                    p(pointer, name),
                    f"security scheme {name!r} is not defined in components.securitySchemes",
                )
            elif scheme.get("type") == "oauth2" and isinstance(scopes, list):
                flows = scheme.get("flows")
                known = {
                    scope
                    for flow in (flows.values() if isinstance(flows, dict) else ())
                    if isinstance(flow, dict) and isinstance(flow.get("scopes"), dict)
                    for scope in flow["scopes"]
                }
                for index, scope in enumerate(scopes):
                    # a scope that is not a string is the meta-schema's to report
                    if isinstance(scope, str) and scope not in known:
                        yield Issue(
                            f"{p(pointer, name)}/{index}",
                            f"scope {scope!r} is not defined by any flow of {name!r}",
                        )


@rule(
    "security-defined",
    "warning",
    "Every operation declares its security, itself or at the top level ('security: []' for "
    "public ones).",
)
def _security_defined(ctx: LintContext) -> Iterator[Issue]:
    if "security" in ctx.document:
        return
    for operation in _api_operations(ctx):
        if operation.kind == "path" and "security" not in operation.node:
            yield Issue(
                operation.pointer,
                f"{operation.label}: declare who may call it: add 'security' (or "
                "'security: []' if it is public), or a top-level 'security'",
            )


@rule("oas3-parameter-description", "off", "Every parameter has a description.")
def _parameter_description(ctx: LintContext) -> Iterator[Issue]:
    for pointer, parameter in ctx.parameters:
        if blank(parameter.get("description")):
            yield Issue(pointer, f"add a description to parameter {parameter.get('name')!r}")

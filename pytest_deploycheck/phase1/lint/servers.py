"""Lint rules on servers, and on servers and callbacks where they are not wanted.

Server URLs, their variables, and the places the indexer marks as misplaced
(``LintContext.misplaced``): servers or callbacks in a webhook, callbacks in a callback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from .context import LintContext, p
from .registry import Issue, rule
from .schema_errors import short


@rule("oas3-api-servers", "warning", "The document has a non-empty servers list.")
def _oas3_api_servers(ctx: LintContext) -> Iterator[Issue]:
    servers = ctx.document.get("servers")
    if not isinstance(servers, list) or not servers:
        yield Issue("#", "add a top-level 'servers' list with the API's base URL(s)")


def _server_urls(ctx: LintContext) -> Iterator[tuple[str, str]]:
    for pointer, server, _ in ctx.servers:
        url = server.get("url")
        if isinstance(url, str):
            yield pointer, url


@rule("no-server-example.com", "warning", "Server URLs do not point at example.com.")
def _no_server_example(ctx: LintContext) -> Iterator[Issue]:
    for pointer, url in _server_urls(ctx):
        host = (urlsplit(url).hostname or "") if "//" in url else ""
        if re.search(r"(^|\.)example\.(com|org|net)$", host):
            yield Issue(p(pointer, "url"), f"server {url!r} is a placeholder; use the real URL")


@rule("no-server-trailing-slash", "warning", "Server URLs do not end with a slash.")
def _no_server_trailing_slash(ctx: LintContext) -> Iterator[Issue]:
    for pointer, url in _server_urls(ctx):
        if len(url) > 1 and url.endswith("/"):
            yield Issue(
                p(pointer, "url"),
                f"server {url!r} ends with '/', which doubles the slash before every path; "
                "remove it",
            )


@rule(
    "oas3-server-variables",
    "error",
    "Server URL variables are defined, used, and have a default within their enum.",
)
def _oas3_server_variables(ctx: LintContext) -> Iterator[Issue]:
    for pointer, server in ((at, s) for at, s, _ in ctx.servers):
        url = server.get("url")
        if not isinstance(url, str):
            continue
        used = re.findall(r"{([^{}]*)}", url)
        variables = server.get("variables")
        defined = variables if isinstance(variables, dict) else {}
        for name in used:
            if name not in defined:
                yield Issue(
                    p(pointer, "url"),
                    f"server URL uses {{{name}}} but 'variables' does not define {name!r}",
                )
        for name, variable in defined.items():
            at = p(p(pointer, "variables"), name)
            if name not in used:
                yield Issue(at, f"server variable {name!r} is not used in the URL {url!r}")
            if not isinstance(variable, dict):
                continue
            enum = variable.get("enum")
            if isinstance(enum, list):
                if not enum:
                    yield Issue(p(at, "enum"), f"server variable {name!r} has an empty enum")
                elif "default" in variable and variable["default"] not in enum:
                    yield Issue(
                        p(at, "default"),
                        f"default {short(variable['default'])} of server variable {name!r} "
                        "is not in its enum",
                    )
            if "default" not in variable:
                yield Issue(at, f"give server variable {name!r} a default")


@rule("oas3_1-servers-in-webhook", "warning", "Webhooks do not define servers.")
def _servers_in_webhook(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3_1-servers-in-webhook":
            yield Issue(pointer, "remove 'servers': a webhook is called by the API")


@rule("oas3_1-callbacks-in-webhook", "warning", "Webhooks do not define callbacks.")
def _callbacks_in_webhook(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3_1-callbacks-in-webhook":
            yield Issue(pointer, "remove 'callbacks' from the webhook")


@rule("oas3-callbacks-in-callbacks", "warning", "Callbacks do not define callbacks.")
def _callbacks_in_callbacks(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3-callbacks-in-callbacks":
            yield Issue(pointer, "remove 'callbacks' nested in a callback")

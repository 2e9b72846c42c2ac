"""Reading an OpenAPI document for the diff, each part with its JSON pointer.

Operations by path template, ``$ref`` following, and the parameters, media types, responses
and headers of an operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pytest_deploycheck.core.errors import SpecError
from pytest_deploycheck.core.spec import Operation, Spec, resolve_pointer

_TEMPLATE = re.compile(r"\{[^}/]*\}")


def _operations_by_template(spec: Spec) -> dict[tuple[str, str], Operation]:
    return {(op.method, _TEMPLATE.sub("{}", op.path)): op for op in spec.operations}


def _path_names(path: str) -> list[str]:
    return [name[1:-1] for name in _TEMPLATE.findall(path)]


def _follow(spec: Spec, node: Any, pointer: str) -> tuple[Any, str]:
    """Follow ``$ref`` from ``node``; the pointer becomes that of the target."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise SpecError(f"{spec.name}: circular $ref {ref!r}")
        seen.add(ref)
        node = resolve_pointer(spec.document, ref, spec.name)
        pointer = ref
    return node, pointer


def _escape(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _parameters(spec: Spec, op: Operation) -> dict[tuple[str, str], tuple[Mapping[str, Any], str]]:
    """Parameters by (location, name), with the JSON pointer of each, the operation's winning."""
    item_pointer = op.pointer.rsplit("/", 1)[0]
    item, item_pointer = _follow(
        spec, (spec.document.get("paths") or {}).get(op.path), item_pointer
    )
    merged: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    for owner, pointer in ((item, item_pointer), (op.definition, op.pointer)):
        listed = owner.get("parameters") if isinstance(owner, Mapping) else None
        for index, raw in enumerate(listed if isinstance(listed, list) else []):
            param, param_pointer = _follow(spec, raw, f"{pointer}/parameters/{index}")
            if not isinstance(param, Mapping):
                continue
            name, where = param.get("name"), param.get("in")
            if isinstance(name, str) and isinstance(where, str):
                # Header names are case-insensitive.
                merged[(where, name.lower() if where == "header" else name)] = (
                    param,
                    param_pointer,
                )
    return merged


def _parameter_required(param: Mapping[str, Any]) -> bool:
    return param.get("in") == "path" or param.get("required") is True


def _parameter_schema(param: Mapping[str, Any], pointer: str) -> tuple[Any, str] | None:
    """The schema of a parameter or header: ``schema``, else that of its one media type."""
    if isinstance(param.get("schema"), Mapping):
        return param["schema"], f"{pointer}/schema"
    content = param.get("content")
    if isinstance(content, Mapping):
        for media, body in content.items():
            if isinstance(body, Mapping) and isinstance(body.get("schema"), Mapping):
                return body["schema"], f"{pointer}/content/{_escape(media)}/schema"
    return None


def _content(owner: Mapping[str, Any], pointer: str) -> dict[str, tuple[str, Any, str]]:
    """Media types by normalised name: (name as written, (schema, pointer) or None, pointer)."""
    found: dict[str, tuple[str, Any, str]] = {}
    content = owner.get("content")
    for name, body in content.items() if isinstance(content, Mapping) else ():
        media_pointer = f"{pointer}/content/{_escape(name)}"
        schema = body.get("schema") if isinstance(body, Mapping) else None
        entry = (schema, f"{media_pointer}/schema") if isinstance(schema, Mapping) else None
        normalised = str(name).split(";", 1)[0].strip().lower()
        found[normalised] = (str(name), entry, media_pointer)
    return found


def _responses(spec: Spec, op: Operation) -> dict[str, tuple[Mapping[str, Any], str]]:
    raw = op.definition.get("responses")
    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    for status, response in raw.items() if isinstance(raw, Mapping) else ():
        key = str(status).upper() if str(status).lower() != "default" else "default"
        target, pointer = _follow(spec, response, f"{op.pointer}/responses/{_escape(status)}")
        if isinstance(target, Mapping):
            found[key] = (target, pointer)
    return found


def _headers(
    spec: Spec, response: Mapping[str, Any], pointer: str
) -> dict[str, tuple[str, Mapping[str, Any], str]]:
    headers = response.get("headers")
    found: dict[str, tuple[str, Mapping[str, Any], str]] = {}
    for name, raw in headers.items() if isinstance(headers, Mapping) else ():
        header, header_pointer = _follow(spec, raw, f"{pointer}/headers/{_escape(name)}")
        if isinstance(header, Mapping):
            found[str(name).lower()] = (str(name), header, header_pointer)
    return found

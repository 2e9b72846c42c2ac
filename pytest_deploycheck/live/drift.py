"""Drift: the spec the service serves against the spec in the repository.

``check_drift`` fetches the served document (the configured path, or the usual ones) and
``compare_specs`` compares it with the repository's, semantically: references are inlined,
key order, ``servers``, ``info`` and annotations (descriptions, titles, examples, ``x-``
extensions) are ignored, and ``required``/``enum``/``type`` lists compare as sets. Each
difference in operations, parameters, request bodies, responses or security is a finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import yaml

from pytest_deploycheck.core.bounds import (
    BodyTooDeep,
    BoundExceeded,
    Bounds,
    bounded_client,
    check_depth,
    describe_error,
    load_json,
)
from pytest_deploycheck.core.errors import SpecError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.spec import HTTP_METHODS, Spec, resolve_pointer

__all__ = ["DEFAULT_PATHS", "check_drift", "compare_specs", "fetch_served_spec", "normalize"]

DEFAULT_PATHS = ("/openapi.json", "/openapi.yaml", "/docs/openapi.json")
_ANNOTATIONS = frozenset(
    {"description", "summary", "title", "example", "examples", "externalDocs", "$comment", "xml"}
)
_SET_KEYS = frozenset({"required", "enum", "type"})
_MAX_SCHEMA_DIFFERENCES = 5
_TEMPLATE = re.compile(r"\{[^}/]*\}")


def check_drift(
    served: str | httpx.Client,
    repo_spec: Spec,
    section: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    verify: bool | str = True,
    redactor: Redactor | None = None,
    bounds: Bounds | None = None,
) -> list[Finding]:
    """Compare the spec served by the target (a base URL or a bound client) with the repo's.

    A service that serves no spec yields an info finding, or an error with ``required``; one
    that redirects instead (redirects are not followed unless ``target.max_redirects`` says
    so), answers more than ``target.max_body`` or a document nested too deep, an error.
    Secrets (``redactor``'s, by default the credentials of the headers) are masked in both
    documents before they are compared, so no finding can quote one, even in part.
    """
    if isinstance(served, httpx.Client):
        masker = redactor or Redactor.for_headers(served.headers.items())
        return _check(served, repo_spec, section, masker)
    limits = bounds or Bounds(timeout=timeout)
    with bounded_client(served, limits, headers=headers, verify=verify) as client:
        masker = redactor or Redactor.for_headers(client.headers.items())
        return _check(client, repo_spec, section, masker)


def _check(
    client: httpx.Client,
    repo_spec: Spec,
    section: Mapping[str, Any],
    redactor: Redactor,
) -> list[Finding]:
    severity = Severity(section.get("severity", "error"))
    paths = [section["path"]] if section.get("path") else list(DEFAULT_PATHS)
    redirects: list[str] = []
    try:
        found = fetch_served_spec(client, paths, redirects=redirects)
    except (httpx.HTTPError, BodyTooDeep) as exc:
        rule = "drift-unreadable" if isinstance(exc, BoundExceeded) else "drift-unreachable"
        message = f"cannot fetch the served spec from {client.base_url}: {describe_error(exc)}"
        return [Finding(rule, redactor.redact(message), location="drift")]
    if found is None and redirects:
        message = (
            f"the served spec was not read: {'; '.join(redirects)}; redirects are followed "
            "only up to target.max_redirects (none by default). Set drift.path to where the "
            "spec is served, or follow redirects with target.max_redirects"
        )
        return [Finding("drift-redirect", redactor.redact(message), severity, "drift")]
    if found is None:
        tried = ", ".join(paths)
        if section.get("required", False):
            message = (
                f"the service serves no OpenAPI document (tried {tried}); drift.required is set"
            )
            return [Finding("drift-not-served", message, location="drift")]
        message = (
            f"the service serves no OpenAPI document (tried {tried}); nothing to compare. "
            "Set drift.path if it serves one elsewhere"
        )
        return [Finding("drift-not-served", message, Severity.INFO, "drift")]
    path, document = found
    ours, theirs = repo_spec.document, document
    if redactor.secrets:
        # masked first: the differences quote paths and values, shortened to 60 characters
        ours, theirs = _masked(ours, redactor), _masked(theirs, redactor)
    findings = compare_specs(ours, theirs, served_at=redactor.redact(path))
    return [
        Finding(f.rule, f.message, severity, f.location).redacted(redactor.redact) for f in findings
    ]


def _masked(node: Any, redactor: Redactor) -> Any:
    """A copy of a JSON document with secrets masked in every key and string."""
    if isinstance(node, str):
        return redactor.redact(node)
    if isinstance(node, Mapping):
        return {
            redactor.redact(key) if isinstance(key, str) else key: _masked(item, redactor)
            for key, item in node.items()
        }
    if isinstance(node, list):
        return [_masked(item, redactor) for item in node]
    return node


def fetch_served_spec(
    client: httpx.Client, paths: list[str], *, redirects: list[str] | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The first of ``paths`` that answers 200 with an OpenAPI document, and that document.

    Each redirect met on the way is described into ``redirects``. Raises httpx.HTTPError
    when the service cannot be reached at all or breaks the target's bounds, and
    :class:`BodyTooDeep` for a document nested too deep to compare.
    """
    for path in paths:
        response = client.get(path)
        if 300 <= response.status_code < 400 and redirects is not None:
            location = response.headers.get("location", "nowhere")
            redirects.append(f"{path} answered {response.status_code}, a redirect to {location}")
        if response.status_code != 200:
            continue
        document = _parse(response.text, path, response.headers.get("content-type", ""))
        if isinstance(document, dict) and ("openapi" in document or "swagger" in document):
            return path, document
    return None


# libyaml's loader when PyYAML was built with it: the pure-Python one takes seconds a MiB
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, path: str, content_type: str) -> Any:
    """The document in ``text``, None when it is neither JSON nor YAML; raises BodyTooDeep
    for one nested deeper than the comparison walks."""
    text = text.removeprefix("\ufeff")  # a byte order mark, as some .NET services send
    try:
        if "yaml" in content_type or path.endswith((".yaml", ".yml")):
            try:
                document = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
            except RecursionError:  # the pure-Python loader's stack ran out
                raise BodyTooDeep from None
            except yaml.YAMLError as exc:
                if "nesting depth" in str(exc):  # libyaml's own limit
                    raise BodyTooDeep from None
                raise
            check_depth(document)
            return document
        return load_json(text)
    except BodyTooDeep:
        raise
    except (ValueError, yaml.YAMLError):
        return None


# -- normalization -----------------------------------------------------------------------------


def normalize(node: Any, document: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """``node`` with local references inlined, annotations dropped and sets sorted.

    A reference back into one being inlined (a recursive schema) stays as ``{"$ref": name}``
    with the component's name, so two specs that recurse the same way compare equal.
    """
    if isinstance(node, list):
        return [normalize(item, document, stack) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        if ref in stack:
            return {"$ref": ref.rsplit("/", 1)[-1]}
        try:
            target = resolve_pointer(document, ref)
        except SpecError:
            return {"$ref": ref}
        return normalize(target, document, (*stack, ref))
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            # Property names are data, not keywords: a property called "title" stays.
            result[key] = {name: normalize(v, document, stack) for name, v in value.items()}
        else:
            result[key] = normalize(value, document, stack)
    if result.pop("nullable", False) is True and isinstance(result.get("type"), str):
        # OpenAPI 3.0's nullable is 3.1's null type.
        result["type"] = [result["type"], "null"]
    for key in _SET_KEYS & result.keys():
        if isinstance(result[key], list):
            result[key] = sorted(result[key], key=lambda item: json.dumps(item, sort_keys=True))
    return result


# -- comparison --------------------------------------------------------------------------------


def compare_specs(
    repo: Mapping[str, Any], served: Mapping[str, Any], *, served_at: str = "the service"
) -> list[Finding]:
    """Every semantic difference between two OpenAPI documents, one finding each."""
    repo_ops = dict(_operations(repo))
    served_ops = dict(_operations(served))
    findings: list[Finding] = []
    for key, (label, _) in repo_ops.items():
        if key not in served_ops:
            message = f"{label} is in the repo spec but not in the spec served at {served_at}"
            findings.append(Finding("drift-operation-removed", message, location=label))
    for key, (label, _) in served_ops.items():
        if key not in repo_ops:
            message = f"the spec served at {served_at} has {label}, which the repo spec lacks"
            findings.append(Finding("drift-operation-added", message, location=label))
    for key, (label, ours) in repo_ops.items():
        if key in served_ops:
            theirs = served_ops[key][1]
            for rule, text in _operation_differences(ours, theirs, repo, served):
                findings.append(Finding(f"drift-{rule}", f"{label}: {text}", location=label))
    return findings


Resolved = dict[str, Any]


def _operations(
    document: Mapping[str, Any],
) -> Iterator[tuple[tuple[str, str], tuple[str, Resolved]]]:
    """((method, path with unnamed templates), (label, effective operation)) per operation."""
    global_security = document.get("security")
    for path, raw_item in (document.get("paths") or {}).items():
        item = _deref(raw_item, document)
        if not isinstance(item, Mapping):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            parameters: dict[tuple[str, str], Any] = {}
            for parameter in [*shared, *(operation.get("parameters") or [])]:
                resolved = _deref(parameter, document)
                if isinstance(resolved, Mapping):
                    parameters[str(resolved.get("in")), str(resolved.get("name"))] = resolved
            effective = {
                "parameters": parameters,
                "requestBody": _deref(operation.get("requestBody"), document),
                "responses": {
                    str(code).upper(): _deref(response, document)
                    for code, response in (operation.get("responses") or {}).items()
                },
                "security": operation.get("security", global_security),
            }
            key = (method, _TEMPLATE.sub("{}", str(path)))
            yield key, (f"{method.upper()} {path}", effective)


def _deref(node: Any, document: Mapping[str, Any]) -> Any:
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#"):
            return node
        seen.add(ref)
        try:
            node = resolve_pointer(document, ref)
        except SpecError:
            return node
    return node


def _operation_differences(
    ours: Resolved, theirs: Resolved, repo: Mapping[str, Any], served: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    yield from _parameter_differences(ours["parameters"], theirs["parameters"], repo, served)
    yield from _body_differences(ours["requestBody"], theirs["requestBody"], repo, served)
    yield from _response_differences(ours["responses"], theirs["responses"], repo, served)
    if _security(ours["security"]) != _security(theirs["security"]):
        yield (
            "security",
            f"security requirements differ: repo {_security(ours['security'])}, "
            f"served {_security(theirs['security'])}",
        )


def _security(requirements: Any) -> list[list[str]]:
    if not isinstance(requirements, list):
        return []
    return sorted(sorted(r) for r in requirements if isinstance(r, Mapping))


def _parameter_differences(
    ours: Mapping[tuple[str, str], Any],
    theirs: Mapping[tuple[str, str], Any],
    repo: Mapping[str, Any],
    served: Mapping[str, Any],
) -> Iterator[tuple[str, str]]:
    for key in sorted(ours.keys() | theirs.keys()):
        where, name = key
        what = f"{where} parameter {name!r}"
        if key not in theirs:
            yield "parameter", f"{what} is in the repo spec but not served"
            continue
        if key not in ours:
            yield "parameter", f"{what} is served but not in the repo spec"
            continue
        mine, other = ours[key], theirs[key]
        if bool(mine.get("required")) != bool(other.get("required")):
            yield (
                "parameter",
                f"{what} is required={bool(mine.get('required'))} in the repo spec, "
                f"required={bool(other.get('required'))} served",
            )
        schema = (normalize(mine.get("schema"), repo), normalize(other.get("schema"), served))
        for text in _schema_differences(*schema):
            yield "parameter", f"{what} schema {text}"


def _body_differences(
    ours: Any, theirs: Any, repo: Mapping[str, Any], served: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    if not isinstance(ours, Mapping) and not isinstance(theirs, Mapping):
        return
    if not isinstance(theirs, Mapping):
        yield "request-body", "the repo spec has a request body, the served spec has none"
        return
    if not isinstance(ours, Mapping):
        yield "request-body", "the served spec has a request body, the repo spec has none"
        return
    if bool(ours.get("required")) != bool(theirs.get("required")):
        yield (
            "request-body",
            f"request body is required={bool(ours.get('required'))} in the repo spec, "
            f"required={bool(theirs.get('required'))} served",
        )
    for text in _content_differences(ours.get("content"), theirs.get("content"), repo, served):
        yield "request-body", f"request body {text}"


def _response_differences(
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    repo: Mapping[str, Any],
    served: Mapping[str, Any],
) -> Iterator[tuple[str, str]]:
    for code in sorted(ours.keys() | theirs.keys()):
        if code not in theirs:
            yield "response", f"response {code} is in the repo spec but not served"
        elif code not in ours:
            yield "response", f"response {code} is served but not in the repo spec"
        else:
            mine = ours[code] if isinstance(ours[code], Mapping) else {}
            other = theirs[code] if isinstance(theirs[code], Mapping) else {}
            content = _content_differences(mine.get("content"), other.get("content"), repo, served)
            for text in content:
                yield "response", f"response {code} {text}"


def _content_differences(
    ours: Any, theirs: Any, repo: Mapping[str, Any], served: Mapping[str, Any]
) -> Iterator[str]:
    mine = ours if isinstance(ours, Mapping) else {}
    other = theirs if isinstance(theirs, Mapping) else {}
    for media_type in sorted(mine.keys() | other.keys()):
        if media_type not in other:
            yield f"content {media_type!r} is in the repo spec but not served"
        elif media_type not in mine:
            yield f"content {media_type!r} is served but not in the repo spec"
        else:
            a = normalize((mine[media_type] or {}).get("schema"), repo)
            b = normalize((other[media_type] or {}).get("schema"), served)
            for text in _schema_differences(a, b):
                yield f"{media_type} schema {text}"


def _schema_differences(ours: Any, theirs: Any) -> list[str]:
    differences = list(_diff(ours, theirs, ""))
    shown = [
        f"differs at {pointer or '/'}: repo {_show(a)}, served {_show(b)}"
        for pointer, a, b in differences[:_MAX_SCHEMA_DIFFERENCES]
    ]
    if len(differences) > _MAX_SCHEMA_DIFFERENCES:
        shown.append(f"has {len(differences) - _MAX_SCHEMA_DIFFERENCES} more differences")
    return shown


_ABSENT = object()


def _diff(ours: Any, theirs: Any, pointer: str) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
        for key in sorted(ours.keys() | theirs.keys()):
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from _diff(
                ours.get(key, _ABSENT), theirs.get(key, _ABSENT), f"{pointer}/{escaped}"
            )
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            yield from _diff(a, b, f"{pointer}/{index}")
    elif ours != theirs or isinstance(ours, bool) is not isinstance(theirs, bool):
        # JSON keeps true and 1 apart even though Python does not.
        yield pointer, ours, theirs


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."

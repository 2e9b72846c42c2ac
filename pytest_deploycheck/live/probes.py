"""Building one valid request per operation from the spec alone.

Values come, in order, from the config's ``parameters`` overrides, the parameter's or media
type's examples, the schema's ``example``/``examples``/``default``/``const``/``enum``, and
otherwise a minimal value that satisfies the schema (formats, bounds and patterns included).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from pytest_deploycheck.core.patterns import pattern_problem, search
from pytest_deploycheck.core.spec import Operation, Spec

__all__ = ["ProbeRequest", "build_probe", "value_for_schema"]

_JSON_MEDIA = re.compile(r"^application/(.+\+)?json\b")


@dataclass(frozen=True)
class ProbeRequest:
    """A request ready to send: a method, a filled-in path, query, headers and a body."""

    method: str
    url_path: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    has_body: bool = False


def build_probe(
    spec: Spec, operation: Operation, overrides: Mapping[str, Any] | None = None
) -> ProbeRequest:
    """A request for ``operation`` with every required parameter and body filled in."""
    overrides = overrides or {}
    path = operation.path
    params: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for parameter in operation.parameters:
        name = str(parameter.get("name"))
        location = parameter.get("in")
        required = bool(parameter.get("required")) or location == "path"
        if not required and name not in overrides:
            continue
        value = overrides[name] if name in overrides else _parameter_value(spec, parameter)
        if location == "path":
            path = path.replace("{" + name + "}", quote(_scalar(value), safe=""))
        elif location == "query":
            params[name] = value if isinstance(value, list) else _scalar(value)
        elif location == "header":
            headers[name] = _scalar(value)
    body, has_body = _request_body(spec, operation)
    return ProbeRequest(operation.method.upper(), path, params, headers, body, has_body)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parameter_value(spec: Spec, parameter: Mapping[str, Any]) -> Any:
    if "example" in parameter:
        return parameter["example"]
    example = _first_example(spec, parameter.get("examples"))
    if example is not _MISSING:
        return example
    schema = spec.resolve(parameter.get("schema") or {})
    if not schema and isinstance(parameter.get("content"), Mapping):
        media: Mapping[str, Any] = next(iter(parameter["content"].values()), {})
        schema = spec.resolve(media.get("schema") or {})
    return value_for_schema(spec, schema)


_MISSING = object()


def _first_example(spec: Spec, examples: Any) -> Any:
    if isinstance(examples, Mapping):
        for example in examples.values():
            resolved = spec.resolve(example)
            if isinstance(resolved, Mapping) and "value" in resolved:
                return resolved["value"]
    return _MISSING


def _request_body(spec: Spec, operation: Operation) -> tuple[Any, bool]:
    body = spec.resolve(operation.definition.get("requestBody"))
    if not isinstance(body, Mapping):
        return None, False
    content = body.get("content") or {}
    media_type = next((m for m in content if _JSON_MEDIA.match(m)), None)
    if media_type is None:
        return None, False
    media = spec.resolve(content[media_type]) or {}
    if "example" in media:
        return media["example"], True
    example = _first_example(spec, media.get("examples"))
    if example is not _MISSING:
        return example, True
    return value_for_schema(spec, spec.resolve(media.get("schema") or {})), True


def value_for_schema(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """A small value that validates against ``schema``, preferring its own examples."""
    schema = spec.resolve(schema)
    if not isinstance(schema, Mapping) or depth > 12:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = value_for_schema(spec, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif value is not None:
                return value
        own = {k: v for k, v in schema.items() if k != "allOf"}
        if own.get("properties"):
            merged.update(value_for_schema(spec, own, depth + 1) or {})
        return merged
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            options = [spec.resolve(o) for o in schema[key]]
            non_null = [o for o in options if _types(o) != ["null"]]
            return value_for_schema(spec, (non_null or options)[0], depth + 1)
    kind = next((t for t in _types(schema) if t != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return _VALUE_BUILDERS.get(kind, _string_value)(spec, schema, depth)


def _types(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [str(kind)] if kind else []


def _number_value(spec: Spec, schema: Mapping[str, Any], depth: int) -> int | float:
    integer = "integer" in _types(schema)
    step: float = 1 if integer else 0.5
    low = schema.get("minimum")
    if isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(
        schema.get("exclusiveMinimum"), bool
    ):
        low = schema["exclusiveMinimum"] + step
    elif schema.get("exclusiveMinimum") is True and low is not None:
        low += step
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMaximum"), int | float) and not isinstance(
        schema.get("exclusiveMaximum"), bool
    ):
        high = schema["exclusiveMaximum"] - step
    value = low if low is not None else 1
    if high is not None and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = -(-value // multiple) * multiple
    return int(value) if integer else value


_FORMATS: dict[str, Any] = {
    "uuid": lambda: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date": lambda: dt.date.today().isoformat(),
    "date-time": lambda: dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    "time": lambda: "12:00:00Z",
    "email": lambda: "user@example.com",
    "idn-email": lambda: "user@example.com",
    "uri": lambda: "https://example.com/",
    "url": lambda: "https://example.com/",
    "uri-reference": lambda: "/",
    "hostname": lambda: "example.com",
    "ipv4": lambda: "127.0.0.1",
    "ipv6": lambda: "::1",
    "byte": lambda: base64.b64encode(b"a").decode(),
    "password": lambda: "password",
    "duration": lambda: "P1D",
}


def _string_value(spec: Spec, schema: Mapping[str, Any], depth: int) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return str(_FORMATS[fmt]())
    pattern = schema.get("pattern")
    min_length = int(schema.get("minLength", 1) or 0)
    max_length = schema.get("maxLength")
    if isinstance(pattern, str):
        return _string_matching(pattern, min_length)
    length = max(min_length, 1)
    if isinstance(max_length, int):
        length = min(length, max_length)
    return "a" * length


_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_BACKREFERENCE = re.compile(r"\\k<(\w+)>")


def _in_python(pattern: str) -> str:
    """ECMA-262's named groups written as Python's ``re`` reads them."""
    return _BACKREFERENCE.sub(r"(?P=\1)", _NAMED_GROUP.sub("(?P<", pattern))


@lru_cache(maxsize=256)
def _string_matching(pattern: str, min_length: int) -> str:
    """The simplest string Hypothesis finds that matches ``pattern`` as ECMA-262 reads it.

    Hypothesis generates from Python's reading of the pattern (with ASCII classes, as
    ECMA-262 with the ``u`` flag has them); each candidate is then matched as JSON Schema
    means it (``core.patterns``), so a string that only Python's dialect accepts is never
    sent. A pattern that is invalid, or that Python cannot read, gives a plain value.
    """
    from hypothesis import HealthCheck, Verbosity, find, settings
    from hypothesis import strategies as st

    plain = "a" * max(min_length, 1)
    if pattern_problem(pattern) is not None:
        return plain  # not a constraint at all; validity reports it
    try:
        return str(
            find(
                st.from_regex(re.compile(_in_python(pattern), re.ASCII), fullmatch=True),
                lambda s: len(s) >= min_length and search(pattern, s),
                settings=settings(
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet,  # a failed search is not the user's business
                ),
            )
        )
    except Exception:  # noqa: BLE001 - an unusable pattern falls back to a plain value
        return plain


def _array_value(spec: Spec, schema: Mapping[str, Any], depth: int) -> list[Any]:
    count = max(int(schema.get("minItems", 1) or 0), 1)
    item = value_for_schema(spec, schema.get("items") or {}, depth + 1)
    return [item] * count


def _object_value(spec: Spec, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    return {
        name: value_for_schema(spec, properties.get(name, {}), depth + 1)
        for name in required
        if name in properties or not properties
    }


def _boolean_value(spec: Spec, schema: Mapping[str, Any], depth: int) -> bool:
    return True


_VALUE_BUILDERS: dict[str, Any] = {
    "integer": _number_value,
    "number": _number_value,
    "string": _string_value,
    "array": _array_value,
    "object": _object_value,
    "boolean": _boolean_value,
}

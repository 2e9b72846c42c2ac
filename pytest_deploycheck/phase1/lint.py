"""The ``openapi`` check family: structural validity and lint rules for an OpenAPI document.

``validate_document`` checks the document against the official OpenAPI 3.0 or 3.1 JSON Schema
(with ``jsonschema_rs``, which is fast) and explains what fails in plain words; it also checks
that every ``$ref`` resolves. ``lint_spec`` runs the rules of ``RULES``, the ground that
Spectral's ``spectral:oas`` and Redocly's ``recommended`` rulesets cover, under their familiar
ids. Both return :class:`~pytest_deploycheck.core.findings.Finding` objects whose location is
``file:line (#/json/pointer)``.

Default severities: a rule that Spectral recommends keeps Spectral's severity; a rule only
Redocly recommends keeps Redocly's, except that style rules stay warnings; the rest are off.

One pass over the document builds a :class:`LintContext` (operations, schemas, references,
examples, servers, ...); each rule then reads only the lists it needs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import jsonschema_rs

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.spec import HTTP_METHODS, Spec, format_pointer, parse_pointer

__all__ = [
    "EXTENDS",
    "LEVELS",
    "RULES",
    "Issue",
    "LintContext",
    "Rule",
    "check_openapi",
    "lint_spec",
    "validate_document",
]

LEVELS = ("error", "warning", "info", "off")
EXTENDS = ("recommended", "minimal", "all", "none")
_SUPPORTED = re.compile(r"^3\.[01]\.\d+(-.+)?$")
_RESOURCE = "urn:deploycheck:openapi"  # the base URI examples' schemas are resolved against
_SLOTS = "x-deploycheck-example-schemas"  # where example schemas sit in that resource


class Issue(NamedTuple):
    """What a rule reports: where (a JSON pointer such as ``#/paths/~1a/get``) and what to do."""

    pointer: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A lint rule: a stable id, its default severity, what it checks and the check itself."""

    id: str
    severity: str
    description: str
    check: Callable[[LintContext], Iterable[Issue]]
    structural: bool = False  # run by validate_document rather than lint_spec


RULES: dict[str, Rule] = {}


def _rule(
    rule_id: str, severity: str, description: str, *, structural: bool = False
) -> Callable[[Callable[[LintContext], Iterable[Issue]]], Callable[[LintContext], Iterable[Issue]]]:
    def register(
        check: Callable[[LintContext], Iterable[Issue]],
    ) -> Callable[[LintContext], Iterable[Issue]]:
        RULES[rule_id] = Rule(rule_id, severity, description, check, structural)
        return check

    return register


# --- the index: one walk over the document ------------------------------------------------


def _p(pointer: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{pointer}/{key}"
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{key}"


@dataclass
class OperationInfo:
    """An operation as the rules see it: where it is and its parameters, references resolved."""

    method: str
    path: str
    pointer: str
    node: Mapping[str, Any]
    kind: str  # "path", "webhook" or "callback"
    own_parameters: list[tuple[str, Mapping[str, Any]]]
    path_parameters: list[tuple[str, Mapping[str, Any]]]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def parameters(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Path-level parameters overridden by the operation's own, by (name, in)."""
        merged: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
        for pointer, parameter in [*self.path_parameters, *self.own_parameters]:
            merged[(str(parameter.get("name")), str(parameter.get("in")))] = (pointer, parameter)
        return list(merged.values())


@dataclass
class ExampleSite:
    """An example value and the schema it must satisfy."""

    pointer: str  # where the example is written
    schema_pointer: str
    value: Any
    kind: str  # "media" (media types, parameters, headers) or "schema"


@dataclass
class LintContext:
    """What one walk over the document found; the rules read it."""

    spec: Spec
    version: str
    operations: list[OperationInfo] = field(default_factory=list)
    path_items: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    refs: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    schemas: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    examples: list[ExampleSite] = field(default_factory=list)
    example_objects: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    parameters: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    servers: list[tuple[str, Mapping[str, Any], str]] = field(default_factory=list)
    security: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    links: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    mapping_refs: list[str] = field(default_factory=list)
    # Schemas with a keyword some rule looks at: "enum", "required", "nullable", "array".
    keyed: dict[str, list[tuple[str, Mapping[str, Any]]]] = field(
        default_factory=lambda: {key: [] for key in ("enum", "required", "nullable", "array")}
    )
    anchors: set[str] = field(default_factory=set)
    # (rule id, pointer): callbacks and servers where they are not wanted
    misplaced: list[tuple[str, str]] = field(default_factory=list)
    _example_results: dict[int, str | list[_Problem]] | None = field(default=None, repr=False)

    @property
    def document(self) -> dict[str, Any]:
        return self.spec.document

    @property
    def is_30(self) -> bool:
        return self.version == "3.0"

    def resolve(self, node: Any) -> Any:
        """Follow local references; None when one dangles or loops."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#"):
                return None
            seen.add(ref)
            node = _lookup(self.document, ref)
        return node


_MISSING = object()


def _lookup(document: Any, ref: str) -> Any:
    """The node at a local ``$ref``, or None."""
    try:
        tokens = parse_pointer(ref, uri_fragment=True)
    except ValueError:
        return None
    node = document
    for token in tokens:
        if isinstance(node, dict):
            node = node.get(token, _MISSING)
            if node is _MISSING:
                return None
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
    "contentSchema",
)
_SCHEMA_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_SCHEMA_SHAPES = {
    **dict.fromkeys(_SCHEMA_ONE, "one"),
    **dict.fromkeys(_SCHEMA_MANY, "many"),
    **dict.fromkeys(_SCHEMA_MAP, "map"),
}
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


class _Indexer:
    """Walks the OpenAPI structure once and fills a LintContext."""

    def __init__(self, spec: Spec) -> None:
        version = "3.1" if spec.version.startswith("3.1") else "3.0"
        self.ctx = LintContext(spec=spec, version=version)
        self.is_30 = version == "3.0"
        self.walked: set[int] = set()

    def run(self) -> LintContext:
        doc = self.ctx.document
        info = doc.get("info")
        if isinstance(info, dict):
            self.texts(info, "#/info")
        self.server_list(doc.get("servers"), "#/servers", "root")
        paths = doc.get("paths")
        if isinstance(paths, dict):
            for key, item in paths.items():
                self.path_item(item, _p("#/paths", key), str(key), "path")
        webhooks = doc.get("webhooks")
        if isinstance(webhooks, dict):
            for key, item in webhooks.items():
                self.path_item(item, _p("#/webhooks", key), str(key), "webhook")
        components = doc.get("components")
        if isinstance(components, dict):
            self.components(components)
        tags = doc.get("tags")
        if isinstance(tags, list):
            for index, tag in enumerate(tags):
                if isinstance(tag, dict):
                    self.texts(tag, f"#/tags/{index}")
        self.requirements(doc.get("security"), "#/security")
        return self.ctx

    # Every object the walk enters goes through `ref`: a reference is recorded, not entered.
    def ref(self, node: Any, pointer: str) -> bool:
        if isinstance(node, dict) and "$ref" in node:
            self.ctx.refs.append((pointer, node))
            return True
        return False

    def texts(self, node: Mapping[str, Any], pointer: str) -> None:
        for key in ("description", "title", "summary"):
            value = node.get(key)
            if isinstance(value, str):
                self.ctx.texts.append((_p(pointer, key), value))

    def components(self, components: Mapping[str, Any]) -> None:
        walkers: dict[str, Callable[[Any, str], Any]] = {
            "schemas": self.schema,
            "responses": self.response,
            "parameters": self.parameter,
            "examples": self.example,
            "requestBodies": self.request_body,
            "headers": self.header,
            "securitySchemes": self.security_scheme,
            "links": self.link,
            "callbacks": lambda node, pointer: self.callback(node, pointer, "path"),
            "pathItems": lambda node, pointer: self.path_item(node, pointer, None, "path"),
        }
        for kind, walker in walkers.items():
            entries = components.get(kind)
            if isinstance(entries, dict):
                base = f"#/components/{kind}"
                for name, node in entries.items():
                    walker(node, _p(base, name))

    def path_item(self, item: Any, pointer: str, path: str | None, kind: str) -> None:
        entry = pointer
        if self.ref(item, pointer):
            # A path item may live in components (3.1 pathItems): walk it where it lives.
            ref = item.get("$ref")
            item = self.ctx.resolve(item)
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return
            pointer = format_pointer(parse_pointer(ref, uri_fragment=True))
        if not isinstance(item, dict):
            return
        first = id(item) not in self.walked
        if not first and path is None:
            return
        self.walked.add(id(item))
        if path is not None:
            self.ctx.path_items.append((path, entry, item))
        if first:
            self.texts(item, pointer)
            self.server_list(item.get("servers"), _p(pointer, "servers"), kind)
        shared = self.parameter_list(item.get("parameters"), _p(pointer, "parameters"))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                at = _p(pointer, method)
                if first:
                    self.operation(operation, at, method, path, kind, shared)
                elif path is not None:
                    own = self.parameter_list(operation.get("parameters"), _p(at, "parameters"))
                    self.ctx.operations.append(
                        OperationInfo(method, path, at, operation, kind, own, shared)
                    )

    def operation(
        self,
        node: Mapping[str, Any],
        pointer: str,
        method: str,
        path: str | None,
        kind: str,
        shared: list[tuple[str, Mapping[str, Any]]],
    ) -> None:
        own = self.parameter_list(node.get("parameters"), _p(pointer, "parameters"))
        if path is not None:
            self.ctx.operations.append(
                OperationInfo(method, path, pointer, node, kind, own, shared)
            )
        self.texts(node, pointer)
        body = node.get("requestBody")
        if body is not None:
            self.request_body(body, _p(pointer, "requestBody"))
        responses = node.get("responses")
        if isinstance(responses, dict):
            for code, response in responses.items():
                self.response(response, _p(_p(pointer, "responses"), str(code)))
        callbacks = node.get("callbacks")
        if isinstance(callbacks, dict):
            if kind == "webhook":
                self.ctx.misplaced.append(("oas3_1-callbacks-in-webhook", _p(pointer, "callbacks")))
            if kind == "callback":
                self.ctx.misplaced.append(("oas3-callbacks-in-callbacks", _p(pointer, "callbacks")))
            for name, callback in callbacks.items():
                self.callback(callback, _p(_p(pointer, "callbacks"), name), "callback")
        self.requirements(node.get("security"), _p(pointer, "security"))
        self.server_list(node.get("servers"), _p(pointer, "servers"), kind)

    def parameter_list(self, node: Any, pointer: str) -> list[tuple[str, Mapping[str, Any]]]:
        found: list[tuple[str, Mapping[str, Any]]] = []
        if isinstance(node, list):
            for index, parameter in enumerate(node):
                at = _p(pointer, index)
                self.parameter(parameter, at)
                resolved = self.ctx.resolve(parameter)
                if isinstance(resolved, dict):
                    found.append((at, resolved))
        return found

    def parameter(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict) or id(node) in self.walked:
            return
        self.walked.add(id(node))
        self.ctx.parameters.append((pointer, node))
        self.value_holder(node, pointer)

    def header(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        self.value_holder(node, pointer)

    def value_holder(self, node: Mapping[str, Any], pointer: str) -> None:
        """A parameter, header or media type: a schema with examples, or content."""
        self.texts(node, pointer)
        schema = node.get("schema")
        schema_pointer = _p(pointer, "schema")
        if schema is not None:
            self.schema(schema, schema_pointer)
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, _p(_p(pointer, "content"), media_type))
        if schema is None:
            return
        if "example" in node:
            self.ctx.examples.append(
                ExampleSite(_p(pointer, "example"), schema_pointer, node["example"], "media")
            )
        examples = node.get("examples")
        if isinstance(examples, dict):
            for name, example in examples.items():
                at = _p(_p(pointer, "examples"), name)
                self.example(example, at)
                resolved = self.ctx.resolve(example)
                if isinstance(resolved, dict) and "value" in resolved:
                    self.ctx.examples.append(
                        ExampleSite(at, schema_pointer, resolved["value"], "media")
                    )

    def media(self, node: Any, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        self.value_holder(node, pointer)
        encoding = node.get("encoding")
        if isinstance(encoding, dict):
            for name, entry in encoding.items():
                headers = entry.get("headers") if isinstance(entry, dict) else None
                if isinstance(headers, dict):
                    base = _p(_p(_p(pointer, "encoding"), name), "headers")
                    for header_name, header in headers.items():
                        self.header(header, _p(base, header_name))

    def request_body(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        self.texts(node, pointer)
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, _p(_p(pointer, "content"), media_type))

    def response(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        self.texts(node, pointer)
        headers = node.get("headers")
        if isinstance(headers, dict):
            for name, header in headers.items():
                self.header(header, _p(_p(pointer, "headers"), name))
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, _p(_p(pointer, "content"), media_type))
        links = node.get("links")
        if isinstance(links, dict):
            for name, link in links.items():
                self.link(link, _p(_p(pointer, "links"), name))

    def example(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict) or id(node) in self.walked:
            return
        self.walked.add(id(node))
        self.texts(node, pointer)
        self.ctx.example_objects.append((pointer, node))

    def link(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict) or id(node) in self.walked:
            return
        self.walked.add(id(node))
        self.texts(node, pointer)
        self.ctx.links.append((pointer, node))
        server = node.get("server")
        if isinstance(server, dict):
            self.ctx.servers.append((_p(pointer, "server"), server, "link"))

    def callback(self, node: Any, pointer: str, kind: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        for expression, item in node.items():
            self.path_item(item, _p(pointer, expression), None, kind)

    def security_scheme(self, node: Any, pointer: str) -> None:
        if not self.ref(node, pointer) and isinstance(node, dict):
            self.texts(node, pointer)

    def requirements(self, node: Any, pointer: str) -> None:
        if isinstance(node, list):
            for index, requirement in enumerate(node):
                if isinstance(requirement, dict):
                    self.ctx.security.append((_p(pointer, index), requirement))

    def server_list(self, node: Any, pointer: str, kind: str) -> None:
        if not isinstance(node, list):
            return
        if kind == "webhook":
            self.ctx.misplaced.append(("oas3_1-servers-in-webhook", pointer))
        for index, server in enumerate(node):
            if isinstance(server, dict):
                self.texts(server, _p(pointer, index))
                self.ctx.servers.append((_p(pointer, index), server, kind))

    def schema(self, node: Any, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            self.ctx.refs.append((pointer, node))
            if self.is_30:
                return
        self.ctx.schemas.append((pointer, node))
        keyed = self.ctx.keyed
        for key in ("enum", "required", "nullable"):
            if key in node:
                keyed[key].append((pointer, node))
        declared = node.get("type")
        if declared == "array" or (isinstance(declared, list) and "array" in declared):
            keyed["array"].append((pointer, node))
        self.texts(node, pointer)
        anchor = node.get("$anchor")
        if isinstance(anchor, str):
            self.ctx.anchors.add(anchor)
        for key in ("example", "default"):
            if key in node:
                self.ctx.examples.append(
                    ExampleSite(_p(pointer, key), pointer, node[key], "schema")
                )
        examples = node.get("examples")
        if not self.is_30 and isinstance(examples, list):
            for index, value in enumerate(examples):
                at = _p(_p(pointer, "examples"), index)
                self.ctx.examples.append(ExampleSite(at, pointer, value, "schema"))
        discriminator = node.get("discriminator")
        if isinstance(discriminator, dict) and isinstance(discriminator.get("mapping"), dict):
            for target in discriminator["mapping"].values():
                if isinstance(target, str):
                    self.ctx.mapping_refs.append(
                        target if "#" in target else f"#/components/schemas/{target}"
                    )
        for key, sub in node.items():
            shape = _SCHEMA_SHAPES.get(key)
            if shape is None:
                continue
            if shape == "one" and isinstance(sub, dict):
                self.schema(sub, _p(pointer, key))
            elif shape == "many" or (key == "items" and isinstance(sub, list)):
                # items as a list: draft-4 tuples, in odd documents
                if isinstance(sub, list):
                    base = _p(pointer, key)
                    for index, item in enumerate(sub):
                        self.schema(item, f"{base}/{index}")
            elif shape == "map" and isinstance(sub, dict):
                base = _p(pointer, key)
                for name, item in sub.items():
                    self.schema(item, _p(base, name))


def _context(spec: Spec) -> LintContext:
    """The index of ``spec``, built on first use and kept with it."""
    ctx = spec.derived.get("lint")
    if not isinstance(ctx, LintContext):
        ctx = _Indexer(spec).run()
        spec.derived["lint"] = ctx
    return ctx


# --- structural validity ------------------------------------------------------------------


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


@dataclass
class _Problem:
    path: list[str | int]
    message: str
    keyword: str = ""
    options: tuple[Any, ...] = ()


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _schema_at(root: Mapping[str, Any] | None, path: Sequence[str | int]) -> Any:
    node: Any = root
    for token in path:
        if isinstance(node, dict) and str(token) in node:
            node = node[str(token)]
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return None
    return node


def _unexpected(
    error: jsonschema_rs.ValidationError, keys: Iterable[str], metaschema: Mapping[str, Any] | None
) -> list[_Problem]:
    parent = _schema_at(metaschema, error.schema_path[:-1])
    allowed: list[str] = []
    patterns: list[str] = []
    if isinstance(parent, dict):
        allowed = sorted(k for k in parent.get("properties", {}) if isinstance(k, str))
        patterns = [p for p in parent.get("patternProperties", {}) if p != "^x-"]
    problems = []
    for key in keys:
        if patterns == ["^\\/"]:
            message = f"{key!r} is not a path: path keys start with '/'"
        elif any("[1-5]" in pattern for pattern in patterns):
            message = f"{key!r} is not a status code: use 100 to 599, 1XX to 5XX, or 'default'"
        else:
            message = f"{key!r} is not an allowed field here"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
            elif allowed or patterns:
                choices = [*allowed, *(f"a key matching {p}" for p in patterns)]
                message += f"; use {', '.join(choices)} or an 'x-' extension"
        problems.append(_Problem([*error.instance_path, key], message, "additionalProperties"))
    return problems


def _describe(
    error: jsonschema_rs.ValidationError,
    metaschema: Mapping[str, Any] | None = None,
    depth: int = 0,
) -> list[_Problem]:
    """Readable problems for one jsonschema_rs error; for oneOf/anyOf, the likeliest branch."""
    kind = error.kind
    name = kind.name
    path = list(error.instance_path)
    value = error.instance
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        prop = kind.property
        return [_Problem(path, f"{prop!r} is required here; add it", "required", (prop,))]
    if isinstance(
        kind,
        jsonschema_rs.ValidationErrorKind.AdditionalProperties
        | jsonschema_rs.ValidationErrorKind.UnevaluatedProperties,
    ):
        return _unexpected(error, kind.unexpected, metaschema)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Enum):
        options = tuple(kind.options)
        listed = ", ".join(_short(o) for o in options)
        return [_Problem(path, f"{_short(value)} is not one of {listed}", "enum", options)]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Constant):
        expected = kind.expected_value
        message = f"{_short(value)} is not {_short(expected)}"
        return [_Problem(path, message, "enum", (expected,))]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
        wanted = " or ".join(kind.types)
        message = f"must be {wanted} (got {_json_type(value)}: {_short(value)})"
        return [_Problem(path, message, "type")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Pattern):
        message = f"{_short(value)} does not match the pattern {kind.pattern!r}"
        return [_Problem(path, message, "pattern")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Not):
        schema = kind.schema
        required = schema.get("required") if isinstance(schema, dict) else None
        if isinstance(required, list) and len(schema) == 1:  # type: ignore[arg-type]
            names = " and ".join(repr(n) for n in required)
            return [_Problem(path, f"{names} cannot be used together here; keep one", "not")]
        return [_Problem(path, "this combination of fields is not allowed here", "not")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.FalseSchema):
        return [_Problem(path, "no value is allowed here", "false")]
    if (
        isinstance(
            kind,
            jsonschema_rs.ValidationErrorKind.OneOfNotValid
            | jsonschema_rs.ValidationErrorKind.AnyOf,
        )
        and depth < 10
    ):
        return _best_branch(error, kind.context, metaschema, depth)
    message = error.message
    if len(message) > 160:  # messages quote the whole value, which may be huge
        message = message[:157] + "..."
    return [_Problem(path, message, name)]


def _best_branch(
    error: jsonschema_rs.ValidationError,
    context: list[list[jsonschema_rs.ValidationError]],
    metaschema: Mapping[str, Any] | None,
    depth: int,
) -> list[_Problem]:
    value = error.instance
    branches = [branch for branch in context if branch]
    is_ref = isinstance(value, dict) and "$ref" in value

    def reference_branch(branch: list[jsonschema_rs.ValidationError]) -> bool:
        return any(
            isinstance(e.kind, jsonschema_rs.ValidationErrorKind.Required)
            and e.kind.property == "$ref"
            for e in branch
        )

    if not is_ref:
        branches = [b for b in branches if not reference_branch(b)] or branches
    explained = [
        [p for e in branch for p in _describe(e, metaschema, depth + 1)] for branch in branches
    ]
    if not explained:
        return [_Problem(list(error.instance_path), error.message, error.kind.name)]
    # Every alternative rejects the same value for not being one of a few: merge the options.
    firsts = [next((p for p in problems if p.keyword == "enum"), None) for problems in explained]
    if len(explained) > 1 and all(firsts) and len({str(p.path) for p in firsts if p}) == 1:
        options = tuple(o for p in firsts if p for o in p.options)
        at = firsts[0].path if firsts[0] else []
        shown = _schema_at_value(value, at[len(error.instance_path) :])
        listed = ", ".join(_short(o) for o in options)
        return [_Problem(at, f"{_short(shown)} is not one of {listed}", "enum", options)]
    requireds = [
        problems for problems in explained if all(p.keyword == "required" for p in problems)
    ]
    if len(requireds) == len(explained) > 1 and all(len(p) == 1 for p in requireds):
        names = " or ".join(repr(p[0].options[0]) for p in requireds)
        return [_Problem(list(error.instance_path), f"needs one of {names}", "required")]

    def rank(problems: list[_Problem]) -> tuple[int, int]:
        return (max(len(p.path) for p in problems), -len(problems))

    return max(explained, key=rank)


def _schema_at_value(value: Any, path: Sequence[str | int]) -> Any:
    node = value
    for token in path:
        if isinstance(node, dict):
            node = node.get(str(token))
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return None
    return node


def _meta_issues(spec: Spec) -> Iterator[Issue]:
    document = spec.document
    version = document.get("openapi")
    if not isinstance(version, str):
        hint = " (quote it in YAML)" if isinstance(version, int | float) else ""
        yield Issue(
            "#/openapi",
            f"'openapi' must be a version string such as \"3.1.0\" (got {_short(version)}){hint}",
        )
        return
    if not _SUPPORTED.match(version):
        yield Issue(
            "#/openapi",
            f"OpenAPI {version} is not supported: write the document as 3.0.x or 3.1.x",
        )
        return
    short = version[:3]
    validator = _metavalidator(short)
    try:
        if validator.is_valid(document):
            return
        errors = list(validator.iter_errors(document))
    except (ValueError, TypeError) as exc:  # a Spec built by hand with non-JSON data
        yield Issue("#", f"the document is not JSON data: {exc}")
        return
    metaschema = _metaschema(short)
    seen: set[tuple[str, str]] = set()
    for error in errors:
        for problem in _describe(error, metaschema):
            key = (format_pointer(problem.path), problem.message)
            if key not in seen:
                seen.add(key)
                yield Issue(*key)


@_rule(
    "oas3-schema",
    "error",
    "The document follows the official OpenAPI 3.0/3.1 JSON Schema.",
    structural=True,
)
def _oas3_schema(ctx: LintContext) -> Iterator[Issue]:
    return _meta_issues(ctx.spec)


@_rule(
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
            yield Issue(_p(pointer, "$ref"), f"$ref must be a string (got {_short(ref)})")
            continue
        if ref not in verdicts:
            verdicts[ref] = _ref_problem(ctx, ref)
        problem = verdicts[ref]
        if problem:
            yield Issue(_p(pointer, "$ref"), problem)


def _ref_problem(ctx: LintContext, ref: str) -> str | None:
    if not ref.startswith("#"):
        return f"$ref {ref!r} points outside the document; load it with load_spec to inline it"
    if not ref.startswith("#/") and ref != "#":
        return None if ref[1:] in ctx.anchors else f"$ref {ref!r}: no schema has that $anchor"
    seen = {ref}
    target = _lookup(ctx.document, ref)
    while isinstance(target, dict) and isinstance(target.get("$ref"), str):
        nxt = target["$ref"]
        if nxt in seen:
            return f"$ref {ref!r} is circular: it never reaches an object"
        seen.add(nxt)
        target = _lookup(ctx.document, nxt) if nxt.startswith("#/") else {}
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


@_rule(
    "no-duplicate-keys",
    "error",
    "A YAML mapping does not repeat a key (the last one silently wins).",
    structural=True,
)
def _no_duplicate_keys(ctx: LintContext) -> Iterator[Issue]:
    for where, key in ctx.spec.duplicate_keys:
        yield Issue(f"@{where}", f"key {key!r} appears twice in the same mapping; keep one")


# --- lint rules: info, tags, servers ------------------------------------------------------


def _info(ctx: LintContext) -> Mapping[str, Any]:
    info = ctx.document.get("info")
    return info if isinstance(info, dict) else {}


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


@_rule("info-contact", "warning", "The info object has a contact object.")
def _info_contact(ctx: LintContext) -> Iterator[Issue]:
    if not isinstance(_info(ctx).get("contact"), dict):
        yield Issue("#/info", "add info.contact (name, url, email) so users know who runs the API")


@_rule("contact-properties", "off", "The contact object has a name, a url and an email.")
def _contact_properties(ctx: LintContext) -> Iterator[Issue]:
    contact = _info(ctx).get("contact")
    if isinstance(contact, dict):
        for key in ("name", "url", "email"):
            if _blank(contact.get(key)):
                yield Issue("#/info/contact", f"add info.contact.{key}")


@_rule("info-description", "warning", "The info object has a non-empty description.")
def _info_description(ctx: LintContext) -> Iterator[Issue]:
    if _blank(_info(ctx).get("description")):
        yield Issue("#/info", "add info.description: what the API is for, in a few sentences")


@_rule("info-license", "warning", "The info object has a license object.")
def _info_license(ctx: LintContext) -> Iterator[Issue]:
    if not isinstance(_info(ctx).get("license"), dict):
        yield Issue("#/info", "add info.license (name, and url or identifier)")


@_rule("license-url", "warning", "The license object has a url (or, in 3.1, an identifier).")
def _license_url(ctx: LintContext) -> Iterator[Issue]:
    license_ = _info(ctx).get("license")
    if (
        isinstance(license_, dict)
        and _blank(license_.get("url"))
        and (ctx.version == "3.0" or _blank(license_.get("identifier")))
    ):
        yield Issue("#/info/license", "add info.license.url pointing at the license text")


def _tags(ctx: LintContext) -> list[tuple[int, Mapping[str, Any]]]:
    tags = ctx.document.get("tags")
    if not isinstance(tags, list):
        return []
    return [(index, tag) for index, tag in enumerate(tags) if isinstance(tag, dict)]


@_rule("openapi-tags", "off", "The document has a non-empty top-level tags array.")
def _openapi_tags(ctx: LintContext) -> Iterator[Issue]:
    if not _tags(ctx):
        yield Issue("#", "add a top-level 'tags' list naming and describing the operation groups")


@_rule("openapi-tags-uniqueness", "error", "Each top-level tag has a unique name.")
def _openapi_tags_uniqueness(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for index, tag in _tags(ctx):
        name = tag.get("name")
        if isinstance(name, str):
            if name in seen:
                yield Issue(
                    f"#/tags/{index}/name",
                    f"tag {name!r} is already defined at #/tags/{seen[name]}; merge them",
                )
            else:
                seen[name] = index


@_rule("openapi-tags-alphabetical", "off", "Top-level tags are in alphabetical order.")
def _openapi_tags_alphabetical(ctx: LintContext) -> Iterator[Issue]:
    names = [str(tag.get("name", "")) for _, tag in _tags(ctx)]
    for index in range(1, len(names)):
        if names[index].lower() < names[index - 1].lower():
            yield Issue(
                f"#/tags/{index}", f"tag {names[index]!r} should come before {names[index - 1]!r}"
            )
            return


@_rule("tag-description", "warning", "Each top-level tag has a description.")
def _tag_description(ctx: LintContext) -> Iterator[Issue]:
    for index, tag in _tags(ctx):
        if _blank(tag.get("description")):
            yield Issue(f"#/tags/{index}", f"add a description to tag {tag.get('name')!r}")


@_rule("oas3-api-servers", "warning", "The document has a non-empty servers list.")
def _oas3_api_servers(ctx: LintContext) -> Iterator[Issue]:
    servers = ctx.document.get("servers")
    if not isinstance(servers, list) or not servers:
        yield Issue("#", "add a top-level 'servers' list with the API's base URL(s)")


def _server_urls(ctx: LintContext) -> Iterator[tuple[str, str]]:
    for pointer, server, _ in ctx.servers:
        url = server.get("url")
        if isinstance(url, str):
            yield pointer, url


@_rule("no-server-example.com", "warning", "Server URLs do not point at example.com.")
def _no_server_example(ctx: LintContext) -> Iterator[Issue]:
    for pointer, url in _server_urls(ctx):
        host = (urlsplit(url).hostname or "") if "//" in url else ""
        if re.search(r"(^|\.)example\.(com|org|net)$", host):
            yield Issue(_p(pointer, "url"), f"server {url!r} is a placeholder; use the real URL")


@_rule("no-server-trailing-slash", "warning", "Server URLs do not end with a slash.")
def _no_server_trailing_slash(ctx: LintContext) -> Iterator[Issue]:
    for pointer, url in _server_urls(ctx):
        if len(url) > 1 and url.endswith("/"):
            yield Issue(
                _p(pointer, "url"),
                f"server {url!r} ends with '/', which doubles the slash before every path; "
                "remove it",
            )


@_rule(
    "oas3-server-variables",
    "error",
    "Server URL variables are defined, used, and have a default within their enum.",
)
def _oas3_server_variables(ctx: LintContext) -> Iterator[Issue]:
    for pointer, server in ((p, s) for p, s, _ in ctx.servers):
        url = server.get("url")
        if not isinstance(url, str):
            continue
        used = re.findall(r"{([^{}]*)}", url)
        variables = server.get("variables")
        defined = variables if isinstance(variables, dict) else {}
        for name in used:
            if name not in defined:
                yield Issue(
                    _p(pointer, "url"),
                    f"server URL uses {{{name}}} but 'variables' does not define {name!r}",
                )
        for name, variable in defined.items():
            at = _p(_p(pointer, "variables"), name)
            if name not in used:
                yield Issue(at, f"server variable {name!r} is not used in the URL {url!r}")
            if not isinstance(variable, dict):
                continue
            enum = variable.get("enum")
            if isinstance(enum, list):
                if not enum:
                    yield Issue(_p(at, "enum"), f"server variable {name!r} has an empty enum")
                elif "default" in variable and variable["default"] not in enum:
                    yield Issue(
                        _p(at, "default"),
                        f"default {_short(variable['default'])} of server variable {name!r} "
                        "is not in its enum",
                    )
            if "default" not in variable:
                yield Issue(at, f"give server variable {name!r} a default")


@_rule("oas3_1-servers-in-webhook", "warning", "Webhooks do not define servers.")
def _servers_in_webhook(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3_1-servers-in-webhook":
            yield Issue(pointer, "remove 'servers': a webhook is called by the API")


@_rule("oas3_1-callbacks-in-webhook", "warning", "Webhooks do not define callbacks.")
def _callbacks_in_webhook(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3_1-callbacks-in-webhook":
            yield Issue(pointer, "remove 'callbacks' from the webhook")


@_rule("oas3-callbacks-in-callbacks", "warning", "Callbacks do not define callbacks.")
def _callbacks_in_callbacks(ctx: LintContext) -> Iterator[Issue]:
    for rule_id, pointer in ctx.misplaced:
        if rule_id == "oas3-callbacks-in-callbacks":
            yield Issue(pointer, "remove 'callbacks' nested in a callback")


# --- lint rules: paths --------------------------------------------------------------------

_TEMPLATE = re.compile(r"{([^{}]*)}")


def _paths(ctx: LintContext) -> list[tuple[str, str]]:
    return [
        (path, pointer) for path, pointer, _ in ctx.path_items if pointer.startswith("#/paths/")
    ]


@_rule("path-keys-no-trailing-slash", "warning", "Paths do not end with a slash.")
def _path_trailing_slash(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if len(path) > 1 and path.endswith("/"):
            yield Issue(pointer, f"path {path!r} ends with '/'; remove it")


@_rule("path-not-include-query", "warning", "Paths do not include a query string.")
def _path_query(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if "?" in path:
            yield Issue(
                pointer, f"path {path!r} has a query string; declare 'in: query' parameters"
            )


@_rule("path-declarations-must-exist", "warning", "Path templates do not contain empty '{}'.")
def _path_declarations(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if "{}" in path:
            yield Issue(pointer, f"path {path!r} has an empty '{{}}'; name the parameter")


def _normalised(path: str) -> str:
    return _TEMPLATE.sub("{}", path.rstrip("/") or "/")


@_rule("no-identical-paths", "error", "No two paths differ only in their parameter names.")
def _no_identical_paths(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    for path, pointer in _paths(ctx):
        key = _normalised(path)
        if key in seen:
            yield Issue(
                pointer,
                f"path {path!r} is identical to {seen[key]!r} apart from parameter names; "
                "merge them",
            )
        else:
            seen[key] = path


@_rule(
    "no-ambiguous-paths",
    "warning",
    "No two paths can match the same URL with neither being more specific.",
)
def _no_ambiguous_paths(ctx: LintContext) -> Iterator[Issue]:
    """Report each path that is ambiguous with an earlier one, naming the first such path.

    Comparing every pair of paths is quadratic, and big specs have thousands (Microsoft Graph
    has 7,419): each path is looked up instead in a trie of the earlier paths of its length,
    which follows only the branches that could match it.
    """
    paths = _paths(ctx)
    tries: dict[int, _PathTrie] = {}
    # Issues by segment count, in the order the lengths first appear, as findings always were.
    found: dict[int, list[Issue]] = {}
    for index, (path, pointer) in enumerate(paths):
        segments = _path_segments(path)
        trie = tries.setdefault(len(segments), _PathTrie(index))
        issues = found.setdefault(len(segments), [])
        other = _first_ambiguous(trie, segments)
        if other is not None:
            issues.append(
                Issue(
                    pointer,
                    f"path {path!r} and {paths[other][0]!r} can both match the same URL; make "
                    "one of them literal where the other has a parameter",
                )
            )
        trie.insert(segments, index)
    for issues in found.values():
        yield from issues


def _path_segments(path: str) -> list[str | None]:
    """A path's segments: a literal one is its text, a template (``{id}``) is None."""
    return [None if _TEMPLATE.fullmatch(s) else s for s in path.strip("/").split("/")]


class _PathTrie:
    """Paths of one length by segment (a literal's text, or None for a template).

    Paths are inserted in document order, so ``first``, the index of the first path that
    reached a node, is the earliest path below it.
    """

    __slots__ = ("children", "first")

    def __init__(self, first: int) -> None:
        self.first = first
        self.children: dict[str | None, _PathTrie] = {}

    def insert(self, segments: list[str | None], index: int) -> None:
        node = self
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _PathTrie(index)
            node = child


def _first_ambiguous(trie: _PathTrie, segments: list[str | None]) -> int | None:
    """The earliest path in ``trie`` that is ambiguous with ``segments``, or None.

    Two paths are ambiguous when their literals agree wherever both have one, and each has a
    literal where the other has a template: then a URL can match both, and neither is more
    specific. The walk goes depth first, earliest branch first, and stops at the first match:
    so a path starting with a template (``/{tenant}/...``) need not visit every other path.
    """
    # literal_from[i]: a literal is at i or later, so this path can still be the more literal one.
    literal_from = [False] * (len(segments) + 1)
    for i in range(len(segments) - 1, -1, -1):
        literal_from[i] = segments[i] is not None or literal_from[i + 1]
    best: int | None = None
    # One iterator of branches per level of the walk: the depth is the stack's height.
    stack = [_branches(trie, segments[0], False, False)]
    while stack:
        branch = next(stack[-1], None)
        if branch is None or (best is not None and branch[0].first >= best):
            stack.pop()  # the branches come in document order: none left is earlier
            continue
        node, mine, theirs = branch
        depth = len(stack)
        if depth == len(segments):
            if mine and theirs:
                best = node.first
        elif mine or literal_from[depth]:
            stack.append(_branches(node, segments[depth], mine, theirs))
    return best


def _branches(
    node: _PathTrie, segment: str | None, mine: bool, theirs: bool
) -> Iterator[tuple[_PathTrie, bool, bool]]:
    """The children of ``node`` a path with ``segment`` there can share a URL with.

    Each comes with the two flags updated: ``mine``, this path has a literal where the other
    has a template; ``theirs``, the converse. Children are in document order (their ``first``).
    """
    if segment is None:  # a template matches every branch
        for key, child in node.children.items():
            yield child, mine, theirs or key is not None
        return
    same, template = node.children.get(segment), node.children.get(None)
    found = [(same, mine, theirs)] if same is not None else []
    if template is not None:
        found.append((template, True, theirs))
    yield from sorted(found, key=lambda branch: branch[0].first)


@_rule(
    "path-params",
    "error",
    "Path template variables are declared as path parameters, and declared ones are used.",
)
def _path_params(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer, _ in ctx.path_items:
        names = _TEMPLATE.findall(path)
        seen: set[str] = set()
        for name in names:
            if name in seen:
                yield Issue(pointer, f"path {path!r} uses {{{name}}} twice; rename one")
            seen.add(name)
    for operation in ctx.operations:
        if operation.kind == "callback":
            continue
        variables = set(_TEMPLATE.findall(operation.path))
        declared: dict[str, str] = {}
        for at, parameter in operation.parameters:
            if parameter.get("in") == "path":
                name = str(parameter.get("name"))
                declared[name] = at
                if name not in variables:
                    yield Issue(
                        at,
                        f"path parameter {name!r} is not in the path {operation.path!r}; add "
                        f"{{{name}}} to the path or remove the parameter",
                    )
        for name in sorted(variables - set(declared)):
            if name:
                yield Issue(
                    operation.pointer,
                    f"{operation.label}: {{{name}}} is not declared; add a parameter with "
                    f"name: {name}, in: path, required: true",
                )


@_rule(
    "operation-parameters",
    "warning",
    "An operation or path item does not declare the same parameter (name and in) twice.",
)
def _operation_parameters(ctx: LintContext) -> Iterator[Issue]:
    lists: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for operation in ctx.operations:
        lists[operation.pointer] = operation.own_parameters
        if operation.path_parameters:
            first = operation.path_parameters[0][0]
            lists.setdefault(first.rsplit("/", 2)[0], operation.path_parameters)
    for parameters in lists.values():
        seen: dict[tuple[str, str], str] = {}
        for at, parameter in parameters:
            where = str(parameter.get("in"))
            name = str(parameter.get("name"))
            key = (name.lower() if where == "header" else name, where)
            if key in seen:
                yield Issue(
                    at,
                    f"parameter {name!r} in {where} is already declared at {seen[key]}; remove one",
                )
            else:
                seen[key] = at


# --- lint rules: operations ---------------------------------------------------------------


def _api_operations(ctx: LintContext) -> Iterator[OperationInfo]:
    return (op for op in ctx.operations if op.kind != "callback")


@_rule("operation-operationId", "warning", "Every operation has an operationId.")
def _operation_id(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if _blank(operation.node.get("operationId")):
            yield Issue(
                operation.pointer,
                f"{operation.label}: add an operationId; clients, links and reports use it",
            )


@_rule("operation-operationId-unique", "error", "No two operations share an operationId.")
def _operation_id_unique(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    for operation in _api_operations(ctx):
        operation_id = operation.node.get("operationId")
        if isinstance(operation_id, str):
            if operation_id in seen:
                yield Issue(
                    _p(operation.pointer, "operationId"),
                    f"operationId {operation_id!r} is also used by {seen[operation_id]}; "
                    "make it unique",
                )
            else:
                seen[operation_id] = operation.label


_URL_SAFE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*$")


@_rule(
    "operation-operationId-valid-in-url",
    "warning",
    "operationIds contain only characters that are valid in a URL.",
)
def _operation_id_url(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        operation_id = operation.node.get("operationId")
        if isinstance(operation_id, str) and not _URL_SAFE.match(operation_id):
            yield Issue(
                _p(operation.pointer, "operationId"),
                f"operationId {operation_id!r} has characters that are not valid in a URL; "
                "use letters, digits, '-', '_' and '.'",
            )


@_rule("operation-description", "warning", "Every operation has a non-empty description.")
def _operation_description(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if _blank(operation.node.get("description")):
            yield Issue(operation.pointer, f"{operation.label}: add a description")


@_rule("operation-summary", "warning", "Every operation has a non-empty summary.")
def _operation_summary(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if _blank(operation.node.get("summary")):
            yield Issue(operation.pointer, f"{operation.label}: add a one-line summary")


@_rule("operation-tags", "warning", "Every operation has a non-empty tags list.")
def _operation_tags(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if not isinstance(tags, list) or not tags:
            yield Issue(operation.pointer, f"{operation.label}: add tags to group it")


@_rule("operation-singular-tag", "off", "Every operation has at most one tag.")
def _operation_singular_tag(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if isinstance(tags, list) and len(tags) > 1:
            yield Issue(_p(operation.pointer, "tags"), f"{operation.label}: keep a single tag")


@_rule("operation-tag-defined", "warning", "Operation tags are defined in the top-level tags.")
def _operation_tag_defined(ctx: LintContext) -> Iterator[Issue]:
    defined = {tag.get("name") for _, tag in _tags(ctx)}
    for operation in _api_operations(ctx):
        tags = operation.node.get("tags")
        if isinstance(tags, list):
            for index, tag in enumerate(tags):
                if tag not in defined:
                    yield Issue(
                        f"{operation.pointer}/tags/{index}",
                        f"tag {tag!r} is not defined; add it to the top-level 'tags' list",
                    )


def _responses(operation: OperationInfo) -> list[str]:
    responses = operation.node.get("responses")
    return [str(code) for code in responses] if isinstance(responses, dict) else []


@_rule(
    "operation-success-response",
    "warning",
    "Every operation has at least one 2xx or 3xx response.",
)
def _operation_success(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        codes = _responses(operation)
        if not any(code[:1] in ("2", "3") for code in codes):
            yield Issue(
                _p(operation.pointer, "responses"),
                f"{operation.label}: add a 2xx or 3xx response",
            )


@_rule("operation-4xx-response", "warning", "Every operation has at least one 4xx response.")
def _operation_4xx(ctx: LintContext) -> Iterator[Issue]:
    for operation in _api_operations(ctx):
        if operation.kind != "path":
            continue
        if not any(code[:1] == "4" for code in _responses(operation)):
            yield Issue(
                _p(operation.pointer, "responses"),
                f"{operation.label}: describe at least one 4xx response (such as 400 or 404)",
            )


@_rule(
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
                    _p(pointer, name),
                    f"security scheme {name!r} is not defined in components.securitySchemes",
                )
            elif scheme.get("type") == "oauth2" and isinstance(scopes, list):
                known = {
                    scope
                    for flow in (scheme.get("flows") or {}).values()
                    if isinstance(flow, dict)
                    for scope in (flow.get("scopes") or {})
                }
                for index, scope in enumerate(scopes):
                    if scope not in known:
                        yield Issue(
                            f"{_p(pointer, name)}/{index}",
                            f"scope {scope!r} is not defined by any flow of {name!r}",
                        )


@_rule(
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


@_rule("oas3-parameter-description", "off", "Every parameter has a description.")
def _parameter_description(ctx: LintContext) -> Iterator[Issue]:
    for pointer, parameter in ctx.parameters:
        if _blank(parameter.get("description")):
            yield Issue(pointer, f"add a description to parameter {parameter.get('name')!r}")


# --- lint rules: links --------------------------------------------------------------------

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


@_rule(
    "oas3-links-parameters-expression",
    "error",
    "Link parameters and request bodies use valid runtime expressions.",
)
def _link_expressions(ctx: LintContext) -> Iterator[Issue]:
    for pointer, link in ctx.links:
        parameters = link.get("parameters")
        values: list[tuple[str, Any]] = []
        if isinstance(parameters, dict):
            values = [(_p(_p(pointer, "parameters"), k), v) for k, v in parameters.items()]
        if "requestBody" in link:
            values.append((_p(pointer, "requestBody"), link["requestBody"]))
        for at, value in values:
            for expression in _expressions(value):
                if not _EXPRESSION.match(expression):
                    yield Issue(
                        at,
                        f"{expression!r} is not a runtime expression; use $url, $method, "
                        "$statusCode, $request.path.<name>, $response.body#/<pointer>, ...",
                    )


@_rule(
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
                    _p(pointer, "operationId"),
                    f"link to operationId {operation_id!r}, which no operation has{hint}",
                )
                continue
        elif isinstance(operation_ref, str):
            if operation_ref.startswith("#/"):
                normal = format_pointer(parse_pointer(operation_ref, uri_fragment=True))
                target = by_pointer.get(normal)
                if target is None:
                    yield Issue(
                        _p(pointer, "operationRef"),
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
                    _p(_p(pointer, "parameters"), name),
                    f"{target.label} has no parameter {name!r}",
                )


# --- lint rules: references and components ------------------------------------------------


@_rule(
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
                    _p(pointer, key),
                    f"{key!r} next to $ref is ignored in OpenAPI 3.0; move it into the "
                    "referenced object or wrap the $ref in allOf",
                )


@_rule("oas3-unused-component", "warning", "Every reusable component is referenced.")
def _unused_component(ctx: LintContext) -> Iterator[Issue]:
    components = ctx.document.get("components")
    if not isinstance(components, dict):
        return
    used: set[tuple[str, str]] = set()
    refs = [node.get("$ref") for _, node in ctx.refs]
    for ref in [*refs, *ctx.mapping_refs]:
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
                        _p(f"#/components/{kind}", name),
                        f"components.{kind}.{name} is never referenced; use it or remove it",
                    )


@_rule(
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


# --- lint rules: schemas ------------------------------------------------------------------


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    return [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else []


def _enum_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str) + type(value).__name__


@_rule("duplicated-entry-in-enum", "warning", "Enum values are not repeated.")
def _duplicated_enum(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["enum"]:
        enum = schema.get("enum")
        if isinstance(enum, list):
            seen: set[str] = set()
            for index, value in enumerate(enum):
                key = _enum_key(value)
                if key in seen:
                    yield Issue(
                        f"{pointer}/enum/{index}", f"enum value {_short(value)} is repeated"
                    )
                seen.add(key)


_PY_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


@_rule("typed-enum", "warning", "Enum values match the schema's type.")
def _typed_enum(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["enum"]:
        enum, types = schema.get("enum"), _types(schema)
        if not isinstance(enum, list) or not types:
            continue
        if schema.get("nullable") is True:
            types = [*types, "null"]
        checks = [_PY_TYPES[t] for t in types if t in _PY_TYPES]
        for index, value in enumerate(enum):
            if checks and not any(check(value) for check in checks):
                yield Issue(
                    f"{pointer}/enum/{index}",
                    f"enum value {_short(value)} is not of type {' or '.join(types)}",
                )


@_rule("array-items", "error", "Array schemas define their items.")
def _array_items(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["array"]:
        if "array" in _types(schema) and "items" not in schema and "prefixItems" not in schema:
            yield Issue(pointer, "a schema with type: array needs 'items'")


@_rule("nullable-type-sibling", "warning", "In OpenAPI 3.0, 'nullable' comes with a 'type'.")
def _nullable_type(ctx: LintContext) -> Iterator[Issue]:
    if ctx.version != "3.0":
        return
    for pointer, schema in ctx.keyed["nullable"]:
        if "type" not in schema:
            yield Issue(
                _p(pointer, "nullable"),
                "'nullable' has no effect without 'type' in OpenAPI 3.0; add the type",
            )


@_rule(
    "no-required-schema-properties-undefined",
    "warning",
    "Properties listed as required are defined.",
)
def _required_defined(ctx: LintContext) -> Iterator[Issue]:
    for pointer, schema in ctx.keyed["required"]:
        required, properties = schema.get("required"), schema.get("properties")
        if not isinstance(required, list) or not isinstance(properties, dict):
            continue
        if any(key in schema for key in ("allOf", "anyOf", "oneOf", "$ref")):
            continue
        for index, name in enumerate(required):
            if isinstance(name, str) and name not in properties:
                yield Issue(
                    f"{pointer}/required/{index}",
                    f"required property {name!r} is not defined in 'properties'",
                )


_EVAL = re.compile(r"eval\(")
_SCRIPT = re.compile(r"<script", re.IGNORECASE)


@_rule("no-eval-in-markdown", "warning", "Descriptions and titles do not contain 'eval('.")
def _no_eval(ctx: LintContext) -> Iterator[Issue]:
    for pointer, text in ctx.texts:
        if _EVAL.search(text):
            yield Issue(pointer, "remove 'eval(' from this text: renderers may execute it")


@_rule("no-script-tags-in-markdown", "warning", "Descriptions and titles contain no <script> tag.")
def _no_script(ctx: LintContext) -> Iterator[Issue]:
    for pointer, text in ctx.texts:
        if _SCRIPT.search(text):
            yield Issue(pointer, "remove the <script> tag from this text")


# --- lint rules: examples -----------------------------------------------------------------


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
        if key in _SCHEMA_ONE or key in _SCHEMA_MANY:
            out[key] = _convert_30(value, refs)
        elif key in _SCHEMA_MAP and isinstance(value, dict):
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
            if key in _SCHEMA_ONE or key in _SCHEMA_MANY:
                _collect_refs_31(value, refs)
            elif key in _SCHEMA_MAP and isinstance(value, dict):
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
        node = _lookup(ctx.document, pointer)
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


def _example_results(ctx: LintContext) -> dict[int, str | list[_Problem]]:
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
        node = _lookup(ctx.document, site.schema_pointer)
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
    results: dict[int, str | list[_Problem]] = {}
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
        return cls(schema, registry=registry, validate_formats=True)

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
                    problems.extend(_Problem(p.path[1:], p.message) for p in _describe(error))
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
                compiled[key] = f"cannot check this example: its schema is invalid: {exc}"
        validator = compiled[key]
        if isinstance(validator, str):
            results[index] = validator.splitlines()[0]
            continue
        value = ctx.examples[index].value
        try:
            if not validator.is_valid(value):
                results[index] = [p for e in validator.iter_errors(value) for p in _describe(e)]
        except (ValueError, TypeError) as exc:
            results[index] = f"this example is not JSON data: {exc}"
    return results


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
        yield Issue(
            site.pointer, f"example does not match its schema{where}: {first.message}{more}"
        )


@_rule(
    "oas3-valid-media-example",
    "error",
    "Examples of media types, parameters and headers are valid against their schema.",
)
def _valid_media_example(ctx: LintContext) -> Iterator[Issue]:
    return _example_issues(ctx, "media")


@_rule(
    "oas3-valid-schema-example",
    "error",
    "A schema's example, examples and default are valid against the schema.",
)
def _valid_schema_example(ctx: LintContext) -> Iterator[Issue]:
    return _example_issues(ctx, "schema")


# --- running the rules --------------------------------------------------------------------


def _levels(settings: Mapping[str, str] | None, extends: str) -> dict[str, str]:
    """Effective level per rule id, after the base ruleset and the user's settings."""
    problems: list[str] = []
    if extends not in EXTENDS:
        problems.append(
            f"openapi.extends: {extends!r} is not a ruleset; use one of {', '.join(EXTENDS)}"
        )
    levels: dict[str, str] = {}
    for rule in RULES.values():
        level = rule.severity
        if extends == "minimal" and level != "error":
            level = "off"
        elif extends == "all" and level == "off":
            level = "warning"
        elif extends == "none" and not rule.structural:
            level = "off"
        levels[rule.id] = level
    for rule_id, level in (settings or {}).items():
        if rule_id not in RULES:
            close = difflib.get_close_matches(rule_id, list(RULES), n=1, cutoff=0.5)
            hint = f" -> did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"openapi.rules: unknown rule {rule_id!r}{hint} Valid rules: "
                + ", ".join(sorted(RULES))
            )
        elif level not in LEVELS:
            problems.append(
                f"openapi.rules.{rule_id}: {level!r} is not a severity; use one of "
                + ", ".join(LEVELS)
            )
        else:
            levels[rule_id] = level
    if problems:
        raise ConfigError(problems)
    return levels


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.rstrip("/") if prefix not in ("#/", "/") else ""
    return prefix if prefix.startswith("#") else "#" + prefix


def _run(
    spec: Spec,
    rules: Iterable[Rule],
    levels: Mapping[str, str],
    ignore: Iterable[str],
) -> list[Finding]:
    ctx = _context(spec)
    prefixes = [_normalise_prefix(p) for p in ignore]
    issues: list[tuple[Rule, Severity, str, str]] = []
    for rule in rules:
        level = levels.get(rule.id, rule.severity)
        if level == "off":
            continue
        for pointer, message in rule.check(ctx):
            if not any(p == "#" or pointer == p or pointer.startswith(p + "/") for p in prefixes):
                issues.append((rule, Severity(level), pointer, message))
    located: dict[str, str] = {}
    if spec.source is not None:
        located = spec.locate_many(p for _, _, p, _ in issues if not p.startswith("@"))
    ranked: list[tuple[tuple[str, int], Finding]] = []
    for rule, severity, pointer, message in issues:
        if pointer.startswith("@"):  # already a file:line
            where = location = pointer[1:]
        elif pointer in located:
            where = located[pointer]
            location = f"{where} ({pointer})"
        else:
            where = location = pointer
        file, _, line = where.rpartition(":")
        order = (file, int(line)) if line.isdigit() else (where, 0)
        ranked.append((order, Finding(rule.id, message, severity, location)))
    ranked.sort(key=lambda item: item[0])
    return [finding for _, finding in ranked]


_SECTION_KEYS = frozenset(("rules", "ignore", "extends", "enabled"))


@dataclass(frozen=True)
class _Settings:
    levels: dict[str, str]
    ignore: list[str]
    enabled: bool


def _settings(settings: Mapping[str, Any] | None, ignore: Iterable[str], extends: str) -> _Settings:
    """Rule levels and ignored pointers from a rule map or from a whole ``openapi`` section."""
    rules: Mapping[str, Any] | None = settings
    ignored = list(ignore)
    enabled = True
    if settings and set(settings) <= _SECTION_KEYS:  # the config section itself
        rules = settings.get("rules") or {}
        ignored += list(settings.get("ignore") or [])
        extends = settings.get("extends", extends)
        enabled = settings.get("enabled", True) is not False
    return _Settings(_levels(rules, extends), ignored, enabled)


def validate_document(
    spec: Spec, settings: Mapping[str, Any] | None = None, *, ignore: Iterable[str] = ()
) -> list[Finding]:
    """Structural validity: the official meta-schema, resolvable references, unique keys.

    Every problem at once, each located at ``file:line (#/pointer)``. A version other than
    3.0.x or 3.1.x is one error. ``settings`` (a rule map, or the whole ``openapi`` config
    section) may change the severity of these rules (``oas3-schema``, ``no-unresolved-refs``,
    ``no-duplicate-keys``) like any other, and ``ignore`` drops findings under pointers.
    """
    config = _settings(settings, ignore, "recommended")
    if not config.enabled:
        return []
    rules = [r for r in RULES.values() if r.structural]
    return _run(spec, rules, config.levels, config.ignore)


def lint_spec(
    spec: Spec,
    settings: Mapping[str, Any] | None = None,
    *,
    ignore: Iterable[str] = (),
    extends: str = "recommended",
) -> list[Finding]:
    """Run the lint rules of ``RULES`` (not the structural ones) over ``spec``.

    ``settings`` maps a rule id to ``"error"``, ``"warning"``, ``"info"`` or ``"off"`` over the
    ``extends`` base ruleset; an unknown id or severity raises ConfigError with a suggestion.
    Findings under an ``ignore`` pointer prefix are dropped. The whole ``openapi`` config
    section (``{"rules": ..., "ignore": ..., "extends": ...}``) is accepted as ``settings`` too.
    """
    config = _settings(settings, ignore, extends)
    if not config.enabled:
        return []
    rules = [r for r in RULES.values() if not r.structural]
    return _run(spec, rules, config.levels, config.ignore)


def check_openapi(spec: Spec, section: Mapping[str, Any] | None = None) -> list[Finding]:
    """Validity then lint, configured by the ``openapi`` section of deployment-config.json."""
    section = {"rules": {}, **(section or {})}  # always read as a section, even when empty
    _settings(section, (), "recommended")  # report configuration problems before any work
    return [*validate_document(spec, section), *lint_spec(spec, section)]

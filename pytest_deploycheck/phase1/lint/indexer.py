"""The index: one walk over the OpenAPI structure that fills a :class:`LintContext`.

:class:`Indexer` walks info, servers, paths, webhooks, components, tags and security
requirements down to every schema, records each ``$ref`` rather than entering it (and the
references made from the ``x-webhooks`` extension, which it does not walk), and
collects the lists the rules read. The JSON Schema keywords that hold subschemas
(``SCHEMA_ONE``, ``SCHEMA_MANY``, ``SCHEMA_MAP``) are here too: the example rules convert
schemas along the same keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pytest_deploycheck.core.spec import HTTP_METHODS, Spec, format_pointer, parse_pointer

from .context import ExampleSite, LintContext, OperationInfo, Place, p, pointer_of

SCHEMA_ONE = (
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
SCHEMA_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAP = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
# the keywords that put a schema in a list of the index, by its pointer
_POINTED = frozenset(
    {"$ref", "enum", "required", "nullable", "pattern", "patternProperties", "example"}
    | {"default", "examples"}
)
_SCHEMA_SHAPES = {
    **dict.fromkeys(SCHEMA_ONE, "one"),
    **dict.fromkeys(SCHEMA_MANY, "many"),
    **dict.fromkeys(SCHEMA_MAP, "map"),
}


class Indexer:
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
                self.path_item(item, p("#/paths", key), str(key), "path")
        webhooks = doc.get("webhooks")
        if isinstance(webhooks, dict):
            for key, item in webhooks.items():
                self.path_item(item, p("#/webhooks", key), str(key), "webhook")
        # 3.0 has no webhooks: GitHub and others describe theirs in this extension. Only
        # what it references counts; its operations are not the API's own.
        _collect_refs(doc.get("x-webhooks"), self.ctx.extension_refs)
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

    def texts(self, node: Mapping[str, Any], pointer: Place) -> None:
        for key in ("description", "title", "summary"):
            value = node.get(key)
            if isinstance(value, str):
                self.ctx.texts.append((pointer, key, value))

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
                    walker(node, p(base, name))

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
            self.server_list(item.get("servers"), p(pointer, "servers"), kind)
        shared = self.parameter_list(item.get("parameters"), p(pointer, "parameters"))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                at = p(pointer, method)
                if first:
                    self.operation(operation, at, method, path, kind, shared)
                elif path is not None:
                    own = self.parameter_list(operation.get("parameters"), p(at, "parameters"))
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
        own = self.parameter_list(node.get("parameters"), p(pointer, "parameters"))
        if path is not None:
            self.ctx.operations.append(
                OperationInfo(method, path, pointer, node, kind, own, shared)
            )
        self.texts(node, pointer)
        body = node.get("requestBody")
        if body is not None:
            self.request_body(body, p(pointer, "requestBody"))
        responses = node.get("responses")
        if isinstance(responses, dict):
            for code, response in responses.items():
                self.response(response, p(p(pointer, "responses"), str(code)))
        callbacks = node.get("callbacks")
        if isinstance(callbacks, dict):
            if kind == "webhook":
                self.ctx.misplaced.append(("oas3_1-callbacks-in-webhook", p(pointer, "callbacks")))
            if kind == "callback":
                self.ctx.misplaced.append(("oas3-callbacks-in-callbacks", p(pointer, "callbacks")))
            for name, callback in callbacks.items():
                self.callback(callback, p(p(pointer, "callbacks"), name), "callback")
        self.requirements(node.get("security"), p(pointer, "security"))
        self.server_list(node.get("servers"), p(pointer, "servers"), kind)

    def parameter_list(self, node: Any, pointer: str) -> list[tuple[str, Mapping[str, Any]]]:
        found: list[tuple[str, Mapping[str, Any]]] = []
        if isinstance(node, list):
            for index, parameter in enumerate(node):
                at = p(pointer, index)
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
        schema_pointer = p(pointer, "schema")
        if schema is not None:
            self.schema(schema, schema_pointer)
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, p(p(pointer, "content"), media_type))
        if schema is None:
            return
        if "example" in node:
            self.ctx.examples.append(
                ExampleSite(p(pointer, "example"), schema_pointer, node["example"], "media")
            )
        examples = node.get("examples")
        if isinstance(examples, dict):
            for name, example in examples.items():
                at = p(p(pointer, "examples"), name)
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
                    base = p(p(p(pointer, "encoding"), name), "headers")
                    for header_name, header in headers.items():
                        self.header(header, p(base, header_name))

    def request_body(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        self.texts(node, pointer)
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, p(p(pointer, "content"), media_type))

    def response(self, node: Any, pointer: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        self.texts(node, pointer)
        headers = node.get("headers")
        if isinstance(headers, dict):
            for name, header in headers.items():
                self.header(header, p(p(pointer, "headers"), name))
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                self.media(media, p(p(pointer, "content"), media_type))
        links = node.get("links")
        if isinstance(links, dict):
            for name, link in links.items():
                self.link(link, p(p(pointer, "links"), name))

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
            self.ctx.servers.append((p(pointer, "server"), server, "link"))

    def callback(self, node: Any, pointer: str, kind: str) -> None:
        if self.ref(node, pointer) or not isinstance(node, dict):
            return
        for expression, item in node.items():
            self.path_item(item, p(pointer, expression), None, kind)

    def security_scheme(self, node: Any, pointer: str) -> None:
        if not self.ref(node, pointer) and isinstance(node, dict):
            self.texts(node, pointer)

    def requirements(self, node: Any, pointer: str) -> None:
        if isinstance(node, list):
            for index, requirement in enumerate(node):
                if isinstance(requirement, dict):
                    self.ctx.security.append((p(pointer, index), requirement))

    def server_list(self, node: Any, pointer: str, kind: str) -> None:
        if not isinstance(node, list):
            return
        if kind == "webhook":
            self.ctx.misplaced.append(("oas3_1-servers-in-webhook", pointer))
        for index, server in enumerate(node):
            if isinstance(server, dict):
                self.texts(server, p(pointer, index))
                self.ctx.servers.append((p(pointer, index), server, kind))

    def schema(self, node: Any, place: Place) -> None:
        if not isinstance(node, dict):
            return
        declared = node.get("type")
        array = declared == "array" or (isinstance(declared, list) and "array" in declared)
        if not array and node.keys().isdisjoint(_POINTED):
            # nothing here is listed by its pointer: its subschemas and texts get places
            self.texts(node, place)
            self.subschemas(node, place)
            return
        pointer = place if isinstance(place, str) else pointer_of(place)
        if "$ref" in node:
            self.ctx.refs.append((pointer, node))
            if self.is_30:
                return
        keyed = self.ctx.keyed
        for key in ("enum", "required", "nullable"):
            if key in node:
                keyed[key].append((pointer, node))
        if array:
            keyed["array"].append((pointer, node))
        if "pattern" in node or "patternProperties" in node:
            keyed["pattern"].append((pointer, node))
        self.texts(node, pointer)
        for key in ("example", "default"):
            if key in node:
                self.ctx.examples.append(ExampleSite(p(pointer, key), pointer, node[key], "schema"))
        examples = node.get("examples")
        if not self.is_30 and isinstance(examples, list):
            for index, value in enumerate(examples):
                at = p(p(pointer, "examples"), index)
                self.ctx.examples.append(ExampleSite(at, pointer, value, "schema"))
        self.subschemas(node, pointer)

    def subschemas(self, node: Mapping[str, Any], place: Place) -> None:
        """The anchor, discriminator mapping and subschemas of the schema ``node``."""
        anchor = node.get("$anchor")
        if isinstance(anchor, str):
            self.ctx.anchors.add(anchor)
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
                self.schema(sub, (place, key))
            elif shape == "many" or (key == "items" and isinstance(sub, list)):
                # items as a list: draft-4 tuples, in odd documents
                if isinstance(sub, list):
                    base = (place, key)
                    for index, item in enumerate(sub):
                        self.schema(item, (base, index))
            elif shape == "map" and isinstance(sub, dict):
                base = (place, key)
                for name, item in sub.items():
                    self.schema(item, (base, name))


def _collect_refs(node: Any, refs: list[str]) -> None:
    """Every ``$ref`` string below ``node``, in an extension the walk does not enter."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)

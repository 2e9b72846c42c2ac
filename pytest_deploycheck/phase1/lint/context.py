"""The lint context: what one walk over the document finds, as the rules read it.

:class:`LintContext` holds the lists (operations, schemas, references, examples, servers,
...) that the indexer fills; each rule then reads only the lists it needs. Here too are the
small readers of the document that the indexer and the rules share: ``p`` (a child pointer),
``lookup`` (the node at a local ``$ref``) and ``blank`` (a missing or empty text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pytest_deploycheck.core.spec import Spec, parse_pointer

from .schema_errors import Problem


def p(pointer: str, key: str | int) -> str:
    """``pointer`` with one more token, ``key``, escaped as a JSON pointer needs."""
    if isinstance(key, int):
        return f"{pointer}/{key}"
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{key}"


Place: TypeAlias = "str | tuple[Place, str | int]"
"""A JSON pointer, or (the place of the parent, key): the index keeps the pointers of the
many schemas no rule reads as places, and makes the string only for a finding."""


def pointer_of(place: Place) -> str:
    """The JSON pointer of ``place``."""
    keys: list[str | int] = []
    while not isinstance(place, str):
        place, key = place
        keys.append(key)
    for key in reversed(keys):
        place = p(place, key)
    return place


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
    """An example value (or a schema's default) and the schema it must satisfy."""

    pointer: str  # where the example is written
    schema_pointer: str
    value: Any
    kind: str  # "media" (media types, parameters, headers) or "schema"

    @property
    def is_default(self) -> bool:
        """Whether this is a schema's ``default`` rather than an example."""
        return self.kind == "schema" and self.pointer.endswith("/default")


@dataclass
class LintContext:
    """What one walk over the document found; the rules read it."""

    spec: Spec
    version: str
    operations: list[OperationInfo] = field(default_factory=list)
    path_items: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    refs: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    # (place of the object, key, text): the text's own pointer is made only for a finding;
    # a large document holds 100,000s of descriptions
    texts: list[tuple[Place, str, str]] = field(default_factory=list)
    examples: list[ExampleSite] = field(default_factory=list)
    example_objects: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    parameters: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    servers: list[tuple[str, Mapping[str, Any], str]] = field(default_factory=list)
    security: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    links: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    mapping_refs: list[str] = field(default_factory=list)
    # references made from extensions the walk does not enter (x-webhooks)
    extension_refs: list[str] = field(default_factory=list)
    # Schemas with a keyword some rule looks at: "enum", "required", "nullable", "array",
    # "pattern" (or patternProperties).
    keyed: dict[str, list[tuple[str, Mapping[str, Any]]]] = field(
        default_factory=lambda: {
            key: [] for key in ("enum", "required", "nullable", "array", "pattern")
        }
    )
    anchors: set[str] = field(default_factory=set)
    # (rule id, pointer): callbacks and servers where they are not wanted
    misplaced: list[tuple[str, str]] = field(default_factory=list)
    _example_results: dict[int, str | list[Problem]] | None = field(default=None, repr=False)

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
            node = lookup(self.document, ref)
        return node


_MISSING = object()


def lookup(document: Any, ref: str) -> Any:
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


def blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()

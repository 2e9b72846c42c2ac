"""Resources of their own for the checks that delete one: create it, then delete that.

A check of ``DELETE /items/{id}`` sent with the spec's example id would remove the example
resource that later checks read and name in their requests (a negative test of
``POST /orders`` naming the example item then gets 404, whatever the service does with the
invalid body). Instead, ``create_disposable`` sends the collection's create request
(``POST /items``, built like an availability probe) and reads the new resource's id from the
answer; the deleting check then names that id: the probe through its parameter overrides,
the generated tests through a copy of the spec whose example is that id (``with_examples``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from pytest_deploycheck.core.effects import Effect, creator_of, effect_of
from pytest_deploycheck.core.spec import Operation, Spec

from .probes import ProbeRequest

__all__ = ["Disposable", "ExampleKeeper", "create_disposable", "with_examples"]

_SCHEMA_EXAMPLES = ("example", "examples", "default", "enum", "const")


@dataclass(frozen=True, slots=True)
class Disposable:
    """A resource created for one deleting check: the parameter naming it, and its value."""

    created_by: str
    parameter: str
    value: str

    def describe(self) -> str:
        return f"on {self.parameter}={self.value}, created by {self.created_by} for this check"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _identifier(body: Any, parameter: str) -> str | None:
    """The new resource's id in a create answer: the field named like the path parameter
    (``item_id``, ``itemId``), else ``id``, in the body or in its ``data`` envelope."""
    for candidate in (body, body.get("data") if isinstance(body, Mapping) else None):
        if not isinstance(candidate, Mapping):
            continue
        for key in (parameter, _camel(parameter), "id", "ID", "_id"):
            value = candidate.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


def create_disposable(
    client: httpx.Client,
    creator: Operation,
    parameter: str,
    build_request: Callable[[Operation], ProbeRequest],
) -> Disposable | str:
    """Create one resource with ``creator`` and return how to name it, or why it could not
    be created (the deleting check then falls back to the spec's examples)."""
    request = build_request(creator)
    kwargs: dict[str, Any] = {"params": request.params, "headers": request.headers}
    if request.has_body:
        kwargs["json"] = request.json
    try:
        response = client.request(request.method, request.url_path, **kwargs)
    except httpx.HTTPError as exc:
        return f"{creator.label} could not create one ({type(exc).__name__}: {exc})"
    if not 200 <= response.status_code < 300:
        return f"{creator.label} answered {response.status_code} to its example request"
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    value = _identifier(body, parameter)
    location = response.headers.get("location")
    if value is None and location:
        value = re.split(r"[/?#]", location.rstrip("/").split("?")[0])[-1] or None
    if value is None:
        return f"{creator.label} answered without an id (no {parameter!r}, 'id' or Location)"
    return Disposable(creator.label, parameter, value)


def with_examples(
    spec: Spec, resources: Sequence[tuple[Operation, Disposable]], *, pin: bool = False
) -> dict[str, Any]:
    """A copy of the spec's document in which each operation's path parameter naming its
    resource has the created resource as its only example, so generated requests (and the
    state machine's first steps) delete what was created for them, not the examples.

    ``pin`` makes it the parameter's only valid value too: generated valid input (the
    coverage phase's boundary values, such as an integer id's minimum) then never names
    another resource. Negative tests keep the schema, since everything outside a pinned
    value would be "invalid", real ids included."""
    document = copy.deepcopy(spec.document)
    for operation, own in resources:
        examples = _examples_of(spec, operation, own.parameter)
        # wherever else the example resource is named (a request body's example, another
        # operation's parameter), the created one is named instead: the state machine
        # follows values from one answer to the next request, a delete included
        document = _replaced(document, examples, own.value)
        _set_example(document, spec, operation, own.parameter, own.value, pin)
    return document


def _examples_of(spec: Spec, operation: Operation, parameter: str) -> set[str]:
    """The example values the spec gives the path parameter naming the resource."""
    values: set[str] = set()
    for declared in operation.parameters:
        if declared.get("name") != parameter or declared.get("in") != "path":
            continue
        schema = spec.resolve(declared.get("schema") or {})
        candidates = [declared.get("example")]
        for examples in (declared.get("examples"), schema.get("examples")):
            if isinstance(examples, Mapping):
                candidates += [spec.resolve(e).get("value") for e in examples.values()]
            elif isinstance(examples, list):
                candidates += examples
        candidates += [schema.get("example"), schema.get("default")]
        values.update(str(v) for v in candidates if isinstance(v, str | int) and str(v))
    return values


def _typed(value: str, schema: Any) -> Any:
    """``value`` as the schema's type: an integer id stays an integer."""
    kinds = schema.get("type") if isinstance(schema, Mapping) else None
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if ("integer" in kinds or "number" in kinds) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value


def _replaced(node: Any, old: set[str], new: str) -> Any:
    if isinstance(node, dict):
        return {key: _replaced(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_replaced(value, old, new) for value in node]
    if isinstance(node, str) and node in old:
        return new
    return node


def _set_example(
    document: dict[str, Any],
    spec: Spec,
    operation: Operation,
    parameter: str,
    value: str,
    pin: bool,
) -> None:
    definition = document["paths"][operation.path][operation.method]
    declared = next(
        (p for p in operation.parameters if p.get("name") == parameter and p.get("in") == "path"),
        {"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}},
    )
    inlined = {k: copy.deepcopy(v) for k, v in declared.items() if k not in ("example", "examples")}
    resolved = spec.resolve(inlined.get("schema") or {})
    schema: dict[str, Any] = {}
    if isinstance(resolved, Mapping):
        schema = {k: copy.deepcopy(v) for k, v in resolved.items() if k not in _SCHEMA_EXAMPLES}
    typed = _typed(value, schema)
    inlined["schema"] = {**schema, "enum": [typed]} if pin else schema
    inlined["example"] = typed

    def same(candidate: Any) -> bool:
        resolved = spec.resolve(candidate)
        return (
            isinstance(resolved, Mapping)
            and resolved.get("name") == parameter
            and resolved.get("in") == "path"
        )

    # an operation's own parameter overrides the path item's one of the same name and place
    others = [p for p in definition.get("parameters") or [] if not same(p)]
    definition["parameters"] = [*others, inlined]


BuildRequest = Callable[[Spec, Operation], ProbeRequest]


@dataclass
class ExampleKeeper:
    """Keeps the spec's example resources there for the checks that name them.

    Checks that delete run on resources of their own (``own_resource``). When a check may
    still have deleted an example (the state machine follows a list answer to a delete;
    an operation that resets data; a delete with nothing to create its resource),
    ``may_have_deleted`` says so; the next ``spec_for`` then asks for each example resource
    that a delete could remove, and recreates the ones that are gone: later checks get a
    copy of the spec naming the new ones (``with_examples``).
    """

    spec: Spec
    build_request: BuildRequest
    # parameters the config sets itself (availability.parameters): never replaced
    fixed: frozenset[str] = frozenset()
    _current: dict[str, Spec] = field(default_factory=dict)
    _at_risk: set[str] = field(default_factory=set)

    def deleting(self, label: str) -> tuple[Operation, Operation, str] | None:
        """(the operation, its creator, the parameter) when ``label`` deletes what another
        creates, and the config does not name the resource itself."""
        operation = next((op for op in self.spec.operations if op.label == label), None)
        if operation is None or effect_of(operation) is not Effect.DELETE:
            return None
        found = creator_of(self.spec, operation)
        if found is None or found[1] in self.fixed:
            return None
        return operation, found[0], found[1]

    def own_resource(self, client: httpx.Client, label: str) -> Disposable | str | None:
        """A resource created now for the deleting ``label`` (or why none could be); None
        when ``label`` deletes nothing another operation creates."""
        found = self.deleting(label)
        if found is None:
            return None
        spec = self._current.get(_key(client.base_url), self.spec)
        return create_disposable(
            client, found[1], found[2], lambda op: self.build_request(spec, op)
        )

    def may_have_deleted(self, base_url: str) -> None:
        """A check at ``base_url`` may have deleted example resources."""
        self._at_risk.add(_key(base_url))

    def spec_for(self, client: httpx.Client) -> Spec:
        """The spec to build requests from at the client's target: the repository's, or a
        copy naming resources recreated after a check deleted the examples."""
        base_url = _key(client.base_url)
        current = self._current.get(base_url, self.spec)
        if base_url not in self._at_risk:
            return current
        self._at_risk.discard(base_url)
        build = self.build_request
        # two passes: an order's example names an item, recreated in the same pass or before
        for _ in range(2):
            recreated = False
            for operation in current.operations:
                found = creator_of(current, operation) if operation.method == "get" else None
                if found is None or found[1] in self.fixed:
                    continue
                if not self._gone(client, current, operation, found[1]):
                    continue
                own = create_disposable(client, found[0], found[1], partial(build, current))
                if isinstance(own, Disposable):
                    document = with_examples(current, [(operation, own)])
                    current = Spec(document=document, source=self.spec.source)
                    recreated = True
            if not recreated:
                break
        self._current[base_url] = current
        return current

    def _gone(self, client: httpx.Client, spec: Spec, reader: Operation, parameter: str) -> bool:
        """Whether the example resource ``reader`` (a GET) names answers 404 or 410."""
        if not _examples_of(spec, reader, parameter):
            return False
        request = self.build_request(spec, reader)
        try:
            response = client.get(request.url_path, params=request.params, headers=request.headers)
        except httpx.HTTPError:
            return False
        return response.status_code in (404, 410)


def _key(url: object) -> str:
    return str(url).rstrip("/")

"""Resources of their own for the checks that delete, and examples recreated once gone."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.live.disposable import (
    Disposable,
    ExampleKeeper,
    create_disposable,
    with_examples,
)
from pytest_deploycheck.live.probes import build_probe

EXAMPLE = "6f1d7c2e-4b8a-4e3f-9c5d-2a7b8e9f0a11"
ITEM_ID = {
    "name": "itemId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid", "example": EXAMPLE},
    "example": EXAMPLE,
}
SPEC = Spec(
    document={
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "paths": {
            "/items": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"example": {"name": "kettle"}}}
                    },
                    "responses": {"201": {"description": "created"}},
                }
            },
            "/items/{itemId}": {
                "parameters": [{"$ref": "#/components/parameters/ItemId"}],
                "get": {"responses": {"200": {"description": "ok"}}},
                "delete": {"responses": {"204": {"description": "deleted"}}},
            },
            "/orders": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"example": {"itemId": EXAMPLE, "quantity": 2}}
                        }
                    },
                    "responses": {"201": {"description": "ordered"}},
                }
            },
        },
        "components": {"parameters": {"ItemId": ITEM_ID}},
    }
)
OPS = {op.label: op for op in SPEC.operations}


class Shop:
    """A service that creates items with ids it picks, and deletes them."""

    def __init__(self, answer: dict[str, Any] | None = None, status: int = 201) -> None:
        self.items = {EXAMPLE}
        self.created = 0
        self.answer = answer
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/items":
            self.created += 1
            new = f"00000000-0000-4000-8000-{self.created:012d}"
            self.items.add(new)
            body = self.answer if self.answer is not None else {"id": new, "name": "kettle"}
            return httpx.Response(self.status, json=body, headers={"Location": f"/items/{new}"})
        item = path.removeprefix("/items/")
        if request.method == "GET":
            return httpx.Response(200 if item in self.items else 404, json={})
        if request.method == "DELETE" and item in self.items:
            self.items.discard(item)
            return httpx.Response(204)
        return httpx.Response(404, json={})


def client(shop: Shop) -> httpx.Client:
    return httpx.Client(base_url="http://shop.test", transport=httpx.MockTransport(shop))


def build(spec: Spec, operation: Any) -> Any:
    return build_probe(spec, operation)


def test_a_deleting_check_gets_a_resource_of_its_own() -> None:
    shop = Shop()
    with client(shop) as http:
        own = create_disposable(http, OPS["POST /items"], "itemId", lambda op: build(SPEC, op))

    assert own == Disposable("POST /items", "itemId", "00000000-0000-4000-8000-000000000001")
    assert own.describe() == (
        "on itemId=00000000-0000-4000-8000-000000000001, created by POST /items for this check"
    )


def test_the_id_comes_from_the_field_named_like_the_parameter_or_the_location() -> None:
    for answer, expected in (
        ({"data": {"itemId": "abc"}}, "abc"),
        ({"item_id": 41, "id": 1}, "1"),  # "id" beats a field spelled otherwise
        ({"name": "no id here"}, "00000000-0000-4000-8000-000000000001"),  # Location
    ):
        with client(Shop(answer)) as http:
            own = create_disposable(http, OPS["POST /items"], "itemId", lambda op: build(SPEC, op))
        assert isinstance(own, Disposable)
        assert own.value == expected


def test_a_failed_create_says_why() -> None:
    with client(Shop(status=422)) as http:
        reason = create_disposable(http, OPS["POST /items"], "itemId", lambda op: build(SPEC, op))
    assert reason == "POST /items answered 422 to its example request"


def test_the_created_resource_replaces_the_example_everywhere() -> None:
    own = Disposable("POST /items", "itemId", "new-id")

    document = with_examples(SPEC, [(OPS["DELETE /items/{itemId}"], own)], pin=True)

    delete = document["paths"]["/items/{itemId}"]["delete"]
    (parameter,) = delete["parameters"]
    assert parameter["example"] == "new-id"
    # pinned: generated valid input can name no other item
    assert parameter["schema"] == {"type": "string", "format": "uuid", "enum": ["new-id"]}
    # another operation's example body names it too, so a sequence cannot reach the example
    order = document["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert order["example"]["itemId"] == "new-id"
    assert EXAMPLE not in json.dumps(document)
    # the repository's spec is untouched
    assert SPEC.document["components"]["parameters"]["ItemId"]["example"] == EXAMPLE


def test_examples_a_check_deleted_are_recreated_for_the_next_ones() -> None:
    shop = Shop()
    keeper = ExampleKeeper(SPEC, build)
    with client(shop) as http:
        assert keeper.spec_for(http) is SPEC  # nothing deleted yet: nothing asked
        keeper.may_have_deleted("http://shop.test")
        assert keeper.spec_for(http) is SPEC  # the example is still there
        assert shop.created == 0

        shop.items.discard(EXAMPLE)  # a check deleted it
        keeper.may_have_deleted("http://shop.test")
        recreated = keeper.spec_for(http)

    assert shop.created == 1
    new = "00000000-0000-4000-8000-000000000001"
    get = next(op for op in recreated.operations if op.label == "GET /items/{itemId}")
    assert build_probe(recreated, get).url_path == f"/items/{new}"
    order = next(op for op in recreated.operations if op.label == "POST /orders")
    assert build_probe(recreated, order).json == {"itemId": new, "quantity": 2}

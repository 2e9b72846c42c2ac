"""The order the gate's checks run in: reads and negative tests first, deletes last."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.core.effects import Effect, creator_of, effect_of
from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.gate.checks import Check, Outcome
from pytest_deploycheck.gate.ordering import gate_order

OK = {"responses": {"200": {"description": "ok"}}}
SPEC = Spec(
    document={
        "openapi": "3.1.0",
        "info": {"title": "Shop", "version": "1"},
        "paths": {
            "/items": {"get": OK, "post": OK},
            "/items/{id}": {"get": OK, "put": OK, "delete": OK},
            "/orders": {"post": OK},
            "/admin/reset": {"post": {**OK, "operationId": "resetData"}},
        },
    }
)


def check(family: str, phase: str, param: str | None = None, round_: str | None = None) -> Check:
    return Check(family, phase, lambda _: Outcome(), param, round_)


CHECKS = [
    check("openapi", "phase1", "validity", "round2"),
    check("health", "phase1", None, "round3"),
    check("availability", "phase1", "DELETE /items/{id}", "round3"),
    check("availability", "phase1", "GET /items", "round3"),
    check("health", "phase2"),
    check("availability", "phase2", "POST /items"),
    check("availability", "phase2", "GET /items/{id}"),
    check("drift", "phase2"),
    check("contract", "phase3", "DELETE /items/{id}"),
    check("contract", "phase3", "POST /orders"),
    check("contract", "phase3", "POST /admin/reset"),
    check("negative", "phase3", "POST /orders"),
    check("negative", "phase3", "DELETE /items/{id}"),
    check("contract", "phase3", "GET /items#2"),
    check("stateful", "phase3"),
    check("smoke", "phase3", "book"),
    check("performance", "phase3", "GET /items"),
]


def test_effects_and_creators() -> None:
    effects = {op.label: effect_of(op) for op in SPEC.operations}
    assert effects == {
        "GET /items": Effect.READ,
        "POST /items": Effect.WRITE,
        "GET /items/{id}": Effect.READ,
        "PUT /items/{id}": Effect.WRITE,
        "DELETE /items/{id}": Effect.DELETE,
        "POST /orders": Effect.WRITE,
        "POST /admin/reset": Effect.DELETE,  # named so
    }
    by_label = {op.label: op for op in SPEC.operations}
    found = creator_of(SPEC, by_label["DELETE /items/{id}"])
    assert found is not None
    assert (found[0].label, found[1]) == ("POST /items", "id")
    assert creator_of(SPEC, by_label["POST /admin/reset"]) is None


@given(st.randoms(use_true_random=False))
def test_whatever_the_order_given_reads_come_first_and_deletes_last(shuffle: random.Random) -> None:
    given_order = list(CHECKS)
    shuffle.shuffle(given_order)

    ordered = gate_order(given_order, lambda c: c, SPEC)

    names = [f"{c.phase}:{c.name}" for c in ordered]
    phases = [c.phase for c in ordered]
    assert phases == sorted(phases)  # phase1, then phase2, then phase3
    position = {name: index for index, name in enumerate(names)}
    # round 2 before round 3; in each phase, reads and negative tests before writes...
    assert position["phase1:openapi[validity]"] < position["phase1:health"]
    assert (
        position["phase1:availability[GET /items]"]
        < position["phase1:availability[DELETE /items/{id}]"]
    )
    assert (
        position["phase2:availability[GET /items/{id}]"]
        < position["phase2:availability[POST /items]"]
    )
    for read in ("negative[POST /orders]", "performance[GET /items]", "contract[GET /items#2]"):
        assert position[f"phase3:{read}"] < position["phase3:contract[POST /orders]"]
        assert position[f"phase3:{read}"] < position["phase3:smoke[book]"]
    # ...and writes before what deletes or resets, the state machine included
    for deleting in (
        "contract[DELETE /items/{id}]",
        "negative[DELETE /items/{id}]",
        "contract[POST /admin/reset]",
        "stateful",
    ):
        assert position[f"phase3:{deleting}"] > position["phase3:contract[POST /orders]"]
        assert position[f"phase3:{deleting}"] > position["phase3:smoke[book]"]


def test_items_that_are_not_checks_keep_their_places() -> None:
    items: list[object] = ["mine", CHECKS[9], "also mine", CHECKS[8], CHECKS[3]]

    ordered = gate_order(items, lambda i: i if isinstance(i, Check) else None, SPEC)

    assert ordered[0] == "mine"
    assert ordered[2] == "also mine"
    assert [ordered[1], ordered[3], ordered[4]] == [CHECKS[3], CHECKS[9], CHECKS[8]]

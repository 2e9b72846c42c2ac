"""Collecting the gate: -m and -k judged before the items exist, as pytest would judge them.

Each case collects a tiny project twice in process, once as shipped and once with the
pre-selection switched off (every item built, then deselected by pytest itself): the node
ids must be the same.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from pytest_deploycheck.items import Selection
from tests.test_plugin import write_project

pytest_plugins = ["pytester"]

# every family planned: nothing runs in these tests, so nothing needs to exist
FAMILIES: dict[str, Any] = {
    "service": {"name": "tiny"},
    "static_analysis": {"commands": [{"name": "lint", "argv": ["true"]}]},
    "env": {"variables": {"TINY_TOKEN": {"type": "string", "default": "x"}}},
    "breaking": {"base": "openapi.yaml"},
    "bundle": {"artifacts": [{"name": "app", "path": "dist/*.js", "max_size": "1 MiB"}]},
    "migrations": {"folder": "migrations"},
    "database": {},
    "models": {"pydantic": {"Item": "models:Item"}},
    "contract": {},
    "drift": {},
    "tls": {},
    "performance": {},
    "smoke": {
        "flows": [{"name": "read one", "steps": [{"name": "get", "request": {"path": "/items"}}]}]
    },
}

# a conftest marks some of the gate's items after they are built: a registered marker that
# -m or -k names must still select them
CONFTEST = """
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a conftest's own marker")

def pytest_collection_modifyitems(items):
    for item in items:
        if "availability" in item.name and "POST" in item.name:
            item.add_marker(pytest.mark.slow)
"""

EXPRESSIONS = [
    ("-m", "phase1"),
    ("-m", "phase2 or phase3"),
    ("-m", "phase1 and openapi"),
    ("-m", "not phase1"),
    ("-m", "round3 and not health"),
    ("-m", "phase3 and (contract or negative)"),
    ("-m", "availability and not phase1"),
    ("-m", "health or tls or smoke"),
    ("-m", "phase1 and not round1 and not round2"),
    ("-m", "slow"),
    ("-m", "phase2 and slow"),
    ("-m", "not slow and phase3"),
    ("-k", "phase2 and items"),
    ("-k", "item_id"),
    ("-k", "not lint"),
    ("-k", "get and not phase3"),
    ("-k", "health or validity"),
    ("-k", "availability and not POST"),
    ("-k", "deployment-config"),
    ("-k", "item_id]"),
    ("-k", "phase1 and not round3"),
    ("-k", "SLOW"),
    ("-k", "read"),
    ("-k", "not contract and not negative and not performance"),
    ("-k", "tls or env"),
]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester, **FAMILIES)
    (pytester.path / "migrations").mkdir()
    pytester.makeconftest(CONFTEST)
    return pytester


def collected(pytester: pytest.Pytester, *args: str) -> tuple[int, list[str]]:
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider", *args)
    ids = [line for line in result.outlines if "::" in line and not line.startswith(" ")]
    return int(result.ret), ids


def built_then_deselected(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, list[str]]:
    """What pytest alone selects: every item built, -m and -k left to pytest."""
    with monkeypatch.context() as patch:
        patch.setattr(Selection, "active", property(lambda self: False))
        return collected(pytester, *args)


@pytest.mark.parametrize(("option", "expression"), EXPRESSIONS)
def test_selection_before_building_equals_pytest_deselection(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: str, expression: str
) -> None:
    expected = built_then_deselected(project, monkeypatch, option, expression)
    assert collected(project, option, expression) == expected


def test_the_reference_builds_every_item(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above means something: without -m / -k, many items exist."""
    ret, everything = built_then_deselected(project, monkeypatch)
    assert ret == 0
    assert len(everything) == 32
    assert collected(project) == (0, everything)


@pytest.mark.parametrize(
    "args",
    [
        ("-m", "phase2", "-k", "items"),
        ("-m", "not phase1", "-k", "not POST and not read"),
        ("-m", "phase3", "-k", "item_id and not negative"),
    ],
)
def test_mark_and_keyword_together(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    expected = built_then_deselected(project, monkeypatch, *args)
    assert expected[1]
    assert collected(project, *args) == expected


def test_an_invalid_expression_is_reported_by_pytest(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--collect-only", "-m", "phase1 and")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*Wrong expression passed to '-m'*"])


def test_only_the_selected_items_are_built(project: pytest.Pytester) -> None:
    """-m "phase1 and openapi" builds its 2 items; no other planner runs, and the spec,
    which only other planners read, is not even loaded."""
    project.makeconftest(
        CONFTEST
        + """
BUILT = []

def pytest_itemcollected(item):
    BUILT.append(item.nodeid)

def pytest_collection_finish(session):
    from pytest_deploycheck.items import SESSIONS_KEY
    state = session.config.stash[SESSIONS_KEY].default
    with open("built.json", "w") as out:
        json.dump({"built": BUILT, "spec_loaded": state._spec is not None}, out)

import json
"""
    )
    result = project.runpytest_inprocess("-m", "phase1 and openapi", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    built = json.loads((project.path / "built.json").read_text())
    assert built == {
        "built": [
            "deployment-config.json::phase1::openapi[validity]",
            "deployment-config.json::phase1::openapi[lint]",
        ],
        "spec_loaded": False,
    }


def test_kinds_a_planner_does_not_declare_are_refused(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping a planner is only safe when it declares every kind of check it yields."""
    # the module the inner run will use (pytester drops modules an earlier run imported)
    planners = importlib.import_module("pytest_deploycheck.gate.planners")

    monkeypatch.setitem(planners.KINDS, planners._plan_openapi, (("phase1", "round2", "lint"),))
    result = project.runpytest_inprocess("--collect-only", "-q")
    assert result.ret != 0
    assert "_plan_openapi yielded ('phase1', 'round2', 'openapi'), not declared" in (
        result.stdout.str() + result.stderr.str()
    )


def test_selection_unit() -> None:
    """Unknown markers may be added later, so they never exclude; gate markers decide."""
    from pytest_deploycheck.gate.checks import Check, Outcome

    def check(family: str, phase: str, param: str, round_: str | None = None) -> Check:
        return Check(family, phase, lambda s: Outcome(), param, round_)

    lint = check("openapi", "phase1", "lint", "round2")
    probe = check("availability", "phase2", "GET /items")
    selection = Selection("phase1 and not custom", "", markers=["custom"])
    assert selection.selects(lint)
    assert not selection.selects(probe)
    assert Selection("custom", "").selects(probe)  # a conftest may add it
    assert not Selection("phase2 and openapi", "").may_select_kind(lint.kind)
    keyword = Selection("", "items and not POST", context=["deployment-config.json", "phase2"])
    assert keyword.selects(probe)
    assert not keyword.selects(lint)
    # a word matching a registered marker's name may come with that marker later
    assert Selection("", "slo", markers=["slow"]).selects(lint)
    assert not Selection("", "slo").selects(lint)
    assert not Selection("", "").active


def test_a_static_check_runs_with_the_collector_held() -> None:
    """Paused while it runs; after, its garbage collected and what it built frozen."""
    import gc
    import weakref

    from pytest_deploycheck.items import _collector_held

    class Node:
        me: Any = None

    frozen = gc.get_freeze_count()
    with _collector_held():
        assert not gc.isenabled()
        garbage = Node()
        garbage.me = garbage
        dead = weakref.ref(garbage)
        del garbage
        kept = [Node() for _ in range(100)]
    try:
        assert gc.isenabled()
        assert dead() is None
        assert gc.get_freeze_count() >= frozen + len(kept)
        # a collector the user turned off stays off, and nothing is frozen for it
        gc.disable()
        with _collector_held():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()

"""A config written wrong on purpose: one line per problem, bounded, never a traceback.

Deep nesting, NUL characters and lone surrogates, huge values and keys, thousands of broken
references, nested defaults, NaN and durations past any timer's range, and settings that
name an operation the spec lacks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.core.config import (
    OPERATION_SETTINGS,
    config_from_text,
    interpolate,
    operation_problems,
    schema_document,
)
from pytest_deploycheck.core.config.interpolation import MAX_NESTED_DEFAULTS
from pytest_deploycheck.core.errors import MAX_PROBLEMS_LISTED, ConfigError, SpecError
from pytest_deploycheck.core.spec import MAX_SPEC_DEPTH, load_spec
from pytest_deploycheck.core.units import (
    MAX_DURATION,
    parse_duration,
    parse_percent,
    parse_size,
)

REPOSITORY = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = json.loads((REPOSITORY / "deployment-config.json").read_text("utf-8"))
CONFIG = REPOSITORY / "deployment-config.json"


def load(text: str, environ: dict[str, str] | None = None) -> Any:
    return config_from_text(text, CONFIG, environ or {})


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, environ)
    return caught.value.problems


def with_changes(**sections: Any) -> str:
    return json.dumps({**BASE, **sections})


# -- 6: nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [70, 600, 100_000])
def test_a_deeply_nested_config_is_one_problem(depth: int) -> None:
    text = json.dumps(BASE)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    (problem,) = problems(text)
    assert "nested more than 64 levels deep" in problem
    assert len(problem) < 600


def test_deep_nesting_inside_a_reference_default_is_bounded() -> None:
    value = "".join("${A:-" for _ in range(500)) + "x" + "}" * 500
    (problem,) = problems(with_changes(service={"name": "svc", "environment": value}))
    assert problem.startswith("service.environment: ")
    assert f"nest more than {MAX_NESTED_DEFAULTS} deep" in problem


def test_a_spec_nested_100000_deep_is_a_spec_error(tmp_path: Path) -> None:
    head = '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "x": '
    depth = 100_000
    for name in ("deep.json", "deep.yaml"):
        (tmp_path / name).write_text(head + "[" * depth + "]" * depth + "}", encoding="utf-8")
        with pytest.raises(SpecError, match=r"nested more than \d+ levels deep|nesting depth"):
            load_spec(tmp_path / name)
    shallow = head + "[" * (MAX_SPEC_DEPTH - 10) + "]" * (MAX_SPEC_DEPTH - 10) + "}"
    (tmp_path / "shallow.json").write_text(shallow, encoding="utf-8")
    assert load_spec(tmp_path / "shallow.json").operations == []


# -- 7: NUL characters and lone surrogates --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('"specs/a\\u0000b.yaml"', "NUL character"),
        ('"specs/\\ud800.yaml"', "lone surrogate (\\ud800)"),
    ],
)
def test_nul_and_lone_surrogates_are_one_problem_at_their_key(raw: str, words: str) -> None:
    text = json.dumps(BASE).replace('"specs/booking.openapi.yaml"', raw)
    (problem,) = problems(text)
    assert problem.startswith("spec: contains a ")
    assert words in problem
    problem.encode("utf-8")  # printable: a lone surrogate would fail here


def test_a_nul_in_a_key_and_a_surrogate_from_the_environment() -> None:
    text = with_changes(service={"name": "svc", "environment": "${ENV_NAME}"}).replace(
        '"local": {', '"bad\\u0000key": 1, "local": {'
    )
    found = problems(text, {"ENV_NAME": "prod\udcff"})
    assert any(line.startswith("service.environment: contains a lone surrogate") for line in found)
    assert any("the key contains a NUL character" in line for line in found)
    for line in found:
        line.encode("utf-8")


# -- 8: echoes and problem counts are capped ---------------------------------------------------


def test_a_huge_key_and_value_are_echoed_shortened() -> None:
    big = "k" * 1_000_000
    found = problems(with_changes(**{big: 1}, health={"path": 7, "method": "x" * 1_000_000}))
    assert found
    assert all(len(line) < 600 for line in found)
    message = str(ConfigError(found))
    assert len(message) < 5_000


def test_half_a_million_broken_references_are_one_line() -> None:
    # they were 500,000 lines (84 MB); benchmarks/bench_hostile_input.py measures the time
    found = problems(with_changes(spec="${" * 500_000))
    assert found == [
        "spec: holds 500,000 '${': a value takes at most 1,000 references; write fewer "
        "(or $${ for a literal '${')"
    ]


def test_many_broken_references_are_counted_in_one_problem() -> None:
    (problem,) = problems(with_changes(spec="${1}" * 20))
    assert problem.startswith("spec: '${1}' is not a valid reference (and 19 more in this value)")


def test_a_list_of_problems_shows_the_first_ones_and_how_many_more() -> None:
    unknown = {f"unknown_{index}": index for index in range(5_000)}
    with pytest.raises(ConfigError) as caught:
        load(json.dumps({**BASE, **unknown}))
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{CONFIG}: 5,000 problems:"
    assert len(lines) == MAX_PROBLEMS_LISTED + 2
    assert lines[-1] == f"  - ... and {5_000 - MAX_PROBLEMS_LISTED:,} more"


# -- 10: nested defaults --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://localhost:8000"),
        ({"FALLBACK_URL": "http://fallback"}, "http://fallback"),
        ({"PRIMARY_URL": "http://primary"}, "http://primary"),
        ({"PRIMARY_URL": "", "FALLBACK_URL": "http://fallback"}, "http://fallback"),
    ],
)
def test_defaults_nest(environ: dict[str, str], expected: str) -> None:
    value = "${PRIMARY_URL:-${FALLBACK_URL:-http://localhost:8000}}"
    result = interpolate({"url": value}, environ)
    assert result.problems == ()
    assert result.value == {"url": expected}


def test_an_unset_variable_in_an_unused_default_is_no_problem() -> None:
    result = interpolate("${A:-${B}}", {"A": "set"})
    assert (result.value, result.problems) == ("set", ())
    result = interpolate("${A:-${B}}", {})
    assert [problem.message for problem in result.problems] == [
        "environment variable B is not set: set it, or give a default with ${B:-value}"
    ]


def test_nested_default_in_a_config_reaches_the_setting() -> None:
    config = load(with_changes(target={**BASE["target"], "base_url": "${A:-${B:-http://h:1}}"}))
    assert config.base_url == "http://h:1"


def test_an_unclosed_nested_default_is_named() -> None:
    (problem,) = problems(with_changes(spec="${A:-${B:-x}"))
    assert problem.startswith("spec: '${A:-${B:-x}' is not a valid reference")


# -- 11: bounded numbers and durations ----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"timeout": "99999999999999999999d"}, "target.timeout: must be a duration of at most 30d"),
        ({"timeout": "31d"}, "target.timeout: must be a duration of at most 30d"),
        ({"timeout": "1" * 500 + "s"}, "target.timeout: must be a duration of at most 30d"),
    ],
)
def test_durations_are_bounded(target: dict[str, str], expected: str) -> None:
    (problem,) = problems(with_changes(target={**BASE["target"], **target}))
    assert problem.startswith(expected)


@pytest.mark.parametrize("written", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000])
def test_numbers_are_finite(written: str) -> None:
    text = json.dumps(BASE).replace('"fail_below": 50', f'"fail_below": {written}')
    (problem,) = problems(text)
    assert problem.startswith("scoring.fail_below: must be a finite number")


def test_every_number_of_the_schema_is_bounded() -> None:
    unbounded = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            kinds = node.get("type")
            kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
            free = "string" in kinds or "boolean" in kinds  # a request parameter's value
            bounded = "maximum" in node or "exclusiveMaximum" in node
            if ("number" in kinds or "integer" in kinds) and not free and not bounded:
                unbounded.append(where)
            for key, item in node.items():
                if key not in ("default", "examples", "const", "enum"):
                    walk(item, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}/{index}")

    document = schema_document()
    walk(document, "#")
    assert unbounded == []
    common = document["$defs"]["common"]["$defs"]
    assert common["duration"]["maxDuration"] == "30d"
    assert common["size"]["maxSize"] == "1 TiB"
    assert common["percent"]["maxPercent"] == "1000%"


def test_the_parsers_refuse_what_no_timer_can_hold() -> None:
    assert parse_duration("30d") == MAX_DURATION
    for bad in ("99999999999999999999d", "31d", math.nan, math.inf, 10**400):
        with pytest.raises(ValueError, match="at most 30d"):
            parse_duration(bad)
    with pytest.raises(ValueError, match="at most 1 TiB"):
        parse_size("9" * 400 + " GiB")
    with pytest.raises(ValueError, match="at most 1000%"):
        parse_percent("9" * 400 + "%")
    with pytest.raises(ValueError, match="expected a duration") as caught:
        parse_duration("x" * 100_000)
    assert len(str(caught.value)) < 200


# -- 12: every setting that names an operation ---------------------------------------------------


def test_operation_settings_list_every_setting_whose_schema_takes_an_operation() -> None:
    document = schema_document()
    found = set()
    for section, schema in document["$defs"].items():
        for key, prop in (schema.get("properties") or {}).items():
            text = json.dumps(prop)
            takes_items = '"items": {"$ref": "#/$defs/common/$defs/operation"}' in text
            takes_keys = '"propertyNames": {"$ref": "#/$defs/common/$defs/operation"}' in text
            if section == "monitor" and key == "probes":
                takes_items = True  # "health" or an operation label
            if takes_items:
                found.add((section, key, "items"))
            if takes_keys:
                found.add((section, key, "keys"))
    assert found == set(OPERATION_SETTINGS)


def test_operation_problems_name_each_setting() -> None:
    labels = {"GET /providers", "GET /appointments"}
    config = {
        "monitor": {"probes": ["health", "DELETE /nothing/here", "GET /providers"]},
        "scoring": {"operations": {"GET /provider": {"target": "1s"}}},
        "collect": {"measure": ["GET /appointments"]},
    }
    assert [str(problem) for problem in operation_problems(config, labels)] == [
        "scoring.operations[\"GET /provider\"]: 'GET /provider' is not an operation of the "
        "spec -> did you mean 'GET /providers'?",
        "monitor.probes[1]: 'DELETE /nothing/here' is not an operation of the spec; "
        "operations look like 'GET /appointments'",
    ]

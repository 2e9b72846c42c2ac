"""The repository's config, mutated 600 ways: each mutant is a valid config or a clean error.

Clean means: a ``ConfigError`` (or ``SpecError``) whose message is one line per problem,
bounded, printable, without a traceback; a valid config's settings parse without raising
anything else. The mutants come from a seeded generator, so every run checks the same ones,
in-process and fast; a few of them also go through the real ``deploycheck check-config`` and
``pytest`` processes, for their exit codes and their stderr.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.after.collect import CollectSettings
from pytest_deploycheck.after.monitor import MonitorSettings
from pytest_deploycheck.after.rollback import RollbackSettings
from pytest_deploycheck.core.config import Config, config_from_text
from pytest_deploycheck.core.errors import MAX_PROBLEMS_LISTED, ConfigError, DeployCheckError

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = REPOSITORY / "deployment-config.json"
BASE: dict[str, Any] = json.loads(CONFIG.read_text("utf-8"))
DEPLOYCHECK = Path(sys.executable).with_name("deploycheck")
MUTANTS = 600
SEED = 13


@dataclass
class Mutant:
    """A mutated config: the data, then text-level edits, and the kinds of change made."""

    data: Any
    kinds: list[str] = field(default_factory=list)
    placeholders: dict[str, str] = field(default_factory=dict)
    text_edits: list[Callable[[str], str]] = field(default_factory=list)

    def text(self) -> str:
        text = json.dumps(self.data, indent=1)  # NaN and Infinity are written as Python does
        for marker, raw in self.placeholders.items():
            text = text.replace(json.dumps(marker), raw)
        for edit in self.text_edits:
            text = edit(text)
        return text


def slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a JSON document, the root included."""
    yield path, node
    if isinstance(node, dict):
        for key, item in node.items():
            yield from slots(item, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from slots(item, (*path, index))


def put(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    holder = data
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return data


def pick(rng: random.Random, data: Any, want: Callable[[Any], bool]) -> tuple[Any, ...] | None:
    found = [path for path, value in slots(data) if path and want(value)]
    return rng.choice(found) if found else None


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_duration(value: Any) -> bool:
    return isinstance(value, str) and value[:1].isdigit() and value[-1:] in "smhd"


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


# -- the kinds of mutation ------------------------------------------------------------------------


def swap_type(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, lambda _value: True)
    if path is not None:
        other = rng.choice([0, -1, 3.5, "", "text", True, None, [], {}, [1, "a"], {"k": 1}])
        put(mutant.data, path, other)


def nest_deeply(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, lambda _value: True)
    depth = rng.choice([65, 300, 1_000, 5_000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    marker = f"__deep_{len(mutant.placeholders)}__"
    mutant.placeholders[marker] = opener * depth + "1" + closer * depth
    put(mutant.data, path or ("deep",), marker)


def huge_string(rng: random.Random, mutant: Mutant) -> None:
    big = rng.choice(["x", "${", "/", "é"]) * rng.choice([10_000, 1_000_000 // 2])
    if rng.random() < 0.5:
        path = pick(rng, mutant.data, is_string)
        if path is not None:
            put(mutant.data, path, big)
    else:
        path = pick(rng, mutant.data, is_object)
        holder = mutant.data
        for step in path or ():
            holder = holder[step]
        holder[big] = "value"


def nul_or_surrogate(rng: random.Random, mutant: Mutant) -> None:
    bad = rng.choice(["\x00", "\ud800", "\udcff", "a\x00b", "\udfff\ud800"])
    if rng.random() < 0.7:
        path = pick(rng, mutant.data, is_string)
        if path is not None:
            value = mutant.data
            for step in path:
                value = value[step]
            cut = rng.randrange(len(value) + 1)
            put(mutant.data, path, value[:cut] + bad + value[cut:])
    else:
        path = pick(rng, mutant.data, is_object)
        holder = mutant.data
        for step in path or ():
            holder = holder[step]
        holder[f"key{bad}"] = 1


def not_finite(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, lambda value: isinstance(value, int | float | str))
    raw = rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5_000, "1" * 40])
    marker = f"__number_{len(mutant.placeholders)}__"
    mutant.placeholders[marker] = raw
    put(mutant.data, path or ("number",), marker)


def huge_duration(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, is_duration)
    if path is not None:
        value = rng.choice(["99999999999999999999d", "31d", "1" * 400 + "ms", "0.0000001ms"])
        put(mutant.data, path, value)


def unknown_key(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, is_object)
    holder = mutant.data
    for step in path or ():
        holder = holder[step]
    holder[rng.choice(["servise", "timeout_ms", "$ref", "", " ", "x" * 300, "probes"])] = 1


def broken_interpolation(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, is_string)
    if path is not None:
        broken = rng.choice(
            [
                "${",
                "${1X}",
                "${A:-",
                "${A:-${B",
                "${A:-${B:-${C:-x}}}",
                "${UNSET_VARIABLE}",
                "$${literal}",
                "${A B}",
                "${A:=x}",
                "${" * 2_000,
                "${A:-" * 20 + "x" + "}" * 20,
                "${API_TOKEN:-}",
            ]
        )
        put(mutant.data, path, broken)


def remove_key(rng: random.Random, mutant: Mutant) -> None:
    path = pick(rng, mutant.data, lambda _value: True)
    if path:
        holder = mutant.data
        for step in path[:-1]:
            holder = holder[step]
        del holder[path[-1]]


def odd_number(rng: random.Random, mutant: Mutant) -> None:
    path = pick(
        rng, mutant.data, lambda value: isinstance(value, int) and not isinstance(value, bool)
    )
    if path is not None:
        put(mutant.data, path, rng.choice([-1, 0, 10**30, -(10**30), 2**63, 0.5, -0.0]))


def duplicate_key(rng: random.Random, mutant: Mutant) -> None:
    section = rng.choice(list(BASE))
    mutant.text_edits.append(
        lambda text: text.replace(f'"{section}": ', f'"{section}": 1, "{section}": ', 1)
    )


def break_syntax(rng: random.Random, mutant: Mutant) -> None:
    choice = rng.random()
    seed = rng.random()

    def edit(text: str) -> str:
        at = int(seed * len(text))
        if choice < 0.3:
            return text[:at]
        if choice < 0.6:
            return text[:at] + rng.choice('{}[],:"\\') + text[at + 1 :]
        return text[:at] + "// comment\n" + text[at:]

    mutant.text_edits.append(edit)


MUTATIONS: dict[str, Callable[[random.Random, Mutant], None]] = {
    "type swap": swap_type,
    "deep nesting": nest_deeply,
    "huge string": huge_string,
    "NUL or surrogate": nul_or_surrogate,
    "NaN, Infinity, huge number": not_finite,
    "huge duration": huge_duration,
    "unknown key": unknown_key,
    "broken interpolation": broken_interpolation,
    "removed key": remove_key,
    "odd number": odd_number,
    "duplicate key": duplicate_key,
    "broken syntax": break_syntax,
}


def mutants() -> list[Mutant]:
    rng = random.Random(SEED)
    made = []
    names = list(MUTATIONS)
    for index in range(MUTANTS):
        mutant = Mutant(copy.deepcopy(BASE))
        # every kind alone first, then mixes of two or three
        chosen = [names[index % len(names)]]
        if index >= len(names) * 10:
            chosen += rng.sample(names, rng.choice([1, 2]))
        for name in chosen:
            MUTATIONS[name](rng, mutant)
            mutant.kinds.append(name)
        made.append(mutant)
    return made


ENVIRON = {"API_TOKEN": "tok-fuzz-4417", "A": "", "DEPLOY_ENV": "fuzz"}


def use(config: Config) -> None:
    """Read the settings whose values feed timers, loops and commands."""
    assert config.timeout >= 0
    _ = (config.local, config.headers, config.base_url, config.spec_path, config.service_name)
    for parse in (
        lambda: MonitorSettings.from_config(config.section("monitor")),
        lambda: MonitorSettings.from_config(config.section("monitor"), watch=True),
        lambda: CollectSettings.from_config(config.section("collect")),
        lambda: RollbackSettings.from_config(config.section("rollback")),
    ):
        try:
            parse()
        except ConfigError as exc:  # a semantic check of its own: a clean error too
            assert_clean(str(exc))


def assert_clean(message: str) -> None:
    lines = message.splitlines()
    assert lines, "an empty error"
    assert "Traceback" not in message
    assert len(lines) <= MAX_PROBLEMS_LISTED + 2
    for line in lines:
        assert len(line) <= 600, line[:200]
        line.encode("utf-8")  # printable: no lone surrogate reaches a terminal


def test_600_mutants_of_the_repository_config_are_valid_or_clean_errors() -> None:
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for mutant in mutants():
        kinds.update(mutant.kinds)
        text = mutant.text()
        try:
            config = config_from_text(text, CONFIG, ENVIRON)
        except DeployCheckError as exc:
            assert_clean(str(exc))
            outcomes["error"] += 1
        else:
            use(config)
            outcomes["valid"] += 1
    assert sum(outcomes.values()) == MUTANTS
    # both ends are reached, and every kind of mutation was made many times
    assert outcomes["error"] > MUTANTS // 2
    assert outcomes["valid"] > 20
    assert set(kinds) == set(MUTATIONS)
    assert min(kinds.values()) >= 40


# -- through the real processes -------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose config can name the repository's spec, examples and migrations."""
    root = tmp_path_factory.mktemp("fuzzed")
    for name in ("specs", "examples"):
        (root / name).symlink_to(REPOSITORY / name)
    return root


PROCESS_CASES = {
    "deep nesting": (json.dumps(BASE)[:-1] + ', "x": ' + "[" * 5_000 + "]" * 5_000 + "}"),
    "NUL in spec": json.dumps({**BASE, "spec": "specs/a\x00.yaml"}),
    "lone surrogate": json.dumps({**BASE, "spec": "specs/\ud800.yaml"}),
    "huge duration": json.dumps(
        {**BASE, "target": {**BASE["target"], "timeout": "99999999999999999999d"}}
    ),
    "many references": json.dumps({**BASE, "spec": "${" * 200_000}),
    "unknown probe": json.dumps(
        {**BASE, "monitor": {**BASE["monitor"], "probes": ["health", "GET /nope"]}}
    ),
}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYCHECK_", "PYTEST_"))}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("case", list(PROCESS_CASES))
def test_check_config_exits_2_with_one_line_per_problem(project: Path, case: str) -> None:
    path = project / f"{case.replace(' ', '-')}.json"
    path.write_text(PROCESS_CASES[case], encoding="utf-8")
    result = run([str(DEPLOYCHECK), "check-config", "--config", str(path)], project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"deploycheck: error: {path}: 1 problem:")
    assert len(lines) == 2
    assert lines[1].startswith("  - ")
    assert_clean(result.stderr)


@pytest.mark.parametrize("case", ["deep nesting", "unknown probe"])
def test_pytest_exits_4_with_the_problem_and_no_traceback(project: Path, case: str) -> None:
    path = project / "deployment-config.json"
    path.write_text(PROCESS_CASES[case], encoding="utf-8")
    result = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(path)], project
    )
    assert result.returncode == 4, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "ERROR: deployment-config.json: 1 problem:" in output
    assert "Traceback" not in output
    assert "RecursionError" not in output
    assert_clean(output)

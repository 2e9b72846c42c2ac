"""From ``deploycheck init`` to a green, meaningful gate on repositories the gate has never
seen: a Starlette app, a Flask app (served by waitress) and a Node service started from its
``package.json``, each with an OpenAPI 3.0 spec in camelCase over snake_case SQL migrations
(``tests/fixtures/adoption``), Pydantic models with aliases (the Python ones) and a
``.env.example`` that declares a required secret.

Each repository is built once per module in a temporary git repository; ``init`` configures
it, then real pytest processes run the gate against the service it starts: green; red on the
env check without the secret; and, with a seeded fault (an order naming an existing item is
accepted whatever else its body holds) and a DELETE of that item in the spec, the negative
check catches the fault whichever order the items run in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_deploycheck.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "adoption"
SECRET = "pay-tok-4f9a2c71e0"
# a plugin that runs the collected items backwards, after every other reordering
REVERSE = """\
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    yield
    items.reverse()
"""


@dataclass(frozen=True)
class Adopted:
    """A repository after ``deploycheck init``: its folder, the config, what init said."""

    framework: str
    root: Path
    config: dict[str, object]
    explanation: str

    def pytest(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``pytest deployment-config.json ARGS`` in the repository, as its user runs it."""
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DEPLOYCHECK_", "PYTEST_", "SHOP_", "PAYMENTS_"))
        }
        # the package under test, and the repository (for the reordering plugin)
        clean["PYTHONPATH"] = os.pathsep.join([str(REPO), str(self.root)])
        argv = [sys.executable, "-m", "pytest", "deployment-config.json", "-p", "no:cacheprovider"]
        return subprocess.run(
            [*argv, "-rA", *args],
            cwd=self.root,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )


def _build(framework: str, root: Path) -> None:
    parts = ["common", framework] if framework == "node" else ["common", "python", framework]
    for part in parts:
        shutil.copytree(FIXTURES / part, root, dirs_exist_ok=True)
    (root / "reverse_order.py").write_text(REVERSE)
    git = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the shop"], cwd=root, check=True)


@pytest.fixture(scope="module", params=["starlette", "flask", "node"])
def adopted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Adopted:
    framework = str(request.param)
    if framework == "node" and not (shutil.which("node") and shutil.which("npm")):
        pytest.fail("the Node service needs node and npm on PATH (the machine's Node.js)")
    root = tmp_path_factory.mktemp(framework)
    _build(framework, root)
    result = CliRunner().invoke(main, ["init", str(root)])
    assert result.exit_code == 0, result.output
    path = root / "deployment-config.json"
    config = json.loads(path.read_text())
    # smaller generated runs keep this test in seconds; everything else is init's
    tuned = {
        **config,
        "contract": {"max_examples": 10, "stateful": {"max_examples": 5, "max_steps": 5}},
        "performance": {"samples": 10, "warmup": 2},
    }
    path.write_text(json.dumps(tuned, indent=2))
    return Adopted(framework, root, config, result.output)


def test_init_configures_the_start_command_env_database_and_breaking(adopted: Adopted) -> None:
    config = adopted.config
    local = config["target"]["local"]  # type: ignore[index]
    command = " ".join(local["command"])
    expected = {
        "starlette": "{python} -m uvicorn shop.app:app --host {host} --port {port}",
        "flask": "{python} -m waitress --host={host} --port={port} shop.app:app",
        "node": "npm run start",
    }
    assert command == expected[adopted.framework]
    if adopted.framework == "node":
        assert local["env"] == {"PORT": "{port}", "HOST": "{host}"}
    assert local["ready_path"] == "/health"
    assert config["env"] == {"example": ".env.example", "files": [".env"]}
    assert config["database"] == {}
    assert config["migrations"] == {"folder": "migrations"}
    assert config["breaking"] == {"base": "HEAD:openapi.yaml"}
    # the DELETE is tested, on resources its checks create, not left out
    assert "contract" not in config
    assert "availability" not in config
    # $schema is a file in the repository, readable offline
    assert config["$schema"] == "./.deploycheck/deployment-config.schema.json"
    schema = json.loads((adopted.root / ".deploycheck/deployment-config.schema.json").read_text())
    assert "env" in schema["properties"]
    assert "secret, never shown: PAYMENTS_API_TOKEN" in adopted.explanation
    if adopted.framework != "node":
        assert config["models"] == {
            "pydantic": {
                "ItemCreate": "shop.models:ItemCreate",
                "Item": "shop.models:Item",
                "OrderCreate": "shop.models:OrderCreate",
                "Order": "shop.models:Order",
            }
        }


# plugins the gate used to depend on, and what they print; a development venv shared with
# older checkouts may still hold them, though the gate brings neither (see the next test)
_NOT_THE_GATES = {
    "pytest_asyncio": ("pytest_asyncio", "LOOP_SCOPE"),
    "pytest_benchmark": ("benchmark: ",),
}


def unasked(output: str) -> list[str]:
    """Warnings and headers in a run's output, but those of plugins the gate does not bring
    that happen to be installed beside it."""
    lines = [line for line in output.splitlines() if "Warning" in line or "benchmark: " in line]
    for module, marks in _NOT_THE_GATES.items():
        if importlib.util.find_spec(module) is not None:
            lines = [line for line in lines if not any(mark in line for mark in marks)]
    return lines


def test_the_gate_pulls_in_no_noisy_plugin() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [dependency.split(">")[0].split("=")[0] for dependency in project["dependencies"]]
    # pytest-asyncio warns on every run where its loop scope is unset, pytest-benchmark adds a
    # header to every run: neither is used by the gate
    assert "pytest-asyncio" not in names
    assert "pytest-benchmark" not in names


def _outcomes(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr


def test_phase1_is_green_and_quiet(adopted: Adopted) -> None:
    run = adopted.pytest("-m", "phase1", env={"PAYMENTS_API_TOKEN": SECRET})

    output = _outcomes(run)
    assert run.returncode == 0, output
    for item in ("env", "database", "breaking", "migrations", "health", "openapi[lint]"):
        assert f"PASSED deployment-config.json::phase1::{item}" in output
    assert "PASSED deployment-config.json::phase1::availability[DELETE /items/{itemId}]" in output
    # no dependency's warning and no header the user did not ask for
    assert unasked(output) == []


def test_phase2_and_phase3_are_green(adopted: Adopted) -> None:
    run = adopted.pytest("-m", "phase2 or phase3", env={"PAYMENTS_API_TOKEN": SECRET})

    output = _outcomes(run)
    assert run.returncode == 0, output
    assert "PASSED deployment-config.json::phase3::contract[DELETE /items/{itemId}]" in output
    assert "PASSED deployment-config.json::phase3::negative[POST /orders]" in output
    assert "PASSED deployment-config.json::phase3::stateful" in output
    # nothing to check is said so, not counted as passed
    assert "SKIPPED" in output
    assert "the service serves no OpenAPI document" in output
    assert "is not https: there is no certificate to check" in output


def test_without_the_declared_secret_the_env_check_fails(adopted: Adopted) -> None:
    run = adopted.pytest("-m", "phase1 and env")

    output = _outcomes(run)
    assert run.returncode == 1, output
    assert "PAYMENTS_API_TOKEN is required (declared in .env.example:2) but not set" in output
    assert SECRET not in output


@pytest.mark.parametrize("order", ["gate", "reversed"])
def test_the_negative_check_catches_an_accepted_invalid_body_in_any_order(
    adopted: Adopted, order: str
) -> None:
    # the deleting checks run first when reversed: they must not take the item away
    reordering = ["-p", "reverse_order"] if order == "reversed" else []
    run = adopted.pytest(
        "-m",
        "phase3 and (contract or negative or stateful)",
        "-v",
        *reordering,
        env={"PAYMENTS_API_TOKEN": SECRET, "SHOP_FAULTS": "accept_invalid"},
    )

    output = _outcomes(run)
    assert run.returncode == 1, output
    # -v prints each item as it runs
    ran = [
        line.removeprefix("deployment-config.json::phase3::").split("]")[0] + "]"
        for line in output.splitlines()
        if line.startswith("deployment-config.json::phase3::")
    ]
    deleting = ran.index("contract[DELETE /items/{itemId}]")
    negative = ran.index("negative[POST /orders]")
    assert (deleting < negative) == (order == "reversed"), ran
    assert "FAILED deployment-config.json::phase3::negative[POST /orders]" in output
    assert "negative_data_rejection failed" in output
    assert "Schema-violating request accepted" in output
    assert SECRET not in output

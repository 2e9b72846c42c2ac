"""The package's shape: imports go down the layers, no import cycles, no oversized module.

The contracts live in ``[tool.importlinter]`` of ``pyproject.toml`` and run through
import-linter, on the package itself and on copies with a deliberate violation, so a contract
that stopped biting would fail here too.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = REPOSITORY / "pytest_deploycheck"
MAX_LINES = 800


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's contracts over the ``pytest_deploycheck`` package found in ``root``."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--config",
            str(REPOSITORY / "pyproject.toml"),
            "--no-cache",
        ],
        # the folder comes first on the path, so a copy there shadows the installed package
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package's source, to break on purpose."""
    shutil.copytree(
        PACKAGE, tmp_path / "pytest_deploycheck", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path / "pytest_deploycheck"


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_package_keeps_its_layers_and_has_no_import_cycle() -> None:
    result = lint_imports(REPOSITORY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imports go down the layers KEPT" in result.stdout
    assert "No import cycle between the modules of any package KEPT" in result.stdout


def test_an_upward_import_breaks_the_layers(copy: Path) -> None:
    # the pure score reaching up into the check catalogue: the circle this layout removed
    append(copy / "score" / "scoring.py", "from pytest_deploycheck.gate import planners")
    result = lint_imports(copy.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Imports go down the layers BROKEN" in result.stdout
    assert "pytest_deploycheck.score.scoring -> pytest_deploycheck.gate.planners" in result.stdout


def test_an_import_hidden_in_a_function_counts_too(copy: Path) -> None:
    append(
        copy / "core" / "units.py",
        "def _late() -> None:\n    from pytest_deploycheck.live import health  # noqa: F401",
    )
    result = lint_imports(copy.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pytest_deploycheck.core.units -> pytest_deploycheck.live.health" in result.stdout


def test_a_cycle_inside_one_layer_breaks_the_acyclic_contract(copy: Path) -> None:
    # core.config already imports core.redaction; the way back closes a circle
    append(copy / "core" / "redaction.py", "from pytest_deploycheck.core import config")
    result = lint_imports(copy.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Imports go down the layers KEPT" in result.stdout
    assert "No import cycle between the modules of any package BROKEN" in result.stdout


def test_a_new_top_level_module_must_be_given_a_layer(copy: Path) -> None:
    (copy / "helpers.py").write_text('"""Somewhere to put things."""\n')
    result = lint_imports(copy.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pytest_deploycheck.helpers" in result.stdout


def test_no_module_is_over_800_lines() -> None:
    sizes = {
        str(path.relative_to(REPOSITORY)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    oversized = {path: lines for path, lines in sizes.items() if lines > MAX_LINES}
    assert not oversized, f"split these modules (at most {MAX_LINES} lines each): {oversized}"


def test_every_subpackage_says_what_it_holds_and_what_it_may_import() -> None:
    undocumented = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if init.parent == PACKAGE:
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if "import" not in docstring:
            undocumented.append(str(init.relative_to(REPOSITORY)))
    assert not undocumented, f"say what lives there and what it may import: {undocumented}"

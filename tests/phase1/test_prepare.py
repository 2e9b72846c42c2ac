"""Prepare commands: what bundle, models and database run first, once per session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Severity, failures
from pytest_deploycheck.gate.planners import plan_checks
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.phase1.prepare import parse_prepare, run_prepare

FIXTURES = Path(__file__).parents[1] / "fixtures"
SPEC = FIXTURES / "migrations" / "database" / "spec.yaml"


def test_a_prepare_command_takes_the_static_analysis_defaults() -> None:
    assert parse_prepare("bundle", {}) is None
    command = parse_prepare("bundle", {"prepare": {"argv": ["npx", "wrangler", "deploy"]}})
    assert command is not None
    assert (command.name, command.argv, command.timeout, command.cwd) == (
        "bundle.prepare",
        ("npx", "wrangler", "deploy"),
        300.0,
        ".",
    )


def test_a_bad_prepare_command_names_its_own_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_prepare("models", {"prepare": {"argv": ["node"], "timeout": "soon"}})
    assert raised.value.problems == [
        'models.prepare.timeout: expected a duration, a number with a unit: "250ms", "5s", '
        '"5m", "1h" (got \'soon\')'
    ]


def test_a_passing_command_is_information_and_a_failing_one_an_error(tmp_path: Path) -> None:
    ok = parse_prepare("models", {"prepare": {"argv": ["{python}", "-c", "print('exported')"]}})
    assert ok is not None
    findings = run_prepare(ok, tmp_path)
    assert [(f.rule, f.severity, f.location) for f in findings] == [
        ("models-prepare", Severity.INFO, "models.prepare")
    ]
    assert "models.prepare passed in" in findings[0].message
    script = "import sys; print('no such export'); sys.exit(3)"
    bad = parse_prepare("models", {"prepare": {"argv": ["{python}", "-c", script]}})
    assert bad is not None
    [finding] = run_prepare(bad, tmp_path)
    assert finding.severity is Severity.ERROR
    assert "models.prepare failed with exit code 3, so the models check" in finding.message
    assert finding.message.endswith("no such export")
    missing = parse_prepare("bundle", {"prepare": {"argv": ["no-such-build-tool-x"]}})
    assert missing is not None
    [finding] = run_prepare(missing, tmp_path)
    assert "no-such-build-tool-x: command not found" in finding.message


def test_a_slow_command_is_killed_at_its_timeout(tmp_path: Path) -> None:
    slow = {"argv": ["{python}", "-c", "import time; time.sleep(30)"], "timeout": "200ms"}
    command = parse_prepare("database", {"prepare": slow})
    assert command is not None
    [finding] = run_prepare(command, tmp_path)
    assert finding.severity is Severity.ERROR
    assert "database.prepare timed out after 200ms" in finding.message


def write_project(root: Path, prepare: list[str]) -> Path:
    """A project whose models are JSON Schema files that only the prepare command writes."""
    (root / "export.py").write_text(
        "import json, pathlib, sys\n"
        "out = pathlib.Path('build')\n"
        "out.mkdir(exist_ok=True)\n"
        "with open('runs.log', 'a') as log: log.write('run\\n')\n"
        "schema = {'type': 'object', 'properties': {'id': {'type': 'string'}}}\n"
        "for name in ('Provider', 'Appointment'):\n"
        "    (out / f'{name}.json').write_text(json.dumps(schema))\n"
    )
    config = {
        "spec": str(SPEC),
        "models": {
            "prepare": {"argv": prepare},
            "json_schema": {"Provider": "build/Provider.json", "Appointment": "build/App.json"},
        },
    }
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config))
    return path


def test_the_session_runs_a_prepare_command_once_for_all_the_items_it_serves(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path, ["{python}", "export.py"])
    session = DeployCheckSession(path, environ={"PATH": "/usr/bin:/bin"})
    checks = [check for check in plan_checks(session) if check.family == "models"]
    assert [check.name for check in checks] == [
        "models[json_schema:Provider]",
        "models[json_schema:Appointment]",
    ]
    first, second = (check.run(session) for check in checks)
    assert (tmp_path / "runs.log").read_text() == "run\n"
    assert [f.rule for f in first.findings if f.rule == "models-prepare"] == ["models-prepare"]
    assert [f.rule for f in second.findings if f.rule == "models-prepare"] == []
    # the second model reads a file the export does not write: its own finding, not the export's
    assert failures(second.findings)
    assert "build/App.json" in str(failures(second.findings)[0])


def test_every_item_of_a_family_fails_when_its_prepare_command_fails(tmp_path: Path) -> None:
    path = write_project(tmp_path, [sys.executable, "-c", "raise SystemExit(2)"])
    session = DeployCheckSession(path)
    outcomes = [check.run(session) for check in plan_checks(session) if check.family == "models"]
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert [f.rule for f in failures(outcome.findings)] == ["models-prepare"]
    assert not (tmp_path / "build").exists()


def test_a_bad_prepare_command_is_a_config_error_when_checks_are_planned(tmp_path: Path) -> None:
    config = {"spec": str(SPEC), "bundle": {"prepare": {"argv": ["x"], "timeout": "1 fortnight"}}}
    path = tmp_path / "deployment-config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError) as raised:
        plan_checks(DeployCheckSession(path))
    assert "bundle.prepare.timeout" in str(raised.value)

"""Several services in one pytest run: each config file collected with its own session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.score.history import HistoryStore
from tests.test_plugin import write_project

pytest_plugins = ["pytester"]


def write_services(pytester: pytest.Pytester, **second: Any) -> None:
    """``deployment-config.json`` gates tiny-a; ``other/deployment-config.json`` the same
    service under the name tiny-b, started from its own folder."""
    write_project(pytester, service={"name": "tiny-a"})
    pytester.makeini("[pytest]\ntestpaths = deployment-config.json\n")
    config = json.loads((pytester.path / "deployment-config.json").read_text())
    config["service"] = {"name": "tiny-b"}
    config["spec"] = "../openapi.yaml"
    config["target"]["local"]["command"] = ["{python}", "../service.py", "{port}"]
    config.update(second)
    (pytester.path / "other").mkdir()
    (pytester.path / "other" / "deployment-config.json").write_text(json.dumps(config))


def stored(folder: Path) -> list[tuple[str, str, list[str]]]:
    """(deploy id, service, operations) of each deployment in the store next to a config."""
    with HistoryStore.from_config({}, folder) as store:
        return [
            (d.id, d.service, sorted(store.load_result(d.id).operations))
            for d in store.deployments()
        ]


def test_two_configs_two_sessions_two_scores_two_histories(pytester: pytest.Pytester) -> None:
    # tiny-b's local service fails its health check: only tiny-b's verdict fails
    local = {
        "command": ["{python}", "../service.py", "{port}"],
        "ready_path": "/items",
        "ready_timeout": "20s",
        "env": {"TINY_FAIL": "/health"},
    }
    write_services(pytester, target={"local": local, "timeout": "5s"})
    result = pytester.runpytest_subprocess(
        "deployment-config.json",
        "other/deployment-config.json",
        "-m",
        "phase2",
        "-v",
        "--deploy-id",
        "d1",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=7, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "deploycheck: deployment-config.json, target: *",
            "deploycheck: other/deployment-config.json, target: *",
        ]
    )
    # node ids stay unique: the config file's path starts them
    result.stdout.fnmatch_lines(
        [
            "deployment-config.json::phase2::health PASSED*",
            "other/deployment-config.json::phase2::health FAILED*",
            "other/deployment-config.json::phase2::availability[[]GET /items[]] PASSED*",
        ]
    )
    # a failure's heading names the config file when there are several
    result.stdout.fnmatch_lines(["*_ phase2::health (other/deployment-config.json) _*"])
    result.stdout.fnmatch_lines(
        [
            "*= deploycheck =*",
            "tiny-a (deployment-config.json):",
            "deploycheck score for d1: *, verdict PASS",
            "*",
            "tiny-b (other/deployment-config.json):",
            "deploycheck score for d1: *, verdict FAIL",
        ]
    )
    labels = ["GET /items", "GET /items/{item_id}", "POST /items"]
    assert stored(pytester.path) == [("d1", "tiny-a", ["GET /health", *labels])]
    assert stored(pytester.path / "other") == [("d1", "tiny-b", ["GET /health", *labels])]


def test_two_configs_under_xdist(pytester: pytest.Pytester) -> None:
    write_services(pytester)
    result = pytester.runpytest_subprocess(
        "deployment-config.json",
        "other/deployment-config.json",
        "-n",
        "2",
        "-m",
        "phase2 and availability",
        "--deploy-id",
        "d2",
    )
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        ["tiny-a (deployment-config.json):", "*", "tiny-b (other/deployment-config.json):"]
    )
    assert [d[:2] for d in stored(pytester.path)] == [("d2", "tiny-a")]
    assert [d[:2] for d in stored(pytester.path / "other")] == [("d2", "tiny-b")]


def test_the_deploycheck_config_option_collects_that_file(pytester: pytest.Pytester) -> None:
    write_services(pytester)
    # alone, it takes the place of pytest's default arguments (here the testpaths)
    result = pytester.runpytest_subprocess(
        "--deploycheck-config", "other/deployment-config.json", "--collect-only", "-q"
    )
    assert result.ret == pytest.ExitCode.OK
    ids = [line for line in result.stdout.lines if "::" in line]
    assert len(ids) == 10
    assert all(line.startswith("other/deployment-config.json::") for line in ids)
    # with arguments, it is collected too; named as an argument, a config file is collected
    result = pytester.runpytest_subprocess(
        "deployment-config.json",
        "--deploycheck-config",
        "other/deployment-config.json",
        "--collect-only",
        "-q",
        "-m",
        "phase2 and health",
    )
    result.stdout.fnmatch_lines(
        [
            "deployment-config.json::phase2::health",
            "other/deployment-config.json::phase2::health",
            "2 tests collected*",
        ]
    )
    result = pytester.runpytest_subprocess(
        "other/deployment-config.json", "--collect-only", "-q", "-m", "phase2 and health"
    )
    result.stdout.fnmatch_lines(["other/deployment-config.json::phase2::health", "1 test*"])


@pytest.mark.parametrize(
    "args",
    [
        ("deployment-config.json", "other/deployment-config.json"),
        ("--deploycheck-config", "other/deployment-config.json"),
    ],
)
def test_a_bad_key_in_the_second_config_names_its_file(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    write_services(pytester, servise={"name": "typo"})
    result = pytester.runpytest_subprocess(*args, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*other/deployment-config.json*problem*", "*servise*did you mean 'service'*"]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_the_fixtures_serve_the_first_config(pytester: pytest.Pytester) -> None:
    write_services(pytester)
    pytester.makepyfile(
        test_mine="""
        def test_which(deploycheck_config):
            assert deploycheck_config.service_name == "tiny-b"
        """
    )
    result = pytester.runpytest_subprocess(
        "test_mine.py",
        "--deploycheck-config",
        "other/deployment-config.json",
        "-m",
        "not (phase1 or phase2 or phase3)",
    )
    result.assert_outcomes(passed=1)

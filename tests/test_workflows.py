"""The deploy and CI workflows: actionlint finds nothing, the jobs users rely on run in the
order and on the conditions they expect, and the shell steps do what their names say.

The shell steps are run for real with bash, the way the runner runs them; the job conditions
are evaluated for each outcome of the phases.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
DEPLOY = WORKFLOWS / "deploy.yml"
CI = WORKFLOWS / "ci.yml"
# actionlint-style packages install the binary next to the interpreter
ACTIONLINT = Path(sys.executable).parent / "actionlint"

Workflow = dict[str, Any]


def load(path: Path) -> Workflow:
    workflow: Workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean true
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


@pytest.fixture(scope="module")
def deploy() -> Workflow:
    return load(DEPLOY)


@pytest.fixture(scope="module")
def ci() -> Workflow:
    return load(CI)


def step(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The step of ``job`` whose name or id is ``name``."""
    for candidate in job["steps"]:
        if name in (candidate.get("name"), candidate.get("id")):
            return dict(candidate)
    raise AssertionError(f"no step {name!r} in {[s.get('name') for s in job['steps']]}")


def needs(job: Mapping[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def run_scripts(workflow: Workflow) -> Iterator[tuple[str, str]]:
    for job_id, job in workflow["jobs"].items():
        for item in job.get("steps", []):
            if "run" in item:
                yield job_id, item["run"]


# -- actionlint ------------------------------------------------------------------------------


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.is_file(), (
        f"no actionlint next to {sys.executable}: install the dev extras (pip install -e '.[dev]')"
    )
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", "-oneline", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_actionlint_finds_nothing() -> None:
    result = actionlint(DEPLOY, CI)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_does_read_the_workflow(tmp_path: Path) -> None:
    # the same file with one job's `needs` misspelt and a secret pasted into a script
    broken = DEPLOY.read_text(encoding="utf-8").replace("needs: deploy\n", "needs: deplyo\n", 1)
    broken = broken.replace(
        "run: deploycheck rollback --yes",
        'run: echo "${{ secrets.CLOUDFLARE_API_TOKEN }}"; deploycheck rollback --yes',
    )
    path = tmp_path / "deploy.yml"
    path.write_text(broken, encoding="utf-8")

    result = actionlint(path)

    assert result.returncode == 1
    assert '"deplyo"' in result.stdout


# -- the deploy workflow's structure ---------------------------------------------------------


def test_the_phases_run_in_order(deploy: Workflow) -> None:
    jobs = deploy["jobs"]

    assert needs(jobs["deploy"]) == ["phase1"]
    assert needs(jobs["phase2"]) == ["deploy"]
    assert set(needs(jobs["phase3"])) == {"deploy", "phase2"}
    assert set(needs(jobs["report"])) == {"deploy", "phase2", "phase3"}
    assert set(needs(jobs["rollback"])) == {"deploy", "phase2", "phase3", "report"}
    # every job waits for all the jobs before it: a topological order exists and is this one
    order = ["phase1", "deploy", "phase2", "phase3", "report", "rollback"]
    assert list(jobs) == order
    for index, job_id in enumerate(order):
        assert set(needs(jobs[job_id])) <= set(order[:index])


def pytest_args(job: Mapping[str, Any]) -> list[str]:
    scripts = [item["run"] for item in job["steps"] if item.get("run", "").startswith("pytest ")]
    assert len(scripts) == 1, scripts
    return shlex.split(scripts[0])


@pytest.mark.parametrize("phase", ["phase1", "phase2", "phase3"])
def test_each_phase_runs_its_marker_with_junit_and_html(deploy: Workflow, phase: str) -> None:
    job = deploy["jobs"][phase]

    args = pytest_args(job)

    assert args[args.index("-m") + 1] == phase
    assert f"--junitxml=reports/{phase}.xml" in args
    assert f"--html=reports/{phase}.html" in args
    upload = next(
        s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
    )
    assert upload["with"]["path"] == "reports/"
    # the reports matter most when the phase fails
    assert upload["if"] == "${{ !cancelled() }}"


@pytest.mark.parametrize("phase", ["phase2", "phase3"])
def test_live_phases_check_the_deployed_url(deploy: Workflow, phase: str) -> None:
    job = deploy["jobs"][phase]

    args = pytest_args(job)

    assert args[args.index("--deploycheck-base-url") + 1] == "$DEPLOYCHECK_BASE_URL"
    assert args[args.index("--deploy-id") + 1] == "$GITHUB_SHA"
    assert job["env"]["DEPLOYCHECK_BASE_URL"] == "${{ needs.deploy.outputs.url }}"
    assert deploy["jobs"]["deploy"]["outputs"]["url"] == "${{ steps.deploy.outputs.url }}"


def test_the_report_goes_to_the_job_summary_after_one_collect_round(deploy: Workflow) -> None:
    job = deploy["jobs"]["report"]
    scripts = [item.get("run", "") for item in job["steps"]]

    collect = scripts.index("deploycheck collect --quick")
    summary = scripts.index("deploycheck report --markdown")
    verdict = next(i for i, s in enumerate(scripts) if "deploycheck report --fail-on-verdict" in s)

    assert collect < summary < verdict
    assert job["outputs"]["verdict"] == "${{ steps.verdict.outputs.verdict }}"


def github_condition(expression: str, needs_state: Mapping[str, Mapping[str, Any]]) -> bool:
    """Evaluate a job's ``if:`` for the given ``needs`` results (not cancelled)."""
    text = expression.strip()
    if text.startswith("${{"):
        text = text.removeprefix("${{").removesuffix("}}")
    text = text.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
    text = re.sub(
        r"needs\.(\w+)\.outputs\.(\w+)",
        lambda m: repr(needs_state.get(m[1], {}).get("outputs", {}).get(m[2], "")),
        text,
    )
    text = re.sub(r"needs\.(\w+)\.result", lambda m: repr(needs_state[m[1]]["result"]), text)
    assert re.fullmatch(r"[\sA-Za-z()'=!]+", text.replace("'success'", "").strip()), text
    return bool(eval(text, {"__builtins__": {}}))  # noqa: S307 - our own expression, checked above


def outcome(
    deploy: str = "success",
    phase2: str = "success",
    phase3: str = "success",
    verdict: str = "pass",
) -> dict[str, dict[str, Any]]:
    return {
        "deploy": {"result": deploy},
        "phase2": {"result": phase2},
        "phase3": {"result": phase3},
        "report": {"result": "success", "outputs": {"verdict": verdict}},
    }


@pytest.mark.parametrize(
    ("state", "rolls_back"),
    [
        (outcome(), False),
        (outcome(phase2="failure", phase3="skipped", verdict=""), True),
        (outcome(phase3="failure"), True),
        (outcome(verdict="fail"), True),
        (outcome(deploy="failure", phase2="skipped", phase3="skipped", verdict=""), False),
        (outcome(deploy="skipped", phase2="skipped", phase3="skipped", verdict=""), False),
    ],
    ids=["all-green", "phase2-fails", "phase3-fails", "verdict-fail", "deploy-fails", "no-deploy"],
)
def test_rollback_runs_when_a_live_phase_fails_or_the_verdict_is_fail(
    deploy: Workflow, state: dict[str, dict[str, Any]], rolls_back: bool
) -> None:
    job = deploy["jobs"]["rollback"]

    assert github_condition(job["if"], state) is rolls_back
    assert [s["run"] for s in job["steps"] if "run" in s][-1] == "deploycheck rollback --yes"


@pytest.mark.parametrize(
    ("state", "reports"),
    [
        (outcome(), True),
        (outcome(phase2="failure", phase3="skipped"), True),
        (outcome(deploy="failure", phase2="skipped", phase3="skipped"), False),
    ],
)
def test_the_report_runs_after_failing_phases_too(
    deploy: Workflow, state: dict[str, dict[str, Any]], reports: bool
) -> None:
    assert github_condition(deploy["jobs"]["report"]["if"], state) is reports


def test_the_deploy_runs_only_with_a_deploy_command(deploy: Workflow) -> None:
    condition = deploy["jobs"]["deploy"]["if"]

    assert condition == "inputs.deploy_command != '' || vars.DEPLOY_COMMAND != ''"
    assert "deploy_command" in deploy["on"]["workflow_dispatch"]["inputs"]


def test_history_is_kept_per_branch_or_in_a_shared_database(deploy: Workflow) -> None:
    for job_id in ("phase2", "phase3", "report", "rollback"):
        job = deploy["jobs"][job_id]
        mode = step(job, "history")
        restore = step(job, "Restore the history")
        save = step(job, "Save the history")

        assert mode["env"] == {"DEPLOYCHECK_HISTORY_URL": "${{ secrets.DEPLOYCHECK_HISTORY_URL }}"}
        assert restore["uses"] == "actions/cache/restore@v5"
        assert save["uses"] == "actions/cache/save@v5"
        assert restore["with"]["path"] == save["with"]["path"] == ".deploycheck/history.db"
        prefix = "deploycheck-history-${{ github.ref_name }}-"
        assert restore["with"]["restore-keys"] == prefix
        assert restore["with"]["key"] == save["with"]["key"]
        assert restore["with"]["key"].startswith(prefix)
        assert restore["with"]["key"].endswith(f"-{job_id}")
        assert "steps.history.outputs.shared != 'true'" in restore["if"]
        assert "steps.history.outputs.shared != 'true'" in save["if"]
        # every step running the gate sees the shared store when there is one
        for item in job["steps"]:
            command = item.get("run", "")
            if command.startswith(("pytest", "deploycheck")):
                assert "DEPLOYCHECK_HISTORY_URL" in item.get("env", {}), command


def test_concurrency_and_least_permissions(deploy: Workflow, ci: Workflow) -> None:
    assert deploy["permissions"] == {"contents": "read"}
    assert ci["permissions"] == {"contents": "read"}
    for workflow in (deploy, ci):
        assert all("permissions" not in job for job in workflow["jobs"].values())
    # a deploy half-way is never cancelled; a stale CI run is
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert ci["concurrency"]["cancel-in-progress"] is True


def all_uses(workflow: Workflow) -> list[str]:
    return [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]


def test_actions_are_pinned_to_a_major_version(deploy: Workflow, ci: Workflow) -> None:
    uses = all_uses(deploy) + all_uses(ci)

    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", action), action


def test_python_is_set_up_with_pip_caching(deploy: Workflow, ci: Workflow) -> None:
    assert tuple(map(int, deploy["env"]["PYTHON_VERSION"].split("."))) >= (3, 11)
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]["python"]
    assert {"3.11", "3.12"} <= set(matrix)
    for workflow in (deploy, ci):
        for job in workflow["jobs"].values():
            for item in job["steps"]:
                if item.get("uses", "").startswith("actions/setup-python@"):
                    assert item["uses"] == "actions/setup-python@v6"
                    assert item["with"]["cache"] == "pip"


def strings_with_paths(
    node: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from strings_with_paths(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings_with_paths(value, (*path, str(index)))


def test_secrets_reach_commands_only_through_env(deploy: Workflow, ci: Workflow) -> None:
    for workflow in (deploy, ci):
        for path, text in strings_with_paths(workflow):
            if "secrets." in text:
                assert path[-2] == "env", path
    # and no script interpolates any expression: values come in as environment variables
    for _job, script in [*run_scripts(deploy), *run_scripts(ci)]:
        assert "${{" not in script, script


def test_ci_runs_the_project_script_on_push_and_pull_requests(ci: Workflow) -> None:
    assert set(ci["on"]) == {"push", "pull_request"}
    job = ci["jobs"]["test"]
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert (REPO / ".ci" / "run").is_file()


# -- the shell steps, run as the runner runs them --------------------------------------------


def run_step(
    script: str, tmp_path: Path, env: Mapping[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run ``script`` as a ``run:`` step (bash -e -o pipefail); return it and its outputs."""
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    script_file = tmp_path / "step.sh"
    script_file.write_text(script)
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path)}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
        cwd=tmp_path,
        env={**base, "GITHUB_OUTPUT": str(outputs), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return result, values


WRANGLER_OUTPUT = (
    "Update available: see https://developers.cloudflare.com/workers/wrangler/.\n"
    "Total Upload: 42.10 KiB / gzip: 9.80 KiB\n"
    "Uploaded booking-api (2.31 sec)\n"
    "Deployed booking-api triggers (0.95 sec)\n"
    "  https://booking-api.example.workers.dev\n"
    "Current Version ID: 5f0c1a2b-3c4d\n"
)


def deploy_script(deploy: Workflow) -> str:
    return str(step(deploy["jobs"]["deploy"], "deploy")["run"])


def test_the_deploy_step_finds_the_printed_url(deploy: Workflow, tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text(WRANGLER_OUTPUT)

    result, outputs = run_step(
        deploy_script(deploy), tmp_path, {"DEPLOY_COMMAND": "cat out.txt", "DEPLOY_URL": ""}
    )

    assert result.returncode == 0, result.stderr
    assert outputs == {"url": "https://booking-api.example.workers.dev"}
    assert "Uploaded booking-api" in result.stdout  # the command's output stays in the log


def test_the_deploy_url_variable_wins(deploy: Workflow, tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text(WRANGLER_OUTPUT)
    env = {"DEPLOY_COMMAND": "cat out.txt", "DEPLOY_URL": "https://api.example.com/"}

    result, outputs = run_step(deploy_script(deploy), tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert outputs == {"url": "https://api.example.com"}


def test_a_failing_deploy_command_fails_the_step(deploy: Workflow, tmp_path: Path) -> None:
    env = {"DEPLOY_COMMAND": "echo https://half.example.com; exit 3", "DEPLOY_URL": ""}

    result, outputs = run_step(deploy_script(deploy), tmp_path, env)

    assert result.returncode == 3
    assert outputs == {}


def test_a_deploy_without_a_url_says_how_to_give_one(deploy: Workflow, tmp_path: Path) -> None:
    env = {"DEPLOY_COMMAND": "echo deployed", "DEPLOY_URL": ""}

    result, outputs = run_step(deploy_script(deploy), tmp_path, env)

    assert result.returncode == 1
    assert outputs == {}
    assert "::error::" in result.stdout
    assert "DEPLOY_URL" in result.stdout


def fake_deploycheck(tmp_path: Path, status: int) -> dict[str, str]:
    """A ``deploycheck`` on PATH that exits with ``status`` and records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / "deploycheck"
    program.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\nexit {status}\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(("status", "verdict"), [(0, "pass"), (1, "fail")])
def test_the_verdict_step_turns_the_exit_code_into_an_output(
    deploy: Workflow, tmp_path: Path, status: int, verdict: str
) -> None:
    script = step(deploy["jobs"]["report"], "verdict")["run"]

    result, outputs = run_step(script, tmp_path, fake_deploycheck(tmp_path, status))

    assert result.returncode == 0, result.stderr
    assert outputs == {"verdict": verdict}
    assert (tmp_path / "calls").read_text() == "report --fail-on-verdict\n"


def test_a_broken_report_is_an_error_not_a_verdict(deploy: Workflow, tmp_path: Path) -> None:
    script = step(deploy["jobs"]["report"], "verdict")["run"]

    result, outputs = run_step(script, tmp_path, fake_deploycheck(tmp_path, 2))

    assert result.returncode == 2
    assert outputs == {}
    assert "::error::" in result.stdout


def test_a_failing_verdict_fails_the_report_job(deploy: Workflow, tmp_path: Path) -> None:
    last = deploy["jobs"]["report"]["steps"][-1]

    result, _ = run_step(last["run"], tmp_path, {})

    assert last["if"] == "steps.verdict.outputs.verdict == 'fail'"
    assert result.returncode == 1


@pytest.mark.parametrize(("url", "shared"), [("postgresql+psycopg://h/db", "true"), ("", "false")])
def test_the_history_step_says_whether_the_store_is_shared(
    deploy: Workflow, tmp_path: Path, url: str, shared: str
) -> None:
    script = step(deploy["jobs"]["phase2"], "history")["run"]

    result, outputs = run_step(script, tmp_path, {"DEPLOYCHECK_HISTORY_URL": url})

    assert result.returncode == 0, result.stderr
    assert outputs == {"shared": shared}
    if url:
        assert url not in result.stdout + result.stderr  # the secret is never printed


def test_the_build_step_reports_whether_there_is_an_artifact(
    deploy: Workflow, tmp_path: Path
) -> None:
    script = step(deploy["jobs"]["phase1"], "build")["run"]
    env = {"BUILD_OUTPUT": deploy["env"]["BUILD_OUTPUT"].split("'")[1]}

    nothing, nothing_outputs = run_step(script, tmp_path, {**env, "BUILD_COMMAND": ""})
    built, built_outputs = run_step(
        script, tmp_path, {**env, "BUILD_COMMAND": "mkdir -p dist && echo bundle > dist/worker.js"}
    )

    assert nothing.returncode == 0, nothing.stderr
    assert nothing_outputs == {"built": "false"}
    assert built.returncode == 0, built.stderr
    assert built_outputs == {"built": "true"}
    assert (tmp_path / "dist" / "worker.js").read_text() == "bundle\n"

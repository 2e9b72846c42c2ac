"""Configured static analysis commands: real processes, and an injected runner."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.phase1.static_analysis import (
    Command,
    check_command,
    parse_commands,
    run_command,
)
from tests.sections import section_validator


def command(*argv: str, **options: Any) -> Command:
    (parsed,) = parse_commands({"commands": [{"argv": list(argv), **options}]})
    return parsed


def ticking(*times: float) -> Iterator[float]:
    yield from times


def test_a_passing_command_is_information_with_its_duration(tmp_path: Path) -> None:
    clock = ticking(10.0, 11.5)
    findings = check_command(
        command("{python}", "-c", "print(1)", name="lint"),
        tmp_path,
        clock=lambda: next(clock),
    )
    assert findings == [
        Finding(
            "static-analysis-passed",
            "lint passed in 1.5s: '{python}' -c 'print(1)'",
            Severity.INFO,
            "lint",
        )
    ]


def test_a_failing_command_shows_its_exit_code_and_the_last_100_lines(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(1, 151): print(f'line {i}')\nsys.exit(3)"
    (finding,) = check_command(command("{python}", "-c", script, name="ruff"), tmp_path)
    assert finding.rule == "static-analysis-failed"
    assert finding.severity is Severity.ERROR
    head, *lines = finding.message.splitlines()
    assert head.startswith("ruff failed with exit code 3 after ")
    assert head.endswith(": '{python}' -c '" + script.splitlines()[0])
    tail = lines[lines.index("... (50 earlier lines not shown)") :]
    assert tail == ["... (50 earlier lines not shown)", *(f"line {i}" for i in range(51, 151))]


def test_stderr_is_part_of_the_output(tmp_path: Path) -> None:
    script = "import sys; print('to stdout'); sys.stdout.flush(); sys.exit('to stderr')"
    result = run_command(command("{python}", "-c", script), tmp_path)
    assert result.exit_code == 1
    assert result.output.splitlines() == ["to stdout", "to stderr"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(FileNotFoundError):
        # a zombie is dead; only its exit status waits for a parent that may never come
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return not stat.parent.exists()


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    (finding,) = check_command(
        command("{python}", "-c", script, name="tsc", timeout="1s"), tmp_path
    )
    assert time.monotonic() - started < 10
    assert finding.rule == "static-analysis-timeout"
    assert finding.message.startswith(
        "tsc timed out after 1s and was killed with its process group: '{python}' -c"
    )
    assert finding.message.endswith("\nstarted")
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_missing_executable_says_command_not_found(tmp_path: Path) -> None:
    findings = check_command(command("deploycheck-no-such-linter", "check"), tmp_path)
    assert findings == [
        Finding(
            "static-analysis-start",
            "deploycheck-no-such-linter: command not found; install it or fix argv[0]",
            Severity.ERROR,
            "deploycheck-no-such-linter",
        )
    ]


def test_a_missing_cwd_is_reported_before_running(tmp_path: Path) -> None:
    (finding,) = check_command(command("{python}", "-V", cwd="web"), tmp_path)
    assert finding.message == "cwd 'web' is not a directory under the project root"


def test_cwd_and_env_reach_the_command(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    script = "import os; print(os.getcwd()); print(os.environ['MODE'], os.environ['KEEP'])"
    result = run_command(
        command("{python}", "-c", script, cwd="web", env={"MODE": "strict"}),
        tmp_path,
        environ={**os.environ, "KEEP": "inherited", "MODE": "lax"},
    )
    assert result.ok
    assert result.output.splitlines() == [str((tmp_path / "web").resolve()), "strict inherited"]


class RecordingRunner:
    """Stands in for subprocess.run: records the call, then answers or raises."""

    def __init__(self, answer: subprocess.CompletedProcess[bytes] | BaseException) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        args: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        timeout: float,
        stdin: int,
        stdout: int,
        stderr: int,
    ) -> subprocess.CompletedProcess[bytes]:
        self.calls.append(
            {"args": list(args), "cwd": cwd, "env": dict(env), "timeout": timeout}
            | {"stdin": stdin, "stdout": stdout, "stderr": stderr}
        )
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def test_the_runner_gets_argv_without_a_shell_python_resolved_and_a_timeout(tmp_path: Path) -> None:
    runner = RecordingRunner(subprocess.CompletedProcess([], 0, b"", None))
    cmd = command("{python}", "-m", "mypy", "--python-executable={python}", "pkg", timeout="2m")
    result = run_command(cmd, tmp_path, runner=runner, environ={"PATH": "/bin"})
    assert result.ok
    (call,) = runner.calls
    assert call == {
        "args": [sys.executable, "-m", "mypy", f"--python-executable={sys.executable}", "pkg"],
        "cwd": str(tmp_path),
        "env": {"PATH": "/bin"},
        "timeout": 120.0,
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
    }


def test_an_injected_timeout_keeps_the_partial_output(tmp_path: Path) -> None:
    timeout = subprocess.TimeoutExpired(["eslint"], 30, output=b"checking src/\xff\n")
    runner = RecordingRunner(timeout)
    (finding,) = check_command(command("eslint", ".", timeout="30s"), tmp_path, runner=runner)
    assert finding.message == (
        "eslint timed out after 30s and was killed with its process group: eslint .\n"
        "checking src/\ufffd"
    )


def test_subprocess_run_itself_fits_as_a_runner(tmp_path: Path) -> None:
    result = run_command(command("{python}", "-c", "print(6 * 7)"), tmp_path, runner=subprocess.run)
    assert (result.exit_code, result.output) == (0, "42\n")


def test_parse_commands_applies_defaults_and_reports_every_problem() -> None:
    (ruff,) = parse_commands({"commands": [{"argv": ["/usr/bin/ruff", "check", "."]}]})
    assert ruff == Command("ruff", ("/usr/bin/ruff", "check", "."), 300.0, ".", {})
    with pytest.raises(ConfigError) as caught:
        parse_commands(
            {
                "commands": [
                    {"argv": "ruff check ."},
                    {"argv": ["mypy"], "timeout": "soon"},
                    {"argv": ["ruff"]},
                    {"argv": ["ruff", "format", "--check"]},
                ]
            }
        )
    assert caught.value.problems == [
        "static_analysis.commands[0].argv: expected a non-empty list of strings such as "
        '["ruff", "check", "."] (got \'ruff check .\')',
        "static_analysis.commands[1].timeout: expected a duration, a number with a unit: "
        '"250ms", "5s", "5m", "1h" (got \'soon\')',
        "static_analysis.commands[3].name: 'ruff' is used twice; give each command a name",
    ]


def test_the_section_schema_accepts_the_documented_shape_and_rejects_mistakes() -> None:
    validator = section_validator("static_analysis")
    good = {
        "commands": [
            {"name": "ruff", "argv": ["ruff", "check", "."], "timeout": "2m", "cwd": "."},
            {"argv": ["{python}", "-m", "mypy", "pkg"], "env": {"MYPY_FORCE_COLOR": "0"}},
        ]
    }
    assert list(validator.iter_errors(good)) == []
    bad = {"commands": [{"argv": "ruff check .", "timeout": "2 minutes", "shell": True}]}
    assert len(list(validator.iter_errors(bad))) == 3

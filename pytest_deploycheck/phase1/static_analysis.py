"""Configured static analysis commands (ruff, mypy, tsc, eslint...), each one check.

Commands are argv lists, never run through a shell. ``{python}`` in an argument becomes the
running interpreter, so ``["{python}", "-m", "mypy", "pkg"]`` works in any virtualenv. A
command runs in its own process group, so a timeout kills what it started as well.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.units import format_duration, parse_duration

__all__ = [
    "DEFAULT_TIMEOUT",
    "OUTPUT_LINES",
    "Command",
    "CommandResult",
    "Runner",
    "check_command",
    "output_tail",
    "parse_commands",
    "run_command",
    "run_in_process_group",
]

DEFAULT_TIMEOUT = "5m"
OUTPUT_LINES = 100
_DRAIN_SECONDS = 5.0


class Runner(Protocol):
    """What runs a command: ``subprocess.run`` fits, and so does ``run_in_process_group``.

    It returns the combined output in ``stdout`` and raises ``subprocess.TimeoutExpired`` or
    ``OSError`` (``FileNotFoundError`` when the executable is missing) as ``subprocess.run`` does.
    """

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
    ) -> subprocess.CompletedProcess[bytes]: ...


@dataclass(frozen=True)
class Command:
    """One entry of ``static_analysis.commands``, defaults applied."""

    name: str
    argv: tuple[str, ...]
    timeout: float = 300.0
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def argv_resolved(self) -> list[str]:
        """The argv to run: ``{python}`` replaced by the running interpreter."""
        return [arg.replace("{python}", sys.executable) for arg in self.argv]

    @property
    def command_line(self) -> str:
        """The command as a user would type it, ``{python}`` kept for readability."""
        return shlex.join(self.argv)


@dataclass(frozen=True)
class CommandResult:
    """What running a command gave: exit code, combined output and how long it took."""

    command: Command
    exit_code: int | None
    output: str
    duration: float
    timed_out: bool = False
    error: str | None = None  # the command could not start

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


def parse_commands(section: Mapping[str, Any]) -> list[Command]:
    """The configured commands; ConfigError names every bad key and value at once."""
    problems: list[str] = []
    commands: list[Command] = []
    for index, entry in enumerate(section.get("commands") or []):
        key = f"static_analysis.commands[{index}]"
        argv = entry.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            problems.append(
                f"{key}.argv: expected a non-empty list of strings such as "
                f'["ruff", "check", "."] (got {argv!r})'
            )
            continue
        try:
            timeout = parse_duration(entry.get("timeout", DEFAULT_TIMEOUT))
        except ValueError as exc:
            problems.append(f"{key}.timeout: {exc}")
            continue
        name = str(entry.get("name") or Path(argv[0]).name)
        if any(command.name == name for command in commands):
            problems.append(f"{key}.name: {name!r} is used twice; give each command a name")
        env = entry.get("env") or {}
        commands.append(
            Command(
                name=name,
                argv=tuple(argv),
                timeout=timeout,
                cwd=str(entry.get("cwd", ".")),
                env={str(k): str(v) for k, v in env.items()},
            )
        )
    if problems:
        raise ConfigError(problems)
    return commands


def run_in_process_group(
    args: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    stdin: int,
    stdout: int,
    stderr: int,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` that kills the whole process group on a timeout or an interrupt.

    ``subprocess.run`` kills only the child; a ``npm run lint`` would leave its node running.
    """
    posix = os.name == "posix"
    process = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=posix,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process, posix)
        try:
            output, _ = process.communicate(timeout=_DRAIN_SECONDS)
        except subprocess.TimeoutExpired:
            # a descendant left the group and still holds the pipe: give up on the output
            output = b""
            if process.stdout is not None:
                process.stdout.close()
            process.wait()
        raise subprocess.TimeoutExpired(list(args), timeout, output=output) from None
    except BaseException:
        _kill_group(process, posix)
        process.wait()
        raise
    return subprocess.CompletedProcess(list(args), process.returncode, output, None)


def _kill_group(process: subprocess.Popen[bytes], posix: bool) -> None:
    if posix:
        # ProcessLookupError: everything in the group has already exited
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()


def run_command(
    command: Command,
    root: Path,
    *,
    runner: Runner = run_in_process_group,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CommandResult:
    """Run ``command`` in ``root / command.cwd`` with ``command.env`` over ``environ``."""
    cwd = root / command.cwd
    if not cwd.is_dir():
        return CommandResult(
            command,
            None,
            "",
            0.0,
            error=f"cwd {command.cwd!r} is not a directory under the project root",
        )
    env = {**(os.environ if environ is None else environ), **command.env}
    started = clock()
    try:
        completed = runner(
            command.argv_resolved,
            cwd=str(cwd),
            env=env,
            timeout=command.timeout,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except subprocess.TimeoutExpired as exc:
        return CommandResult(command, None, _text(exc.output), clock() - started, timed_out=True)
    except FileNotFoundError:
        error = f"{command.argv[0]}: command not found; install it or fix argv[0]"
        return CommandResult(command, None, "", clock() - started, error=error)
    except PermissionError:
        error = f"{command.argv[0]}: permission denied; make it executable or fix argv[0]"
        return CommandResult(command, None, "", clock() - started, error=error)
    except OSError as exc:
        error = f"{command.argv[0]}: cannot start ({exc.strerror}); fix argv[0]"
        return CommandResult(command, None, "", clock() - started, error=error)
    return CommandResult(command, completed.returncode, _text(completed.stdout), clock() - started)


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output


def output_tail(output: str, lines: int = OUTPUT_LINES) -> str:
    """The last ``lines`` lines of a command's output, saying how many were left out."""
    kept = output.rstrip("\n").splitlines()
    if len(kept) <= lines:
        return "\n".join(kept)
    return "\n".join([f"... ({len(kept) - lines} earlier lines not shown)", *kept[-lines:]])


def check_command(
    command: Command,
    root: Path,
    *,
    runner: Runner = run_in_process_group,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Finding]:
    """Run ``command``: a non-zero exit, a timeout or a missing executable is an error."""
    result = run_command(command, root, runner=runner, environ=environ, clock=clock)
    took = format_duration(result.duration)
    location = command.name
    if result.error is not None:
        return [Finding("static-analysis-start", result.error, location=location)]
    output = output_tail(result.output)
    shown = f"\n{output}" if output else " (no output)"
    if result.timed_out:
        return [
            Finding(
                "static-analysis-timeout",
                f"{command.name} timed out after {format_duration(command.timeout)} and was "
                f"killed with its process group: {command.command_line}{shown}",
                location=location,
            )
        ]
    if result.exit_code != 0:
        return [
            Finding(
                "static-analysis-failed",
                f"{command.name} failed with exit code {result.exit_code} after {took}: "
                f"{command.command_line}{shown}",
                location=location,
            )
        ]
    return [
        Finding(
            "static-analysis-passed",
            f"{command.name} passed in {took}: {command.command_line}",
            Severity.INFO,
            location,
        )
    ]

"""Prepare steps: the command a phase1 family runs before its check.

``bundle.prepare``, ``models.prepare`` and ``database.prepare`` each name one command (an argv
list, run without a shell, in the project root or its ``cwd``): the build that writes the
artifacts (``wrangler deploy --dry-run --outdir dist``), the script that exports the code's
schemas as JSON Schema (Zod's ``z.toJSONSchema()``), the step that migrates the database the
check reads (``wrangler d1 migrations apply DB --local``). The session runs each at most once
per run; when it fails, every check of its family fails with the command's output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.units import format_duration

from .static_analysis import (
    DEFAULT_TIMEOUT,
    Command,
    Runner,
    output_tail,
    parse_commands,
    run_command,
    run_in_process_group,
)

__all__ = ["PREPARED_FAMILIES", "parse_prepare", "run_prepare"]

#: The sections that take a ``prepare`` command.
PREPARED_FAMILIES = ("bundle", "models", "database")


def parse_prepare(family: str, section: Mapping[str, Any]) -> Command | None:
    """The section's ``prepare`` command, defaults applied, or None when it has none."""
    entry = section.get("prepare")
    if entry is None:
        return None
    try:
        (command,) = parse_commands(
            {"commands": [{"timeout": DEFAULT_TIMEOUT, **entry, "name": f"{family}.prepare"}]}
        )
    except ConfigError as exc:
        # parse_commands names the static_analysis key; this one lives elsewhere
        raise ConfigError(
            [
                problem.replace("static_analysis.commands[0]", f"{family}.prepare")
                for problem in exc.problems
            ]
        ) from None
    return command


def run_prepare(
    command: Command,
    root: Path,
    *,
    runner: Runner = run_in_process_group,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Finding]:
    """Run a prepare command: an error finding when it fails, an info finding when it passes."""
    family = command.name.removesuffix(".prepare")
    rule = f"{family}-prepare"
    result = run_command(command, root, runner=runner, environ=environ, clock=clock)
    output = output_tail(result.output)
    shown = f"\n{output}" if output else " (no output)"
    if result.error is not None:
        problem = f"{command.name}: {result.error}"
    elif result.timed_out:
        problem = (
            f"{command.name} timed out after {format_duration(command.timeout)} and was "
            f"killed with its process group: {command.command_line}{shown}"
        )
    elif result.exit_code != 0:
        problem = (
            f"{command.name} failed with exit code {result.exit_code}, so the {family} check "
            f"has nothing current to read: {command.command_line}{shown}"
        )
    else:
        took = format_duration(result.duration)
        message = f"{command.name} passed in {took}: {command.command_line}"
        return [Finding(rule, message, Severity.INFO, command.name)]
    return [Finding(rule, problem, Severity.ERROR, command.name)]

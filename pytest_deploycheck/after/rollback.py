"""``deploycheck rollback``: run the configured rollback command, record it, check health.

The command is an argv list run without a shell (``["wrangler", "rollback"]``,
``["kubectl", "rollout", "undo", "deployment/api"]``, ``["fly", "releases", "rollback"]``),
in the folder of the config, with ``rollback.env`` added to the environment and
``rollback.timeout`` as its limit; on timeout its whole process group is stopped. Without
``--yes`` it asks first, and it refuses when nobody can answer (stdin is not a terminal).
Every attempt is recorded in the history store with its output tail, secrets masked; then
the health check tells whether the service came back.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pytest_deploycheck.core.errors import ConfigError, RollbackError
from pytest_deploycheck.core.redaction import Redactor, looks_secret
from pytest_deploycheck.core.units import format_duration, parse_duration
from pytest_deploycheck.live.health import HealthResult
from pytest_deploycheck.score.history import HistoryStore, RollbackRecord

__all__ = [
    "CommandResult",
    "CommandRunner",
    "RollbackOutcome",
    "RollbackPlan",
    "RollbackSettings",
    "perform_rollback",
    "run_command",
    "run_rollback",
]

DEFAULT_TIMEOUT = "5m"
_TAIL_CHARS = 4000
# What run_command keeps of the output: far more than the tail shown, so the tail is cut
# after masking and a secret that straddles the cut is still recognised whole.
_OUTPUT_KEPT = 1024 * 1024
_TAIL_LINES = 20
_GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL, and for the pipe to drain after
_EXAMPLE = '"rollback": {"command": ["wrangler", "rollback"]}'


@dataclass(frozen=True, slots=True)
class RollbackSettings:
    """The ``rollback`` section with its defaults applied."""

    command: tuple[str, ...]
    timeout: float = 300.0
    env: Mapping[str, str] = field(default_factory=dict)
    auto: bool = False
    health_check: bool = True

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], *, source: str = "deployment-config.json"
    ) -> RollbackSettings:
        """Parse ``section``; ConfigError when it has no command."""
        command = section.get("command")
        if not command:
            raise ConfigError(
                [f"rollback.command: not set; name the command that rolls back, as {_EXAMPLE}"],
                source=source,
            )
        return cls(
            # {python} is the running interpreter, as in every argv of the config
            command=tuple(str(arg).replace("{python}", sys.executable) for arg in command),
            timeout=parse_duration(section.get("timeout", DEFAULT_TIMEOUT)),
            env={str(k): str(v) for k, v in (section.get("env") or {}).items()},
            auto=bool(section.get("auto", False)),
            health_check=bool(section.get("health_check", True)),
        )


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """What a rollback would run: shown by ``--dry-run`` and before asking."""

    argv: tuple[str, ...]
    cwd: Path
    env_names: tuple[str, ...]
    timeout: float

    def describe(self, redact: Callable[[str], str]) -> str:
        """One line per fact: the argv, the folder, the added variables and the timeout.

        ``redact`` (the session's ``redactor.redact``) masks secrets in every line: the argv
        often carries a ``${TOKEN}``.
        """
        lines = [
            f"command: {_quote(self.argv, redact)}",
            f"in:      {self.cwd}",
            f"env:     {', '.join(self.env_names) if self.env_names else '(none added)'}",
            f"timeout: {format_duration(self.timeout)}",
        ]
        # The whole text at once: a multi-line secret (a PEM key) spans lines.
        return redact("\n".join(lines))


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How the command ended: its exit code (None when it did not finish) and output tail."""

    exit_code: int | None
    output: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RollbackOutcome:
    """The end of a rollback: ``outcome`` is one of ``succeeded``, ``unhealthy`` (the command
    succeeded, the health check did not), ``failed``, ``timed-out``, ``not-started``,
    ``cancelled`` or ``dry-run``."""

    outcome: str
    plan: RollbackPlan
    command: CommandResult | None = None
    health: HealthResult | None = None
    record: RollbackRecord | None = None

    @property
    def ok(self) -> bool:
        """True when the rollback ran (or was only shown) and nothing failed."""
        return self.outcome in ("succeeded", "dry-run")

    @property
    def exit_code(self) -> int:
        """0 when :attr:`ok`, else 1."""
        return 0 if self.ok else 1

    def describe(self, redact: Callable[[str], str]) -> str:
        """What happened, for the terminal; failures start with ``ROLLBACK FAILED``.

        ``redact`` (the session's ``redactor.redact``) masks secrets in every line.
        """
        command = self.command
        lines: list[str] = []
        if self.outcome == "dry-run":
            lines.append("dry run: nothing was run")
            lines.append(self.plan.describe(redact))
        elif self.outcome == "cancelled":
            lines.append("rollback cancelled: nothing was run")
        elif command is not None and command.error is not None:
            lines.append(f"ROLLBACK FAILED: the command could not be started: {command.error}")
        elif command is not None and command.timed_out:
            lines.append(
                f"ROLLBACK FAILED: {_quote(self.plan.argv[:1], redact)} did not finish within "
                f"{format_duration(self.plan.timeout)} (rollback.timeout) and was stopped"
            )
        elif command is not None and command.exit_code != 0:
            lines.append(
                f"ROLLBACK FAILED: {_quote(self.plan.argv[:1], redact)} exited with "
                f"{command.exit_code} "
                f"after {format_duration(command.duration_s)}"
            )
        elif command is not None:
            lines.append(
                f"rollback command succeeded in {format_duration(command.duration_s)}: "
                f"{_quote(self.plan.argv, redact)}"
            )
        if command is not None and command.output.strip() and not self.ok:
            tail = command.output.rstrip().splitlines()[-_TAIL_LINES:]
            lines.append("output (last lines):")
            lines.extend(f"  {line}" for line in tail)
        if self.health is not None:
            if self.health.ok:
                lines.append(
                    f"health check after the rollback: ok ({self.health.status}, "
                    f"{self.health.latency_ms or 0:.0f} ms)"
                )
            else:
                lines.append("ROLLBACK FAILED: the service is not healthy after the rollback:")
                lines.extend(f"  {finding.message}" for finding in self.health.findings)
        # The whole text at once: a multi-line secret (a PEM key) spans lines.
        return redact("\n".join(lines))


class CommandRunner(Protocol):
    """Runs an argv with an environment and a timeout (``run_command``; a fake in tests)."""

    def __call__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
    ) -> CommandResult: ...


def run_command(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> CommandResult:
    """Run ``argv`` (no shell) with ``env`` as its whole environment; stdout and stderr are
    kept together. On timeout the process group is terminated, then killed; on Ctrl-C (any
    exception) it is killed at once and the exception goes on."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a timeout stops the command's children too
        )
    except FileNotFoundError:
        error = f"{argv[0]!r} was not found; install it, or fix rollback.command[0]"
        return CommandResult(None, "", time.monotonic() - started, error=error)
    except OSError as exc:
        error = f"{argv[0]!r} cannot be run: {exc.strerror or exc}; check rollback.command"
        return CommandResult(None, "", time.monotonic() - started, error=error)
    timed_out = False
    try:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            output = _terminate(process)
    except BaseException:
        # The command has its own session, so the terminal's Ctrl-C never reached it: without
        # this kill it would go on rolling back after deploycheck has exited.
        _stop_group(process, signal.SIGKILL)
        process.wait()
        raise
    text = output.decode("utf-8", errors="replace")[-_OUTPUT_KEPT:]
    exit_code = None if timed_out else process.returncode
    return CommandResult(exit_code, text, time.monotonic() - started, timed_out)


def _terminate(process: subprocess.Popen[bytes]) -> bytes:
    """Stop a command over its timeout: SIGTERM, a grace period, then SIGKILL; its output."""
    _stop_group(process, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _stop_group(process, signal.SIGKILL)
        try:
            output, _ = process.communicate(timeout=_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # A descendant left the group and still holds the pipe: give up on the output.
            output = b""
            if process.stdout is not None:
                process.stdout.close()
            process.wait()
    return output


def _stop_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def perform_rollback(
    settings: RollbackSettings,
    *,
    root: Path,
    store: HistoryStore | None,
    deploy_id: str | None,
    yes: bool,
    dry_run: bool,
    interactive: bool,
    confirm: Callable[[str], bool],
    health: Callable[[], HealthResult] | None,
    environ: Mapping[str, str],
    redactor: Redactor,
    runner: CommandRunner = run_command,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RollbackOutcome:
    """Run the rollback described by ``settings``: the core of ``deploycheck rollback``.

    ``health`` checks the service afterwards (None: no check). Raises RollbackError when it
    must ask but nobody can answer.
    """
    plan = RollbackPlan(settings.command, root, tuple(sorted(settings.env)), settings.timeout)
    if dry_run:
        return RollbackOutcome("dry-run", plan)
    if not yes:
        if not interactive:
            raise RollbackError(
                "refusing to roll back without confirmation: stdin is not a terminal; pass "
                "--yes to roll back without asking (or --dry-run to see the command)"
            )
        prompt = f"Roll back now? This runs {_quote(plan.argv, redactor.redact)}"
        if not confirm(prompt):
            return RollbackOutcome("cancelled", plan)
    # Secret-looking variables given to the command must not come back through its output.
    masker = redactor.with_secrets(v for k, v in settings.env.items() if looks_secret(k))
    started_at = now()
    result = runner(plan.argv, cwd=root, env={**environ, **settings.env}, timeout=settings.timeout)
    result = CommandResult(
        result.exit_code,
        # masked, then cut: a cut first could leave the end of a secret at the tail's start
        masker.redact(result.output)[-_TAIL_CHARS:],
        result.duration_s,
        result.timed_out,
        None if result.error is None else masker.redact(result.error),
    )
    if result.error is not None:
        outcome = "not-started"
    elif result.timed_out:
        outcome = "timed-out"
    elif result.exit_code != 0:
        outcome = "failed"
    else:
        outcome = "succeeded"
    checked = health() if health is not None else None
    if outcome == "succeeded" and checked is not None and not checked.ok:
        outcome = "unhealthy"
    output = result.output if result.error is None else result.error
    record = RollbackRecord(
        at=started_at,
        command=tuple(masker.redact(argument) for argument in plan.argv),
        exit_code=result.exit_code,
        outcome=outcome,
        deploy_id=deploy_id,
        duration_s=round(result.duration_s, 3),
        output=output[-_TAIL_CHARS:],
    )
    if store is not None:
        store.record_rollback(record)
    return RollbackOutcome(outcome, plan, result, checked, record)


def run_rollback(
    session: Any,
    store: HistoryStore | None,
    *,
    yes: bool = False,
    dry_run: bool = False,
    confirm: Callable[[str], bool],
    interactive: bool | None = None,
    health_check: bool | None = None,
    runner: CommandRunner = run_command,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RollbackOutcome:
    """``deploycheck rollback`` for a :class:`~.session.DeployCheckSession`.

    ``interactive`` defaults to whether stdin is a terminal; ``health_check`` to
    ``rollback.health_check``.
    """
    from pytest_deploycheck.live.health import check_health

    config = session.config
    settings = RollbackSettings.from_config(session.section("rollback"), source=str(config.path))
    check = settings.health_check if health_check is None else health_check
    health_enabled = session.section("health").get("enabled", True)

    def health() -> HealthResult:
        with session.client() as client:
            return check_health(client, session.section("health"), redactor=session.redactor)

    return perform_rollback(
        settings,
        root=session.root,
        store=store,
        deploy_id=session.deployment_id,
        yes=yes,
        dry_run=dry_run,
        interactive=sys.stdin.isatty() if interactive is None else interactive,
        confirm=confirm,
        # With no deployed target there is nothing a rollback could have changed to check.
        health=health if check and health_enabled and session.remote_base_url else None,
        environ=session.environ,
        redactor=session.redactor,
        runner=runner,
        now=now,
    )


def _quote(argv: Sequence[str], redact: Callable[[str], str]) -> str:
    """``argv`` as a shell would read it, each argument masked before quoting: quoting first
    would change a secret holding a quote (``'``) into a form no longer recognised."""
    return shlex.join(redact(argument) for argument in argv)

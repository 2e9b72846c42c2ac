"""``deploycheck rollback``: confirmation, dry run, a real command, timeouts, records, health."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from pytest_deploycheck.after.rollback import (
    CommandResult,
    RollbackOutcome,
    RollbackSettings,
    perform_rollback,
    run_command,
    run_rollback,
)
from pytest_deploycheck.core.errors import ConfigError, RollbackError
from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.gate.session import DeployCheckSession
from pytest_deploycheck.live.health import HealthResult
from pytest_deploycheck.score.history import HistoryStore
from tests.live_server import serve_app

TOKEN = "tok-9f8e7d6c5b4a"
REDACT = Redactor([TOKEN]).redact
HEALTHY = HealthResult(status=200, latency_ms=4.0, attempts=1)
UNHEALTHY = HealthResult(
    [Finding("health-status", "GET /health answered 503, expected 200: 'down'")], 503, 3.0, 3
)


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "rollback_script.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(path)]


def settings(command: Sequence[str], **extra: Any) -> RollbackSettings:
    return RollbackSettings.from_config({"command": list(command), **extra})


def roll_back(
    rollback: RollbackSettings, tmp_path: Path, store: HistoryStore | None, **overrides: Any
) -> RollbackOutcome:
    options: dict[str, Any] = {
        "root": tmp_path,
        "store": store,
        "deploy_id": "deploy-2",
        "yes": True,
        "dry_run": False,
        "interactive": False,
        "confirm": lambda prompt: pytest.fail(f"asked although --yes: {prompt}"),
        "health": lambda: HEALTHY,
        "environ": dict(os.environ),
        "redactor": Redactor([TOKEN]),
    }
    options.update(overrides)
    return perform_rollback(rollback, **options)


class NeverRun:
    def __call__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
    ) -> CommandResult:
        pytest.fail(f"the command ran: {argv}")


def test_settings_need_a_command_and_apply_defaults() -> None:
    with pytest.raises(ConfigError, match=r"rollback.command: not set; .*\"wrangler\""):
        RollbackSettings.from_config({})
    parsed = settings(["wrangler", "rollback"])
    assert (parsed.timeout, parsed.auto, parsed.health_check, dict(parsed.env)) == (
        300.0,
        False,
        True,
        {},
    )
    assert settings(["x"], timeout="90s", auto=True).timeout == 90.0


def test_dry_run_shows_the_argv_and_env_names_and_runs_nothing(
    tmp_path: Path, store: HistoryStore
) -> None:
    rollback = settings(["wrangler", "rollback", "--env", "prod"], env={"CF_API_TOKEN": TOKEN})
    outcome = roll_back(rollback, tmp_path, store, yes=False, dry_run=True, runner=NeverRun())

    assert (outcome.outcome, outcome.exit_code) == ("dry-run", 0)
    text = outcome.describe(REDACT)
    assert "command: wrangler rollback --env prod" in text
    assert "env:     CF_API_TOKEN" in text
    assert TOKEN not in text
    assert store.rollbacks() == []


def test_without_yes_and_without_a_terminal_it_refuses_and_says_so(
    tmp_path: Path, store: HistoryStore
) -> None:
    with pytest.raises(RollbackError, match="stdin is not a terminal; pass --yes"):
        roll_back(settings(["true"]), tmp_path, store, yes=False, runner=NeverRun())
    assert store.rollbacks() == []


def test_it_asks_first_and_a_no_runs_nothing(tmp_path: Path, store: HistoryStore) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> bool:
        prompts.append(prompt)
        return False

    outcome = roll_back(
        settings(["fly", "releases", "rollback"]),
        tmp_path,
        store,
        yes=False,
        interactive=True,
        confirm=answer,
        runner=NeverRun(),
    )
    assert prompts == ["Roll back now? This runs fly releases rollback"]
    assert (outcome.outcome, outcome.exit_code) == ("cancelled", 1)
    assert store.rollbacks() == []


def test_a_successful_rollback_is_recorded_with_its_output_masked_then_health_checked(
    tmp_path: Path, store: HistoryStore
) -> None:
    command = script(
        tmp_path,
        """
        import os, pathlib, sys
        print("rolling back with", os.environ["CF_API_TOKEN"], "from", pathlib.Path.cwd())
        print("done", file=sys.stderr)
        """,
    )
    rollback = settings(command, env={"CF_API_TOKEN": "env-secret-123"})
    outcome = roll_back(rollback, tmp_path, store)

    assert (outcome.outcome, outcome.exit_code) == ("succeeded", 0)
    assert "health check after the rollback: ok (200, 4 ms)" in outcome.describe(REDACT)
    [record] = store.rollbacks()
    assert record.command == tuple(command)
    assert (record.exit_code, record.outcome, record.deploy_id) == (0, "succeeded", "deploy-2")
    assert f"rolling back with *** from {tmp_path}" in record.output
    assert "done" in record.output  # stderr is kept with stdout
    assert "env-secret-123" not in record.output


def test_a_failing_command_says_so_loudly_and_returns_non_zero(
    tmp_path: Path, store: HistoryStore
) -> None:
    command = script(
        tmp_path, f'import sys; print("no previous version, token {TOKEN}"); sys.exit(3)'
    )
    checked: list[bool] = []

    def health() -> HealthResult:
        checked.append(True)
        return HEALTHY

    outcome = roll_back(settings(command), tmp_path, store, health=health)

    assert (outcome.outcome, outcome.exit_code) == ("failed", 1)
    text = outcome.describe(REDACT)
    assert text.startswith(f"ROLLBACK FAILED: {sys.executable} exited with 3")
    assert "  no previous version, token ***" in text
    [record] = store.rollbacks()
    assert (record.exit_code, record.outcome) == (3, "failed")
    assert TOKEN not in record.output
    assert checked == [True]  # the health check still tells where the service stands


def test_a_command_over_its_timeout_is_stopped_with_its_children(
    tmp_path: Path, store: HistoryStore
) -> None:
    pid_file = tmp_path / "child.pid"
    command = script(
        tmp_path,
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("waiting for the platform", flush=True)
        time.sleep(60)
        """,
    )
    started = time.monotonic()
    outcome = roll_back(settings(command, timeout="1s"), tmp_path, store)

    assert time.monotonic() - started < 10
    assert (outcome.outcome, outcome.exit_code) == ("timed-out", 1)
    assert "did not finish within 1s (rollback.timeout) and was stopped" in outcome.describe(REDACT)
    assert "waiting for the platform" in outcome.describe(REDACT)
    [record] = store.rollbacks()
    assert (record.exit_code, record.outcome) == (None, "timed-out")
    assert not _running(int(pid_file.read_text()))


def _running(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def test_ctrl_c_while_the_command_runs_stops_it_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.txt"
    command = script(
        tmp_path,
        f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(60)
        """,
    )
    interrupted: list[bool] = []

    def ctrl_c(signum: int, frame: FrameType | None) -> None:
        # as a Ctrl-C would, once the command and its child are up (and only once)
        if not interrupted and len(_pids(pid_file)) == 2:
            interrupted.append(True)
            raise KeyboardInterrupt

    # The command runs in its own session, so a real Ctrl-C reaches only this process:
    # SIGALRM here plays that part without touching the terminal.
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    signal.setitimer(signal.ITIMER_REAL, 0.1, 0.05)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_command(command, cwd=tmp_path, env=dict(os.environ), timeout=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pids = _pids(pid_file)
    try:
        assert time.monotonic() - started < 10
        assert len(pids) == 2
        assert [pid for pid in pids if _running(pid)] == []
    finally:
        for pid in pids:  # never leave them behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _pids(path: Path) -> list[int]:
    try:
        return [int(word) for word in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return []


def test_a_missing_command_is_recorded_as_not_started(tmp_path: Path, store: HistoryStore) -> None:
    outcome = roll_back(settings(["no-such-rollback-tool-xyz", "undo"]), tmp_path, store)
    assert (outcome.outcome, outcome.exit_code) == ("not-started", 1)
    assert (
        "ROLLBACK FAILED: the command could not be started: 'no-such-rollback-tool-xyz' was not "
        "found; install it, or fix rollback.command[0]" in outcome.describe(REDACT)
    )
    [record] = store.rollbacks()
    assert (record.outcome, record.exit_code) == ("not-started", None)


def test_an_unhealthy_service_after_the_rollback_fails_it(
    tmp_path: Path, store: HistoryStore
) -> None:
    outcome = roll_back(
        settings([sys.executable, "-c", "pass"]), tmp_path, store, health=lambda: UNHEALTHY
    )
    assert (outcome.outcome, outcome.exit_code) == ("unhealthy", 1)
    assert "ROLLBACK FAILED: the service is not healthy after the rollback:" in outcome.describe(
        REDACT
    )
    assert "GET /health answered 503" in outcome.describe(REDACT)
    assert store.rollbacks()[0].outcome == "unhealthy"


def test_run_command_passes_exactly_the_environment_given(tmp_path: Path) -> None:
    result = run_command(
        [sys.executable, "-c", "import os, json; print(json.dumps(sorted(os.environ)))"],
        cwd=tmp_path,
        env={"ONLY_THIS": "1", "PATH": os.environ["PATH"]},
        timeout=30,
    )
    names = json.loads(result.output)
    assert "ONLY_THIS" in names
    assert "HOME" not in names
    assert (result.exit_code, result.timed_out, result.error) == (0, False, None)


# -- through a session ------------------------------------------------------------------------


async def healthy_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 200 if scope["path"] == "/health" else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b'{"status": "ok"}'})


def write_config(root: Path, base_url: str, rollback: Mapping[str, Any]) -> Path:
    (root / "api.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n", encoding="utf-8"
    )
    config = {
        "service": {"name": "svc", "environment": "test"},
        "spec": "api.yaml",
        "target": {"base_url": base_url},
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        "rollback": dict(rollback),
    }
    path = root / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_run_rollback_uses_the_config_and_checks_the_target_health(
    tmp_path: Path, store: HistoryStore
) -> None:
    marker = tmp_path / "ran.txt"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('yes')"]
    with serve_app(healthy_app) as base_url:
        path = write_config(tmp_path, base_url, {"command": command, "timeout": "30s"})
        session = DeployCheckSession(path, deploy_id="v42", environ=dict(os.environ))
        outcome = run_rollback(session, store, yes=True, confirm=lambda _: False)

    assert marker.read_text() == "yes"
    assert (outcome.outcome, outcome.exit_code) == ("succeeded", 0)
    assert outcome.health is not None
    assert outcome.health.status == 200
    assert store.rollbacks()[0].deploy_id == "v42"


def test_run_rollback_without_a_configured_command_is_a_config_error(
    tmp_path: Path, store: HistoryStore
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9", {})
    path.write_text(
        json.dumps({**json.loads(path.read_text()), "rollback": {"timeout": "1m"}}), "utf-8"
    )
    session = DeployCheckSession(path, environ={})
    with pytest.raises(ConfigError) as caught:
        run_rollback(session, store, yes=True, confirm=lambda _: True)
    # the schema requires command; whichever layer reports it names the key
    assert "command" in str(caught.value)


def test_health_is_not_checked_when_switched_off(tmp_path: Path, store: HistoryStore) -> None:
    path = write_config(
        tmp_path,
        "http://127.0.0.1:9",  # nothing listens: a health check would fail the rollback
        {"command": [sys.executable, "-c", "pass"], "health_check": False},
    )
    session = DeployCheckSession(path, environ={})
    outcome = run_rollback(session, store, yes=True, confirm=lambda _: True)
    assert (outcome.outcome, outcome.health) == ("succeeded", None)


def test_a_token_in_the_command_is_masked_in_every_line_shown_and_stored(
    tmp_path: Path, store: HistoryStore
) -> None:
    token = "dpl-7c0ffee-5ecret"
    echo = "import sys; print('deploying with', sys.argv[1:])"
    path = write_config(
        tmp_path,
        "http://127.0.0.1:9",
        {
            "command": [sys.executable, "-c", echo, "--token", "${DEPLOY_TOKEN}"],
            "env": {"CF_API_TOKEN": "cf-env-5ecret-42"},
            "health_check": False,
        },
    )
    session = DeployCheckSession(path, environ={**os.environ, "DEPLOY_TOKEN": token})
    redact = session.redactor.redact

    dry = run_rollback(session, None, dry_run=True, confirm=lambda _: True)
    shown = dry.describe(redact)
    # each argument is masked, then the command is quoted as a shell reads it
    masked = shlex.join([sys.executable, "-c", echo, "--token", "***"])
    assert f"command: {masked}\n" in shown
    assert "env:     CF_API_TOKEN" in shown

    outcome = run_rollback(session, store, yes=True, confirm=lambda _: True)
    assert outcome.outcome == "succeeded"
    done = outcome.describe(redact)
    assert done.startswith("rollback command succeeded in ")
    assert done.endswith(f": {masked}")
    [stored] = store.rollbacks()  # this store has no redactor of its own
    assert stored.command[-2:] == ("--token", "***")
    assert stored.output == "deploying with ['--token', '***']\n"
    for text in (shown, done, json.dumps(stored.command), stored.output):
        assert token not in text
        assert "cf-env-5ecret-42" not in text


def test_the_cli_never_prints_the_token_in_the_rollback_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pytest_deploycheck.cli import main

    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n", encoding="utf-8")
    config = {
        "spec": "api.yaml",
        "history": {"url": f"sqlite:///{tmp_path / 'history.db'}"},
        "health": {"enabled": False},
        "rollback": {
            "command": ["echo", "--token", "${DEPLOY_TOKEN}"],
            "health_check": False,
        },
    }
    (tmp_path / "deployment-config.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEPLOY_TOKEN", "tok-5e3c7a1b9d")
    for args in (["rollback", "--dry-run"], ["rollback", "--yes"]):
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert "tok-5e3c7a1b9d" not in result.output, args
        assert "***" in result.output, result.output
    stored = [path.read_bytes() for path in tmp_path.glob("history.db*")]  # WAL files too
    assert stored
    assert all(b"tok-5e3c7a1b9d" not in data for data in stored)


def test_a_secret_holding_a_quote_is_masked_in_the_command_shown(
    tmp_path: Path, store: HistoryStore
) -> None:
    # shlex.join quotes such an argument ('"'"'), so masking after joining missed it
    secret = "it's-a-s3cret-token"
    echo = "import sys; print('ok')"
    rollback = settings([sys.executable, "-c", echo, "--token", secret])
    asked: list[str] = []
    outcome = roll_back(
        rollback,
        tmp_path,
        store,
        yes=False,
        interactive=True,
        confirm=lambda prompt: asked.append(prompt) or True,
        redactor=Redactor([secret]),
    )
    assert outcome.outcome == "succeeded"
    shown = [asked[0], outcome.describe(Redactor([secret]).redact)]
    dry = roll_back(rollback, tmp_path, None, dry_run=True, redactor=Redactor([secret]))
    shown.append(dry.describe(Redactor([secret]).redact))
    for text in shown:
        assert "s3cret" not in text
        assert "--token '***'" in text


def test_the_output_tail_is_cut_after_masking(tmp_path: Path, store: HistoryStore) -> None:
    # the token ends just inside the last 4000 characters: cutting first would keep its end
    body = f"""
        import sys
        sys.stdout.write("x" * 10000 + "{TOKEN}" + "y" * 3990)
        sys.exit(3)
    """
    outcome = roll_back(settings(script(tmp_path, body)), tmp_path, store)
    assert outcome.outcome == "failed"
    assert outcome.command is not None
    assert outcome.command.output == "x" * 7 + "***" + "y" * 3990
    assert TOKEN[-6:] not in outcome.command.output
    [stored] = store.rollbacks()
    assert TOKEN[-6:] not in stored.output

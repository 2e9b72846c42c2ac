"""The Workers booking example as the tests use it: a copy per test module, run like a user.

Each copy is the example folder without what its commands write (``dist``, ``build``,
``.wrangler``, the history), with the example's ``node_modules`` linked in, so tests that
edit a schema or add a migration, and wrangler's local D1 state, stay apart. The gate runs as
a user runs it: ``pytest`` in the copy (its ``pytest.ini`` makes the copy pytest's rootdir),
in a subprocess.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.live_server import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "workers_booking"
# what the example's own commands write: never copied between projects
GENERATED = ("node_modules", "dist", "build", ".wrangler", ".deploycheck", ".hypothesis")
MIN_NODE = (20, 3)
RUN_TIMEOUT = 300.0
# environment that would change what the gate targets or how the Worker behaves
CLEARED = (
    "DEPLOYCHECK_BASE_URL",
    "DEPLOYCHECK_HISTORY_URL",
    "DEPLOY_ENV",
    "WORKER_FAULT",
    "FAULT",
    "SLOW_MS",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
)
# "FAILED deployment-config.json::phase3::contract[GET /providers] - message"
SUMMARY = re.compile(
    r"^(PASSED|FAILED|ERROR|SKIPPED) (deployment-config\.json::[^\s\[]+(?:\[[^\]]*\])?)",
    re.MULTILINE,
)


def node_missing() -> str | None:
    """Why the Worker cannot run here (no Node.js, or one too old), else None."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return (
            "Node.js and npm are not installed: the Workers example needs Node.js "
            f"{'.'.join(map(str, MIN_NODE))}+ (CI sets it up; see .ci/run)"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = tuple(int(part) for part in re.findall(r"\d+", version.stdout)[:2])
    if found < MIN_NODE:
        return f"Node.js {version.stdout.strip()} is too old for wrangler: 20.3+ is needed"
    return None


def install_dependencies() -> None:
    """``npm ci`` in the example when its node_modules is missing (once, across processes)."""
    if (EXAMPLE / "node_modules" / ".bin" / "wrangler").exists():
        return
    lock_path = Path(tempfile.gettempdir()) / "deploycheck-workers-npm-ci.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers wait for the first to install
        try:
            if not (EXAMPLE / "node_modules" / ".bin" / "wrangler").exists():
                installed = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund"],
                    cwd=EXAMPLE,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if installed.returncode != 0:
                    tail = "\n".join(installed.stderr.splitlines()[-20:])
                    raise RuntimeError(f"npm ci in {EXAMPLE} failed:\n{tail}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def gate_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a gate run: this checkout's package first, no target settings."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("PYTEST")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    # npm scripts call pytest and deploycheck: those of the running interpreter
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COLUMNS"] = "400"  # summary lines keep their node ids whole
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class GateRun:
    """What one pytest run of the gate printed, and the outcome of each item."""

    returncode: int
    output: str

    @property
    def outcomes(self) -> dict[str, str]:
        """Outcome by item name (``phase2::health``), from the ``-rA`` summary."""
        return {
            nodeid.split("::", 1)[1]: outcome for outcome, nodeid in SUMMARY.findall(self.output)
        }

    def failed(self) -> set[str]:
        return {name for name, outcome in self.outcomes.items() if outcome != "PASSED"}


@dataclass(frozen=True)
class WorkerProject:
    """A copy of the Workers example."""

    path: Path

    @classmethod
    def copy(cls, destination: Path) -> WorkerProject:
        shutil.copytree(EXAMPLE, destination, ignore=shutil.ignore_patterns(*GENERATED))
        (destination / "node_modules").symlink_to(EXAMPLE / "node_modules")
        return cls(destination)

    def gate(self, *args: str, env: Mapping[str, str] | None = None) -> GateRun:
        """``pytest ARGS`` in the project, with every item's outcome in the summary."""
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args]
        return self.run(command, env=env)

    def run(self, command: list[str], env: Mapping[str, str] | None = None) -> GateRun:
        completed = subprocess.run(
            command,
            cwd=self.path,
            env=gate_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        return GateRun(completed.returncode, completed.stdout)

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace ``old`` (which must be there) by ``new`` in one of the project's files."""
        path = self.path / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relative} no longer holds {old!r}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def wrangler(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``npx wrangler ARGS`` in the project, quietly and without reaching Cloudflare."""
        quiet = {"WRANGLER_SEND_METRICS": "false", "WRANGLER_HIDE_BANNER": "true"}
        return subprocess.run(
            ["npx", "wrangler", *args],
            cwd=self.path,
            env=gate_environment(quiet),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=True,
        )

"""How fast deploycheck reads, validates and lints a very large OpenAPI document.

The document is GitHub's REST API description (``api.github.com.json``, about 13 MB and 1,200
operations) from the npm package ``@octokit/openapi``. Each tool runs as a whole process, as a
user would run it, and we report its wall time and peak memory:

- deploycheck: ``load_spec`` + ``validate_document`` + ``lint_spec`` (what ``deploycheck lint``
  runs),
- Redocly CLI (``redocly lint``, recommended rules),
- openapi-spec-validator (structural validity only), in a throwaway virtualenv.

Goal: at most half of Redocly's time, and under 400 MB peak. Everything downloaded lives in
``benchmarks/.cache/`` (git-ignored). Run it on demand, never from the test suite::

    python benchmarks/bench_spec_ingestion.py [--runs 3] [--spec PATH] [--only deploycheck]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
REPOSITORY = HERE.parent
SPEC_IN_PACKAGE = "package/generated/api.github.com.json"
TIME_GOAL = 0.5  # of Redocly's time
MEMORY_GOAL_MB = 400

DEPLOYCHECK = """
import sys
from pytest_deploycheck.phase1.lint import lint_spec, validate_document
from pytest_deploycheck.core.spec import load_spec
spec = load_spec(sys.argv[1])
findings = validate_document(spec) + lint_spec(spec)
print(f"{len(spec.operations)} operations, {len(findings)} findings")
"""


@dataclass
class Result:
    """The best wall time and the largest peak memory over the runs of one tool."""

    tool: str
    seconds: float
    peak_mb: float
    summary: str


def fetch_spec() -> Path:
    """GitHub's description, from the npm package, unpacked once into the cache."""
    target = CACHE / "api.github.com.json"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    print("fetching @octokit/openapi with npm pack ...", flush=True)
    packed = subprocess.run(
        ["npm", "pack", "@octokit/openapi", "--pack-destination", str(CACHE)],
        check=True,
        capture_output=True,
        text=True,
    )
    archive = CACHE / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        member = tar.extractfile(SPEC_IN_PACKAGE)
        if member is None:
            raise SystemExit(f"{archive} has no {SPEC_IN_PACKAGE}")
        target.write_bytes(member.read())
    return target


def redocly_command() -> list[str]:
    """The Redocly CLI, installed into the cache by npx on first use, run without npx."""
    npm_cache = CACHE / "npm"
    installed = sorted(npm_cache.glob("_npx/*/node_modules/@redocly/cli/bin/cli.js"))
    if not installed:
        print("installing @redocly/cli with npx ...", flush=True)
        subprocess.run(
            ["npx", "--yes", "--cache", str(npm_cache), "@redocly/cli@latest", "--version"],
            check=True,
            capture_output=True,
        )
        installed = sorted(npm_cache.glob("_npx/*/node_modules/@redocly/cli/bin/cli.js"))
    if installed:
        return ["node", str(installed[-1]), "lint", "--format=summary"]
    return ["npx", "--yes", "--cache", str(npm_cache), "@redocly/cli@latest", "lint"]


def validator_command() -> list[str]:
    """openapi-spec-validator in its own virtualenv under the cache."""
    home = CACHE / "openapi-spec-validator-venv"
    script = home / "bin" / "openapi-spec-validator"
    if not script.exists():
        print("installing openapi-spec-validator into a throwaway venv ...", flush=True)
        venv.create(home, with_pip=True)
        subprocess.run(
            [str(home / "bin" / "python"), "-m", "pip", "install", "-q", "openapi-spec-validator"],
            check=True,
        )
    return [str(script)]


def run_once(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and the last output line of one run of ``command``."""
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY), "NO_COLOR": "1"}
    with tempfile.TemporaryFile(mode="w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        # wait4 gives this child's own peak memory (with its waited-for children)
        _, _, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = 0  # reaped by wait4 already
        output.seek(0)
        lines = [line.strip() for line in output.read().splitlines() if line.strip()]
    return elapsed, usage.ru_maxrss / 1024, (lines[-1][:100] if lines else "")


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, Result]:
    """Run the tools in turn, ``runs`` rounds, so that a busy machine slows them alike.

    Each tool keeps its best time and its largest peak memory.
    """
    results = {tool: Result(tool, float("inf"), 0.0, "") for tool in commands}
    for _ in range(runs):
        for tool, command in commands.items():
            seconds, peak, summary = run_once(command)
            result = results[tool]
            result.seconds = min(result.seconds, seconds)
            result.peak_mb = max(result.peak_mb, peak)
            result.summary = summary
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (best time wins)")
    parser.add_argument("--spec", type=Path, help="another OpenAPI document to measure")
    parser.add_argument(
        "--only",
        choices=["deploycheck", "redocly", "openapi-spec-validator"],
        action="append",
        help="run only these tools (repeatable)",
    )
    args = parser.parse_args(argv)
    spec = args.spec.resolve() if args.spec else fetch_spec()
    tools = args.only or ["deploycheck", "redocly", "openapi-spec-validator"]
    size_mb = spec.stat().st_size / 1e6
    print(f"{spec.name}: {size_mb:.1f} MB, best of {args.runs} runs per tool\n", flush=True)

    commands = {
        "deploycheck": lambda: [sys.executable, "-c", DEPLOYCHECK],
        "redocly": redocly_command,
        "openapi-spec-validator": validator_command,
    }
    ready: dict[str, list[str]] = {}
    for tool in tools:
        if (
            tool != "deploycheck"
            and shutil.which("node" if tool == "redocly" else "python3") is None
        ):
            print(f"{tool}: skipped, its runtime is not installed")
            continue
        try:
            ready[tool] = [*commands[tool](), str(spec)]
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"{tool}: skipped, cannot install it ({exc})")
    results = measure(ready, args.runs)
    for result in results.values():
        print(
            f"{result.tool:<24} {result.seconds:7.2f} s {result.peak_mb:8.0f} MB   {result.summary}"
        )

    ours = results.get("deploycheck")
    if ours is None:
        return 0
    print()
    for tool, result in results.items():
        if tool != "deploycheck":
            print(
                f"deploycheck / {tool}: {ours.seconds / result.seconds:.2f}x the time, "
                f"{ours.peak_mb / result.peak_mb:.2f}x the memory"
            )
    failed = ours.peak_mb > MEMORY_GOAL_MB
    print(f"memory goal (< {MEMORY_GOAL_MB} MB): {'missed' if failed else 'met'}")
    redocly = results.get("redocly")
    if redocly is not None:
        slow = ours.seconds > TIME_GOAL * redocly.seconds
        print(f"time goal (<= {TIME_GOAL:.0%} of Redocly): {'missed' if slow else 'met'}")
        failed = failed or slow
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

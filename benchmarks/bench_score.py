"""The score's calibration: does it separate a healthy deployment from a broken one?

Runs phase2+phase3 of the repository's config against the reference service (a fresh service
started by the gate for each run): healthy ``--healthy`` times (20 by default), then once per
fault switch. Healthy runs share one history, so each is compared with the healthy run before
it (a false latency regression would fail it); each fault run gets a copy of that history, so
it is compared with the last healthy deployment, as a broken deploy would be. Prints a table
(run, score, band, verdict, components, failed items) and the goals:

- healthy runs: every verdict pass, every score >= 95;
- every fault switch: verdict warn or fail;
- ``server_error``, ``slow``, ``unhealthy``, ``flaky``, ``jitter`` and ``degrade``: a score
  below the lowest healthy one.

Run on demand (about 30 s a run on 2 cores), ideally with ``bash .ci/run`` beside it:

    python benchmarks/bench_score.py [--healthy 20] [--faults flaky,jitter]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.booking_api.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
# the switches whose harm shows in the score itself, not only in a failed item
SCORED_FAULTS = ("server_error", "slow", "unhealthy", "flaky", "jitter", "degrade")


@dataclass(frozen=True)
class Outcome:
    name: str
    fault: str | None
    exit_code: int
    seconds: float
    report: dict[str, Any]

    @property
    def score(self) -> float:
        return float(self.report["score"]["score"])

    @property
    def verdict(self) -> str:
        return str(self.report["score"]["verdict"])


def run_once(name: str, fault: str | None, history: Path) -> Outcome:
    env = {
        **os.environ,
        "BOOKING_FAULTS": fault or "",
        "DEPLOYCHECK_HISTORY_URL": f"sqlite:///{history}",
        "DEPLOYCHECK_BASE_URL": "",
        "PYTHONDONTWRITEBYTECODE": "",
    }
    deploy_id = f"bench-{name}"
    started = time.perf_counter()
    gate = subprocess.run(
        [sys.executable, "-m", "pytest", "deployment-config.json", "-m", "phase2 or phase3",
         "-q", "-p", "no:cacheprovider", "--deploy-id", deploy_id],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    report = subprocess.run(
        [sys.executable, "-m", "pytest_deploycheck.cli", "report", "--json", "-",
         "--deploy-id", deploy_id],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if report.returncode != 0:
        raise SystemExit(
            f"{name}: no report ({report.stderr.strip()});\n{gate.stdout[-3000:]}{gate.stderr}"
        )
    return Outcome(name, fault, gate.returncode, seconds, json.loads(report.stdout))


def row(outcome: Outcome) -> str:
    score = outcome.report["score"]
    parts = score["components"]
    components = "/".join(
        "-" if parts[k] is None else f"{parts[k]:.0f}"
        for k in ("availability", "performance", "stability")
    )
    failed = sorted({item["node_id"].split("::")[-1] for item in outcome.report["failed_items"]})
    shown = ", ".join(failed[:3]) + (f" +{len(failed) - 3}" if len(failed) > 3 else "")
    return (
        f"| {outcome.name} | {score['score']:.1f} | {score['band']} | {score['verdict']} | "
        f"{components} | {outcome.exit_code} | {outcome.seconds:.0f} s | {shown or '-'} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=20, help="healthy runs (default 20)")
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="comma-separated switches (default: all)"
    )
    args = parser.parse_args()
    faults = [name for name in args.faults.split(",") if name]
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        parser.error(f"unknown fault switches {unknown}; known: {', '.join(FAULTS)}")

    folder = Path(tempfile.mkdtemp(prefix="bench-score-"))
    healthy_history = folder / "healthy.db"
    outcomes: list[Outcome] = []
    print("| run | score | band | verdict | avail./perf./stab. | exit | time | failed items |")
    print("| --- | ---: | --- | --- | --- | ---: | ---: | --- |")
    try:
        for index in range(1, args.healthy + 1):
            outcomes.append(run_once(f"healthy-{index:02d}", None, healthy_history))
            print(row(outcomes[-1]), flush=True)
        for fault in faults:
            history = folder / f"{fault}.db"
            if healthy_history.exists():
                shutil.copyfile(healthy_history, history)
            outcomes.append(run_once(fault, fault, history))
            print(row(outcomes[-1]), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    healthy = [o for o in outcomes if o.fault is None]
    broken = [o for o in outcomes if o.fault is not None]
    failed = [o for o in outcomes if o.verdict == "fail"]
    lowest = min((o.score for o in healthy), default=100.0)
    goals = [
        (
            f"healthy runs pass with a score >= 95: "
            f"{sum(o.verdict == 'pass' and o.score >= 95 for o in healthy)}/{len(healthy)}",
            all(o.verdict == "pass" and o.score >= 95 for o in healthy),
        ),
        (
            f"fault switches warn or fail: "
            f"{sum(o.verdict in ('warn', 'fail') for o in broken)}/{len(broken)}",
            all(o.verdict in ("warn", "fail") for o in broken),
        ),
        (
            f"scored faults below the lowest healthy score ({lowest:.1f}): "
            + ", ".join(f"{o.fault} {o.score:.1f}" for o in broken if o.fault in SCORED_FAULTS),
            all(o.score < lowest for o in broken if o.fault in SCORED_FAULTS),
        ),
        (
            "pytest exits 1 on every fail verdict: "
            f"{sum(o.exit_code == 1 for o in failed)}/{len(failed)}",
            all(o.exit_code == 1 for o in failed),
        ),
    ]
    print()
    for text, met in goals:
        print(f"{'met ' if met else 'MISSED'}  {text}")
    return 0 if all(met for _, met in goals) else 1


if __name__ == "__main__":
    sys.exit(main())

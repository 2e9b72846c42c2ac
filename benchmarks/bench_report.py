"""How long ``deploycheck report`` takes to render the terminal report from a large history.

Fills a SQLite store with 10,000 deployments of 50 operations (bulk inserts straight into
the store's tables), then times what ``deploycheck report`` does: open the store, run the
three analyses and render the terminal report. Target: under 0.5 s once imports are done.
The time for an empty store (which only reports that there is nothing yet) is printed too.

    python benchmarks/bench_report.py [--deployments 10000] [--operations 50] [--samples 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from pytest_deploycheck.core.errors import HistoryError
from pytest_deploycheck.reports import render_terminal
from pytest_deploycheck.score import history
from pytest_deploycheck.score.analysis import analyse_store
from pytest_deploycheck.score.history import HistoryStore

TARGET_SECONDS = 0.5


def fill(store: HistoryStore, deployments: int, operations: int, samples: int) -> None:
    """Bulk-insert ``deployments`` deployments with one run each."""
    rng = random.Random(7)
    labels = [f"GET /resource{index}/{{id}}" for index in range(operations)]
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    batch = 500
    # Drawing 10 million latencies would time Python's random module, not the store: each
    # operation draws its series from a pool of 40 around its own typical latency.
    pools = []
    for _ in labels:
        center = rng.uniform(20, 400)
        pool = []
        for _ in range(40):
            series = [max(0.0, round(rng.gauss(center, center / 10), 3)) for _ in range(samples)]
            pool.append(json.dumps(series, separators=(",", ":")))
        pools.append(pool)
    with store.engine.begin() as conn:
        for start in range(0, deployments, batch):
            stop = min(start + batch, deployments)
            conn.execute(
                sa.insert(history.deployments_table),
                [
                    {
                        "seq": seq + 1,
                        "id": f"{seq:040x}",
                        "created_at": t0 + timedelta(hours=seq),
                        "commit": f"{seq:040x}",
                        "branch": "main",
                        "environment": None,
                        "metadata": "{}",
                    }
                    for seq in range(start, stop)
                ],
            )
            conn.execute(
                sa.insert(history.runs_table),
                [
                    {
                        "id": seq + 1,
                        "deployment_seq": seq + 1,
                        "phase": "phase3",
                        "started_at": t0 + timedelta(hours=seq),
                        "finished_at": t0 + timedelta(hours=seq, minutes=2),
                        "health_ok": True,
                        "key_checks_failed": "[]",
                        "items": "{}",
                        "components": "{}",
                    }
                    for seq in range(start, stop)
                ],
            )
            rows = [
                {
                    "run_id": seq + 1,
                    "label": label,
                    "outcomes": "1" * samples,
                    "latencies_ms": rng.choice(pools[index]),
                    "failures": "[]",
                }
                for seq in range(start, stop)
                for index, label in enumerate(labels)
            ]
            conn.execute(sa.insert(history.samples_table), rows)


def report(url: str) -> str:
    """What ``deploycheck report`` does, as one string."""
    with HistoryStore.open(url) as store:
        try:
            analysis = analyse_store(store)
        except HistoryError as error:
            return str(error)
        return render_terminal(analysis, redact=lambda text: text)


def best_of(url: str, repeat: int) -> tuple[float, str]:
    timings = []
    output = ""
    for _ in range(repeat):
        start = time.perf_counter()
        output = report(url)
        timings.append(time.perf_counter() - start)
    return min(timings), output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--operations", type=int, default=50)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deploycheck-bench-") as folder:
        empty_url = f"sqlite:///{Path(folder) / 'empty.db'}"
        url = f"sqlite:///{Path(folder) / 'history.db'}"

        start = time.perf_counter()
        first = report(empty_url)  # the first call pays for opening a new store
        cold_empty = time.perf_counter() - start
        empty, message = best_of(empty_url, args.repeat)

        with HistoryStore.open(url, keep=args.deployments + 1) as store:
            start = time.perf_counter()
            fill(store, args.deployments, args.operations, args.samples)
            filled = time.perf_counter() - start
            count = store.count_deployments()
        size = Path(folder, "history.db").stat().st_size

        start = time.perf_counter()
        report(url)  # the first report imports scipy if an operation needs the test
        cold = time.perf_counter() - start
        warm, output = best_of(url, args.repeat)

    print(f"empty store:        {empty:.3f} s (first call {cold_empty:.3f} s): {message[:60]}...")
    print(
        f"filled store:       {count} deployments x {args.operations} operations x "
        f"{args.samples} samples in {filled:.1f} s, {size / 2**20:.0f} MiB"
    )
    imported = "with" if "scipy.stats" in sys.modules else "no test needed, without"
    print(f"report, first call: {cold:.3f} s ({imported} importing scipy)")
    print(f"report, best of {args.repeat}:  {warm:.3f} s (target {TARGET_SECONDS} s)")
    print(f"report length:      {len(output.splitlines())} lines")
    del first
    if warm > TARGET_SECONDS:
        print("SLOWER THAN THE TARGET", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What one ``deploycheck monitor`` process costs: 1,000 endpoints probed every 10 s.

A local server (its own process: a bare ASGI app under uvicorn) answers ``/health`` and 1,000
operations ``GET /r{i}``, a few of which always answer 500 so alerts escalate and are stored.
The monitor runs in a process of its own, as a user would run it, with Prometheus metrics on,
for ``--duration`` (default 3 minutes); its CPU time and peak resident memory come from the
kernel when it exits (``wait4``). Goal: under 25% of one core and under 150 MB.

    python benchmarks/bench_monitor.py [--duration 3m] [--endpoints 1000] [--interval 10s]
                                       [--failing 10] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CPU_GOAL = 0.25  # of one core
MEMORY_GOAL_MB = 150


# -- the server (its own process) -------------------------------------------------------------


def serve(port: int, failing: int) -> None:
    """Answer /health and /r{i}; the first ``failing`` operations answer 500."""
    import uvicorn

    ok = (200, b'{"status":"ok"}')
    broken = (500, b'{"error":"boom"}')

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        status, body = ok
        if path.startswith("/r") and path[2:].isdigit() and int(path[2:]) < failing:
            status, body = broken
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the monitor (its own process) ------------------------------------------------------------


def monitor(config: Path, summary: Path) -> None:
    """Run the monitor as ``deploycheck monitor --metrics-port 0`` would, then write a summary."""
    from pytest_deploycheck.after.monitor import run_monitor
    from pytest_deploycheck.gate.session import DeployCheckSession
    from pytest_deploycheck.score.history import HistoryStore

    session = DeployCheckSession(config, deploy_id="bench", environ={})
    with HistoryStore.open(f"sqlite:///{config.parent / 'history.db'}") as store:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        result = run_monitor(session, store, metrics_port=0)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        events = len(store.alert_events(limit=100_000))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = {
        "rounds": result.rounds,
        "highest_level": result.highest_level,
        "notifications": len(result.notifications),
        "alert_events": events,
        "loop_cpu_s": cpu,
        "loop_wall_s": wall,
        "rss_before_loop_mb": before.ru_maxrss / 1024,
    }
    summary.write_text(json.dumps(report), encoding="utf-8")


# -- the orchestration ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_project(folder: Path, base_url: str, args: argparse.Namespace) -> Path:
    paths = {
        f"/r{i}": {"get": {"responses": {"200": {"description": "ok"}}}}
        for i in range(args.endpoints)
    }
    spec = {"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": paths}
    (folder / "bench.json").write_text(json.dumps(spec), encoding="utf-8")
    config = {
        "service": {"name": "bench", "environment": "bench"},
        "spec": "bench.json",
        "target": {"base_url": base_url, "timeout": "5s"},
        "health": {"path": "/health", "body": {"status": "ok"}},
        "monitor": {
            "interval": args.interval,
            "duration": args.duration,
            "probes": ["health", *(f"GET /r{i}" for i in range(args.endpoints))],
            "concurrency": args.concurrency,
            "timeout": "5s",
        },
    }
    path = folder / "deployment-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def wait_ready(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the benchmark server at {url} did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="3m", help="how long the monitor runs (3m)")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--failing", type=int, default=10, help="endpoints that answer 500")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--monitor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--summary", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.failing)
        return 0
    if args.monitor is not None:
        monitor(args.monitor, args.summary)
        return 0

    with tempfile.TemporaryDirectory(prefix="deploycheck-bench-") as name:
        folder = Path(name)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, str(HERE), "--serve", str(port), "--failing", str(args.failing)],
            start_new_session=True,
        )
        try:
            wait_ready(base_url + "/health")
            config = write_project(folder, base_url, args)
            summary_path = folder / "summary.json"
            started = time.monotonic()
            child = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE),
                    "--monitor",
                    str(config),
                    "--summary",
                    str(summary_path),
                ],
                cwd=HERE.parent.parent,
                stdout=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - started
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        if child.returncode != 0:
            print(f"the monitor process failed with exit code {child.returncode}", file=sys.stderr)
            return 2
        summary = json.loads(summary_path.read_text(encoding="utf-8"))

    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = usage.ru_maxrss / 1024
    loop_share = summary["loop_cpu_s"] / summary["loop_wall_s"]
    print(
        f"monitor: {args.endpoints} endpoints + health every {args.interval} for "
        f"{args.duration}, concurrency {args.concurrency}, {args.failing} failing"
    )
    print(
        f"rounds:  {summary['rounds']}, highest level {summary['highest_level']}, "
        f"{summary['notifications']} notifications, {summary['alert_events']} alert events stored"
    )
    print(
        f"CPU:     {cpu:.1f} s over {wall:.1f} s = {cpu / wall:.1%} of one core for the whole "
        f"process; {loop_share:.1%} for the monitoring loop alone (goal < {CPU_GOAL:.0%})"
    )
    print(
        f"memory:  peak RSS {peak_mb:.0f} MB (after imports and setup "
        f"{summary['rss_before_loop_mb']:.0f} MB; goal < {MEMORY_GOAL_MB} MB)"
    )
    if cpu / wall > CPU_GOAL or peak_mb > MEMORY_GOAL_MB:
        print("OVER THE GOAL", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

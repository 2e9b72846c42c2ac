"""Latency fidelity: our p50/p95/p99 against wrk's, on a server with a fixed delay.

Both measure the same local server (every answer waits ``--delay-ms``, 20 by default) with
the same number of connections, taking turns over several rounds of the same run so that a
change in the machine's load hits both alike; each percentile is the median over the rounds.
The goal: our p50 and p95 within 5% of wrk's. Needs ``wrk`` on PATH (Debian:
``apt-get install -y wrk``).

The server is a Python (uvicorn) process: when many requests reach it together, the last ones
wait for it to handle the first, so its latency depends on how a client spaces its requests.
wrk sends each next request the instant an answer is in, so at high concurrency its requests
travel in lockstep and bunch up at the server; a Python client, whose own work spaces them
out, meets a faster server. ``--wrk-pause-ms N`` makes wrk wait a random 0..N ms before each
request (its ``delay()`` hook; the pause is not part of any latency) to tell the two apart:
if wrk's figures then come down to ours, the difference was the server's, not the measurement's.

    python benchmarks/bench_latency_fidelity.py [--delay-ms 20] [--rounds 5] [--connections 4]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.live.performance import run_performance
from pytest_deploycheck.live.target import LocalService

GOAL = 0.05
# wrk prints p50/75/90/99 with --latency; a done() hook adds p95 from the same histogram.
WRK_SCRIPT = """
pause_ms = {pause_ms}
if pause_ms > 0 then
  delay = function() return math.random(0, pause_ms) end
end
done = function(summary, latency, requests)
  for _, p in pairs({{50, 95, 99}}) do
    io.write(string.format("deploycheck p%d %.3f\\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("deploycheck rps %.1f\\n", summary.requests / summary.duration * 1e6))
end
"""
SPEC = Spec(
    {
        "openapi": "3.1.0",
        "info": {"title": "delay", "version": "1"},
        "paths": {"/delay": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
)


def serve(port: int, delay_ms: float) -> None:
    """The fixed-delay server: every GET /delay answers after ``delay_ms``."""
    import asyncio

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def delay(request: Request) -> PlainTextResponse:
        await asyncio.sleep(delay_ms / 1000)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/delay", delay), Route("/health", delay)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)


def ours(base_url: str, samples: int, connections: int) -> dict[str, float]:
    """Our percentiles, and our rate: requests (warm-up included) over the whole call."""
    warmup = 20
    section = {"samples": samples, "concurrency": connections, "warmup": warmup, "thresholds": {}}
    started = time.perf_counter()
    result = run_performance(base_url, SPEC, "GET /delay", section, timeout=10)
    elapsed = time.perf_counter() - started
    if not all(result.outcomes):
        raise SystemExit(f"our measurement saw failures: {result.findings}")
    return {**result.percentiles, "rps": (samples + warmup) / elapsed}


def wrk(base_url: str, seconds: int, connections: int, pause_ms: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.format(pause_ms=pause_ms))
        script.flush()
        argv = [
            "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
            "-s", script.name, f"{base_url}/delay",
        ]  # fmt: skip
        output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    found = dict(re.findall(r"^deploycheck (p\d+|rps) ([\d.]+)$", output, re.MULTILINE))
    return {name: float(value) for name, value in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=300, help="our requests per round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--wrk-seconds", type=int, default=2, help="wrk's time per round")
    parser.add_argument(
        "--wrk-pause-ms", type=int, default=0, help="wrk waits a random 0..N ms before each request"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay_ms)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "{port}"]
    command += ["--delay-ms", str(args.delay_ms)]
    rounds: dict[str, list[dict[str, float]]] = {"ours": [], "wrk": []}
    with LocalService(command=command, cwd=Path.cwd(), ready_path="/health") as service:
        for _ in range(args.rounds):
            rounds["ours"].append(ours(service.base_url, args.samples, args.connections))
            rounds["wrk"].append(
                wrk(service.base_url, args.wrk_seconds, args.connections, args.wrk_pause_ms)
            )
    names = ("p50", "p95", "p99", "rps")
    mine, theirs = (
        {name: statistics.median(r[name] for r in rounds[who]) for name in names}
        for who in ("ours", "wrk")
    )
    pause = f", wrk pausing 0..{args.wrk_pause_ms}ms" if args.wrk_pause_ms else ""
    print(
        f"server delay {args.delay_ms:g}ms, {args.connections} connections, "
        f"{args.rounds} rounds of {args.samples} requests (ours) and {args.wrk_seconds}s (wrk)"
        f"{pause}"
    )
    print(f"rate: ours {mine['rps']:.0f} req/s, wrk {theirs['rps']:.0f} req/s")
    print(f"{'':6}{'deploycheck':>14}{'wrk':>10}{'difference':>12}")
    ok = True
    for name in ("p50", "p95", "p99"):
        difference = (mine[name] - theirs[name]) / theirs[name]
        within = abs(difference) <= GOAL or name == "p99"
        ok = ok and within
        mark = "" if name == "p99" else ("  ok" if within else "  OVER 5%")
        print(f"{name:6}{mine[name]:>12.2f}ms{theirs[name]:>8.2f}ms{difference:>+11.1%}{mark}")
    print("goal: p50 and p95 within 5% of wrk:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

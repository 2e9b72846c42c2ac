"""Availability sweep: 1,000 operations against a local server that answers after 50 ms.

Goal: the concurrent sweep at least 20 times faster than probing the operations one after
another. Run on demand:

    python benchmarks/bench_availability.py [--operations 1000] [--delay-ms 50]

Both runs go through the same code the availability items use (spec -> build_probe -> sweep);
only the concurrency differs. The server is a separate process (asyncio, keep-alive).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import textwrap
import time
from contextlib import AsyncExitStack

import httpx

from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.core.wire import timed_transport
from pytest_deploycheck.live.availability import shard_count, sweep
from pytest_deploycheck.live.probes import build_probe
from pytest_deploycheck.live.target import free_port

SERVER = textwrap.dedent(
    """
    import asyncio, sys

    DELAY = float(sys.argv[2]) / 1000

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                if not head:
                    break
                await asyncio.sleep(DELAY)
                writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n"
                             b"content-length: 2\\r\\n\\r\\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=2048)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
    """
)


def make_spec(count: int) -> Spec:
    paths = {
        f"/resources{i}/{{item_id}}": {
            "get": {
                "operationId": f"get{i}",
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
        for i in range(count)
    }
    return Spec({"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": paths})


async def run_sweep(base_url: str, spec: Spec, concurrency: int) -> float:
    requests = {op.label: build_probe(spec, op) for op in spec.operations}
    shards = shard_count(concurrency)
    per_client = -(-concurrency // shards)
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                # as DeployCheckSession.async_client builds them
                httpx.AsyncClient(
                    base_url=base_url,
                    timeout=30,
                    transport=timed_transport(base_url, limits=limits),
                )
            )
            for _ in range(shards)
        ]
        started = time.perf_counter()
        results = await sweep(clients, requests, concurrency=concurrency, timeout=30)
        elapsed = time.perf_counter() - started
    failed = [r for r in results.values() if not r.answered]
    if failed:
        raise SystemExit(f"{len(failed)} probes failed, e.g. {failed[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=50,
        help="the sweep's concurrency (availability.concurrency default: 50)",
    )
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(args.delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        base_url = f"http://127.0.0.1:{port}"
        spec = make_spec(args.operations)
        concurrent = asyncio.run(run_sweep(base_url, spec, args.concurrency))
        sequential = asyncio.run(run_sweep(base_url, spec, 1))
    finally:
        server.terminate()
        server.wait()
    ratio = sequential / concurrent
    print(f"operations: {args.operations}, server delay: {args.delay_ms:.0f} ms")
    print(f"one after another:        {sequential:8.2f} s")
    print(f"concurrent sweep (x{args.concurrency}):  {concurrent:8.2f} s")
    print(f"speed-up: {ratio:.1f}x (goal: at least 20x) -> {'met' if ratio >= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()

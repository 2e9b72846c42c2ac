"""How each live family's check is run against a mode of the fixture service.

The TLS family is checked on its logic only: a certificate shipped with the package is
parsed and judged against an injected clock and host name. A TLS handshake would need a
private key made at run time, which the standard library cannot do.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from pytest_deploycheck.core.findings import Finding

from .model import _TIMEOUT, Runner, _Context


def _health(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.health import check_health

        section = {"path": "/health", "body": {"status": "ok"}, "retries": 0}
        with ctx.client(mode) as client:
            return check_health(client, section, sleep=lambda _: None).findings

    return run


def _availability(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.availability import ProbeResult, judge, sweep
        from pytest_deploycheck.live.probes import build_probe

        spec = ctx.spec
        requests = {op.label: build_probe(spec, op) for op in spec.operations}

        async def probe() -> dict[str, ProbeResult]:
            async with httpx.AsyncClient(
                base_url=ctx.url(mode), timeout=_TIMEOUT, trust_env=False
            ) as client:
                return await sweep(client, requests, concurrency=4, timeout=_TIMEOUT)

        results = asyncio.run(probe())
        return [finding for op in spec.operations for finding in judge(op, results[op.label])]

    return run


def _drift(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.drift import check_drift

        with ctx.client(mode) as client:
            return check_drift(client, ctx.spec, {"path": "/openapi.json", "required": True})

    return run


def _tls(hostname: str, days_before_expiry: float | None) -> Runner:
    """Judge the shipped certificate for ``hostname`` at a moment the fixture picks.

    ``None`` is halfway through the certificate's validity; a number is that many days
    before it expires. The moments are relative to the certificate, so it never goes stale.
    """

    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.tls import evaluate_certificate, parse_certificate

        pem = (ctx.fixtures / "tls" / "localhost.pem").read_text(encoding="ascii")
        certificate = parse_certificate(ssl.PEM_cert_to_DER_cert(pem))
        lifetime = certificate.not_after - certificate.not_before
        if days_before_expiry is None:
            now = certificate.not_before + lifetime / 2
        else:
            now = certificate.not_after - timedelta(days=days_before_expiry)
        return evaluate_certificate(certificate, hostname, now, min_days=14, warn_days=30)

    return run


# Small and seeded: the self-test shows that a fault is caught, it does not hunt for new ones.
_CONTRACT_SECTION: Mapping[str, Any] = {
    "max_examples": 5,
    "seed": 20240601,
    "derandomize": True,
    "deadline": "5s",
    "max_time": "30s",
    "stateful": {"max_examples": 5, "max_steps": 4},
}


def _contract(mode: str, label: str, kind: Literal["positive", "negative"]) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.contract import run_contract

        result = run_contract(
            ctx.spec, ctx.url(mode), label, _CONTRACT_SECTION, mode=kind, timeout=_TIMEOUT
        )
        return result.findings

    return run


def _stateful(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.contract import run_stateful

        return run_stateful(ctx.spec, ctx.url(mode), _CONTRACT_SECTION, timeout=_TIMEOUT).findings

    return run


def _deleting_first(mode: str) -> Runner:
    """The gate's own contract check of ``DELETE /items/{item_id}``, run before the
    negative check of ``POST /restocks`` (against the gate's order): the delete must take an
    item of its own, or a restock naming the example item answers 404 whatever else its
    body holds, and an accepted invalid body goes unseen."""

    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.gate.planners import plan_checks
        from pytest_deploycheck.gate.session import DeployCheckSession

        off = {"enabled": False}
        config = {
            "spec": str(ctx.fixtures / "ordering" / "shop.openapi.yaml"),
            "target": {"base_url": ctx.url(mode), "timeout": f"{_TIMEOUT:g}s"},
            "health": off,
            "availability": off,
            "drift": off,
            "tls": off,
            "performance": off,
            "contract": {**_CONTRACT_SECTION, "stateful": off},
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "deployment-config.json"
            path.write_text(json.dumps(config), encoding="utf-8")
            session = DeployCheckSession(path, environ={}, store_history=False)
            try:
                checks = {f"{c.phase}::{c.name}": c for c in plan_checks(session)}
                order = (
                    "phase3::contract[DELETE /items/{item_id}]",
                    "phase3::negative[POST /restocks]",
                )
                return [finding for name in order for finding in checks[name].run(session).findings]
            finally:
                session.close()

    return run


_SMOKE_FLOW: Mapping[str, Any] = {
    "name": "create then read",
    "steps": [
        {
            "name": "create",
            "request": {
                "method": "POST",
                "path": "/items",
                "json": {"name": "washer", "quantity": 7},
            },
            "expect": {"status": 201, "json": {"name": "washer", "quantity": 7}},
            "capture": {"item_id": "$.id"},
        },
        {
            "name": "read",
            "request": {"path": "/items/{item_id}"},
            "expect": {"status": 200, "json": {"id": "{item_id}", "name": "washer"}},
        },
    ],
}


def _smoke(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.smoke import run_flow

        with ctx.client(mode) as client:
            return run_flow(client, _SMOKE_FLOW).findings

    return run


_PERFORMANCE_SECTION: Mapping[str, Any] = {
    "samples": 5,
    "concurrency": 5,
    "warmup": 0,
    "max_time": "20s",
    # far above a local answer (a few ms), far below the slow mode's _SLOW_SECONDS
    "thresholds": {"p50": "250ms", "p95": "250ms", "p99": "250ms"},
}


def _performance(mode: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.live.performance import run_performance

        result = run_performance(
            ctx.url(mode),
            ctx.spec,
            "GET /items",
            _PERFORMANCE_SECTION,
            timeout=_TIMEOUT,
            # an explicit transport also keeps environment proxies away from 127.0.0.1
            transport=httpx.AsyncHTTPTransport(),
        )
        return result.findings

    return run

"""The phases, rounds and check families of the gate, by name.

Every layer shares these names: the pytest markers, the planners that expand a config into
checks, the score's key checks and the reports. The planners themselves live in
``pytest_deploycheck.gate``.
"""

from __future__ import annotations

__all__ = ["FAMILIES", "PHASES", "ROUNDS"]

PHASES = {
    "phase1": "before the deploy: static checks and the locally started service",
    "phase2": "after the deploy: health, availability, drift and TLS",
    "phase3": "after the deploy: contract, negative, stateful, smoke and performance",
}
ROUNDS = {
    "round1": "phase1 round 1: code quality and static analysis",
    "round2": "phase1 round 2: spec compliance and schema validation",
    "round3": "phase1 round 3: contract verification against the local service",
}
FAMILIES = {
    "static_analysis": "configured static analysis commands (ruff, mypy, tsc...)",
    "env": "required environment variables and their types",
    "bundle": "build artifact sizes",
    "openapi": "OpenAPI validity and lint rules",
    "breaking": "breaking changes against a base version of the spec",
    "migrations": "numbered SQL migrations: order, application, destructive changes, checksums",
    "database": "the migrated database schema against the spec's component schemas",
    "models": "code models (Pydantic, JSON Schema) against the spec's component schemas",
    "health": "the health endpoint: status, body and latency",
    "availability": "every operation answers without a 5xx, a timeout or a connection error",
    "drift": "the spec the service serves against the repository's spec",
    "tls": "the target's TLS certificate",
    "contract": "generated tests: responses conform to the spec",
    "negative": "generated invalid requests are rejected with a 4xx",
    "stateful": "link-driven sequences of requests",
    "smoke": "request flows declared in the config",
    "performance": "latency percentiles against thresholds",
}

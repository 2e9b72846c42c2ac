"""Every fixture of the self-test: a known-good and known-bad ones per family.

A bad fixture names the rules that must catch it: failing for another reason is not
catching its fault.
"""

from __future__ import annotations

from pathlib import Path

from .live_runners import (
    _availability,
    _contract,
    _deleting_first,
    _drift,
    _health,
    _performance,
    _smoke,
    _stateful,
    _tls,
)
from .model import Runner, _Fixture
from .phase1_runners import (
    _breaking,
    _bundle,
    _database,
    _env,
    _env_example,
    _migrations,
    _models,
    _openapi,
    _static_analysis,
)

FIXTURES = Path(__file__).with_name("fixtures")
"""The folder of the shipped fixtures."""


def _good(family: str, name: str, run: Runner, *, live: bool = False) -> _Fixture:
    return _Fixture(family, name, "pass", run, (), live)


def _bad(family: str, name: str, run: Runner, *rules: str, live: bool = False) -> _Fixture:
    return _Fixture(family, name, "fail", run, rules, live)


def _fixtures() -> tuple[_Fixture, ...]:
    """Every fixture, in the order of ``FAMILIES``."""
    return (
        _good("static_analysis", "valid JSON", _static_analysis("good")),
        _bad(
            "static_analysis", "broken JSON", _static_analysis("broken"), "static-analysis-failed"
        ),
        _good("env", "every variable valid", _env("good")),
        _bad("env", "invalid and missing values", _env("bad"), "env-invalid", "env-missing"),
        _good("env", "secret declared by .env.example set", _env_example("example-good")),
        _bad(
            "env",
            "secret declared by .env.example empty",
            _env_example("example-missing"),
            "env-missing",
        ),
        _good("bundle", "under its size limit", _bundle("good", {"app.js": 160})),
        _bad("bundle", "over its size limit", _bundle("too-big"), "bundle-size"),
        _bad("bundle", "grew past max_growth", _bundle("good", {"app.js": 100}), "bundle-growth"),
        _good("openapi", "valid, lint-clean spec", _openapi("service")),
        _bad(
            "openapi",
            "breaks the OpenAPI schema",
            _openapi("openapi/invalid-document.yaml"),
            "oas3-schema",
        ),
        _bad(
            "openapi",
            "example breaks its schema",
            _openapi("openapi/example-breaks-schema.yaml"),
            "oas3-valid-schema-example",
        ),
        _good("breaking", "additions only", _breaking("compatible.yaml")),
        _bad(
            "breaking",
            "endpoint removed, parameter required",
            _breaking("breaking.yaml"),
            "api-path-removed-without-deprecation",
            "request-parameter-became-required",
        ),
        _good("migrations", "additive migrations", _migrations("migrations/good")),
        _bad(
            "migrations",
            "drops a column",
            _migrations("migrations/drops-column"),
            "migration-drop-column",
        ),
        _bad(
            "migrations", "numbering gap", _migrations("migrations/gap"), "migration-numbering-gap"
        ),
        _good("database", "tables match the spec", _database("migrations/good")),
        _bad(
            "database", "column type differs", _database("database/type-mismatch"), "database-type"
        ),
        _good("models", "JSON Schema matches Item", _models("models/item.schema.json")),
        _bad(
            "models",
            "JSON Schema drifted from Item",
            _models("models/item-drifted.schema.json"),
            "models-type",
        ),
        _good("health", "healthy", _health("good"), live=True),
        _bad("health", "wrong health body", _health("unhealthy"), "health-body", live=True),
        _good("availability", "every operation answers", _availability("good"), live=True),
        _bad(
            "availability",
            "an operation answers 500",
            _availability("server-error"),
            "availability-server-error",
            live=True,
        ),
        _good("drift", "serves the repo's spec", _drift("good"), live=True),
        _bad("drift", "served spec drifted", _drift("drifted"), "drift-response", live=True),
        _good("tls", "valid certificate (logic only)", _tls("127.0.0.1", None)),
        _bad("tls", "expires in 5 days (logic only)", _tls("127.0.0.1", 5), "tls-expiry"),
        _bad(
            "tls", "names another host (logic only)", _tls("api.example.com", None), "tls-hostname"
        ),
        _good(
            "contract", "responses conform", _contract("good", "GET /items", "positive"), live=True
        ),
        _bad(
            "contract",
            "response breaks its schema",
            _contract("bad-schema", "GET /items", "positive"),
            "contract-response-schema-conformance",
            live=True,
        ),
        _good(
            "negative",
            "rejects invalid input",
            _contract("good", "POST /items", "negative"),
            live=True,
        ),
        _bad(
            "negative",
            "accepts invalid input",
            _contract("accepts-invalid", "POST /items", "negative"),
            "negative-negative-data-rejection",
            live=True,
        ),
        _good(
            "negative",
            "rejects invalid input, a delete ran first",
            _deleting_first("good"),
            live=True,
        ),
        _bad(
            "negative",
            "accepts invalid input naming an item, a delete ran first",
            _deleting_first("restocks-anything"),
            "negative-negative-data-rejection",
            live=True,
        ),
        _good("stateful", "created items can be read", _stateful("good"), live=True),
        _bad(
            "stateful",
            "created item cannot be read",
            _stateful("forgetful"),
            "stateful-ensure-resource-availability",
            live=True,
        ),
        _good("smoke", "create then read", _smoke("good"), live=True),
        _bad(
            "smoke", "created item cannot be read", _smoke("forgetful"), "smoke-status", live=True
        ),
        _good("performance", "fast answers", _performance("good"), live=True),
        _bad("performance", "slow answers", _performance("slow"), "performance-p95", live=True),
    )

"""``deploycheck self-test``: does every check still catch what it is for?

Each check family runs against fixtures shipped in ``fixtures/``: a known-good one,
on which it must pass, and one or more known-bad ones, on which it must fail *with the rule
that names the fault* (a bad fixture failing for another reason has not been caught). The
check functions are called directly, offline, with no config of the user's and no process
environment (the env family reads only its fixture's dotenv file).

The live families run against a small stock-keeping service (``service.openapi.yaml``)
served from a thread on 127.0.0.1. Its first path segment picks a mode: ``/good/...``
behaves, and each other mode breaks one thing (a wrong health body, a 500, a body that
breaks its schema, invalid input accepted, a created item that cannot be read, a slow
answer, a served spec that drifted), so one server covers every family and every case is
independent of the others.

The TLS family is checked on its logic only: a certificate shipped with the package is
parsed and judged against an injected clock and host name. A TLS handshake would need a
private key made at run time, which the standard library cannot do.

``run_self_test`` returns :class:`Case` rows; ``render_self_test`` and ``render_json`` turn
them into text, and only the command line prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import difflib
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.families import FAMILIES
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.core.spec import Spec, load_spec

__all__ = [
    "FIXTURES",
    "Case",
    "render_json",
    "render_self_test",
    "run_self_test",
    "self_test_passed",
]

FIXTURES = Path(__file__).with_name("fixtures")
"""The folder of the shipped fixtures."""

Expected = Literal["pass", "fail"]
Got = Literal["pass", "fail", "error"]
Runner = Callable[["_Context"], list[Finding]]

_HOST = "127.0.0.1"
_TIMEOUT = 10.0  # seconds any one request of the self-test may take
_DETAIL_LENGTH = 160
_TLS_NOTE = (
    "tls: logic only. A shipped certificate is parsed and judged with an injected clock and "
    "host; no TLS handshake, since that needs a certificate and key made at run time."
)


@dataclass(frozen=True, slots=True)
class Case:
    """One fixture run through its check: what was expected, what came out, and why."""

    family: str
    fixture: str
    expected: Expected
    got: Got
    detail: str
    passed: bool
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The case as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Fixture:
    """A fixture and how to check it; a bad one names the rules that must catch it."""

    family: str
    name: str
    expected: Expected
    run: Runner
    rules: tuple[str, ...] = ()
    live: bool = False


# -- the service the live families are checked against ----------------------------------------

_MODES = (
    "good",
    "unhealthy",  # /health answers 200 with status "degraded"
    "server-error",  # GET /items/{item_id} answers 500
    "bad-schema",  # GET /items answers items whose quantity is a string
    "accepts-invalid",  # POST /items creates an item from any body
    "forgetful",  # POST /items answers 201 but keeps nothing
    "slow",  # GET /items takes _SLOW_SECONDS
    "drifted",  # /openapi.json serves a spec whose Item.quantity is a string
)
_SLOW_SECONDS = 0.5
_ASCII_INTEGER = re.compile(r"-?[0-9]+")
_NEW_ITEM_KEYS = frozenset({"name", "quantity", "note"})

Answer = tuple[int, Any]


def _problem(status: int, title: str, detail: str | None = None) -> Answer:
    body = {"title": title} if detail is None else {"title": title, "detail": detail}
    return status, body


class _StockService:
    """The fixture service's behaviour, per mode, apart from HTTP: (method, path) -> answer."""

    def __init__(self, document: Mapping[str, Any], sleep: Callable[[float], None]) -> None:
        self.document = document
        self.sleep = sleep
        self.lock = threading.Lock()
        # every mode starts with one item, so reads and listings have something to show
        self.items: dict[str, dict[int, dict[str, Any]]] = {
            mode: {1: {"id": 1, "name": "bolt", "quantity": 3, "note": None}} for mode in _MODES
        }
        self.next_id = 2

    def answer(
        self, method: str, target: str, content_type: str | None, body: bytes | None
    ) -> Answer:
        """The status and JSON body for ``method`` on ``target`` (``/mode/path?query``)."""
        parts = urlsplit(target)
        _, _, rest = parts.path.partition("/")
        mode, _, path = rest.partition("/")
        path = "/" + path
        if mode not in _MODES:
            return _problem(404, "Not Found", f"no mode {mode!r}; modes: {', '.join(_MODES)}")
        if path == "/openapi.json":
            return self._only(method, "GET") or (200, self._served_spec(mode))
        if path == "/health":
            return self._only(method, "GET") or (
                200,
                {"status": "degraded" if mode == "unhealthy" else "ok"},
            )
        if path == "/items":
            if method == "GET":
                return self._list(mode, parts.query)
            if method == "POST":
                return self._create(mode, content_type, body)
            return _problem(405, "Method Not Allowed")
        match = re.fullmatch(r"/items/([^/]+)", path)
        if match:
            return self._only(method, "GET") or self._read(mode, unquote(match.group(1)))
        return _problem(404, "Not Found", f"no route {path}")

    @staticmethod
    def _only(method: str, allowed: str) -> Answer | None:
        return None if method == allowed else _problem(405, "Method Not Allowed")

    def _served_spec(self, mode: str) -> Any:
        if mode != "drifted":
            return self.document
        drifted = copy.deepcopy(dict(self.document))
        drifted["components"]["schemas"]["Item"]["properties"]["quantity"]["type"] = "string"
        return drifted

    def _list(self, mode: str, query: str) -> Answer:
        values = parse_qs(query, keep_blank_values=True).get("limit", ["20"])
        limit = _integer(values[0]) if len(values) == 1 else None
        if limit is None or not 1 <= limit <= 100:
            return _problem(400, "Bad Request", "limit must be one integer from 1 to 100")
        if mode == "slow":
            self.sleep(_SLOW_SECONDS)
        if mode == "bad-schema":
            return 200, [{"id": 1, "name": "bolt", "quantity": "three", "note": None}]
        with self.lock:
            listed = list(self.items[mode].values())[:limit]
        return 200, listed

    def _create(self, mode: str, content_type: str | None, body: bytes | None) -> Answer:
        new = _new_item(content_type, body)
        if isinstance(new, str):
            if mode != "accepts-invalid":
                return _problem(400, "Bad Request", new)
            new = {"name": "accepted", "quantity": 0}
        with self.lock:
            item = {"id": self.next_id, "note": None, **new}
            self.next_id += 1
            if mode != "forgetful":
                self.items[mode][item["id"]] = item
        return 201, item

    def _read(self, mode: str, raw_id: str) -> Answer:
        item_id = _integer(raw_id)
        if item_id is None or item_id < 1:
            return _problem(400, "Bad Request", "item_id must be an integer from 1")
        if mode == "server-error":
            return _problem(500, "Internal Server Error")
        with self.lock:
            item = self.items[mode].get(item_id)
        if item is None:
            return _problem(404, "Not Found", f"no item {item_id}")
        return 200, item


def _integer(text: str) -> int | None:
    # ASCII digits only: int() would also take "\u0661", which the spec does not allow
    return int(text) if _ASCII_INTEGER.fullmatch(text) else None


def _new_item(content_type: str | None, body: bytes | None) -> dict[str, Any] | str:
    """The NewItem in ``body``, or why it is not one."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        return "the body must be application/json"
    try:
        data = json.loads(body or b"")
    except ValueError:
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body must be an object"
    if set(data) - _NEW_ITEM_KEYS or not {"name", "quantity"} <= set(data):
        return "the body holds name, quantity and an optional note, and nothing else"
    name, quantity, note = data["name"], data["quantity"], data.get("note")
    if not isinstance(name, str) or not 1 <= len(name) <= 50:
        return "name must be a string of 1 to 50 characters"
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return "quantity must be an integer from 0"
    if note is not None and (not isinstance(note, str) or len(note) > 200):
        return "note must be null or a string of at most 200 characters"
    return {"name": name, "quantity": quantity, "note": note}


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing around :class:`_StockService`."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the performance check expects
    timeout = _TIMEOUT  # an idle keep-alive connection must not hold its thread forever
    # headers and body go out in two writes; with Nagle on, each answer waits for a delayed ACK
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method gets an answer (do_GET, do_TRACE, do_QUERY...): schemathesis tries
        # undeclared methods, and the stdlib's answer to those is a 501 server error.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return lambda: self._dispatch(name[3:])
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: the self-test's only output is its table."""

    def _dispatch(self, method: str) -> None:
        length = _integer(self.headers.get("content-length") or "0")
        if length is None or length < 0 or "transfer-encoding" in self.headers:
            # no client of the self-test sends chunks; refuse what cannot be framed
            self.close_connection = True
            self._send(*_problem(400, "Bad Request", "send a body with a Content-Length"))
            return
        body = self.rfile.read(length) if length else None
        try:
            status, payload = self.server.service.answer(
                "GET" if method == "HEAD" else method,
                self.path,
                self.headers.get("content-type"),
                body,
            )
        # a bug in the fixture service shows up as a 500 in a check's finding, not a traceback
        except Exception as exc:  # noqa: BLE001
            status, payload = _problem(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
        self._send(status, payload, with_body=method != "HEAD")

    def _send(self, status: int, payload: Any, *, with_body: bool = True) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, service: _StockService) -> None:
        self.service = service
        super().__init__((_HOST, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-answer is no news, and the table is the output."""


@contextlib.contextmanager
def _serve(service: _StockService) -> Iterator[str]:
    """Serve ``service`` from a thread on a free port of 127.0.0.1; yield its base URL."""
    server = _Server(service)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- running one fixture -----------------------------------------------------------------------


@dataclass
class _Context:
    """What the fixtures' runners share: the fixture folder and the live service's URL."""

    fixtures: Path
    base_url: str | None = None

    @cached_property
    def spec(self) -> Spec:
        return load_spec(self.fixtures / "service.openapi.yaml")

    def url(self, mode: str) -> str:
        if self.base_url is None:  # a live fixture run without the server: a bug here
            raise RuntimeError("the self-test service is not running")
        return f"{self.base_url}/{mode}"

    def client(self, mode: str) -> httpx.Client:
        # trust_env off: a proxy configured for the outside world must not see 127.0.0.1
        return httpx.Client(base_url=self.url(mode), timeout=_TIMEOUT, trust_env=False)


def _static_analysis(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.static_analysis import check_command, parse_commands

        section = {
            "commands": [
                {
                    "name": "json.tool",
                    "argv": ["{python}", "-m", "json.tool", "settings.json.txt"],
                    "timeout": "30s",
                }
            ]
        }
        (command,) = parse_commands(section)
        return check_command(command, ctx.fixtures / "static_analysis" / folder)

    return run


_ENV_SECTION: Mapping[str, Any] = {
    "files": ["service.env"],
    "variables": {
        "PORT": {"type": "port", "required": True},
        "DATABASE_URL": {"type": "url", "required": True, "schemes": ["sqlite", "postgresql"]},
        "LOG_LEVEL": {"type": "choice", "choices": ["debug", "info", "warning", "error"]},
        "DEBUG": {"type": "bool"},
    },
}


def _env(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.environment import check_environment

        # an empty environment: the user's own PORT must not change the outcome
        return check_environment(_ENV_SECTION, ctx.fixtures / "env" / folder, {})

    return run


def _bundle(folder: str, previous: Mapping[str, int] | None = None) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.bundle import check_bundle

        section = {
            "artifacts": [
                {"name": "app.js", "path": "static/*.js", "max_size": "1 KiB", "max_growth": "10%"}
            ]
        }
        findings, _ = check_bundle(section, ctx.fixtures / "bundle" / folder, previous)
        return findings

    return run


def _openapi(relative: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.lint import lint_spec, validate_document

        spec = ctx.spec if relative == "service" else load_spec(ctx.fixtures / relative)
        return [*validate_document(spec), *lint_spec(spec)]

    return run


def _breaking(head: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.breaking import check_breaking

        root = ctx.fixtures / "breaking"
        return check_breaking(load_spec(root / head), {"base": "base.yaml"}, root)

    return run


def _migrations(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.migrations import check_migrations

        return check_migrations({"folder": "migrations"}, ctx.fixtures / folder)

    return run


def _database(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.database import check_database

        return check_database(
            ctx.spec, {"tables": {"items": "Item"}}, {"folder": "migrations"}, ctx.fixtures / folder
        )

    return run


def _models(path: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.models import ModelSource, check_model

        return check_model(ctx.spec, ModelSource("Item", "json_schema", path), ctx.fixtures)

    return run


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


def _short(finding: Finding) -> str:
    first = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
    text = f"[{finding.rule}] {first}"
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 3] + "..."


def _judge(fixture: _Fixture, findings: Sequence[Finding]) -> tuple[Got, bool, str]:
    """What the check got on ``fixture``, whether that is right, and a one-line reason."""
    errors = failures(findings)
    got: Got = "fail" if errors else "pass"
    if fixture.expected == "pass":
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return got, False, f"fails on its good fixture: {_short(errors[0])}{more}"
        warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
        noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        return got, True, f"no error{noted}"
    wanted = ", ".join(fixture.rules)
    if not errors:
        return got, False, f"not caught: expected {wanted}, the check found no error"
    found = {f.rule for f in errors}
    missing = [rule for rule in fixture.rules if rule not in found]
    if missing:
        return (
            got,
            False,
            f"failed for another reason: expected {', '.join(missing)}, got {_short(errors[0])}",
        )
    caught = next(f for f in errors if f.rule in fixture.rules)
    return got, True, f"caught: {_short(caught)}"


def _run_one(fixture: _Fixture, ctx: _Context, clock: Callable[[], float]) -> Case:
    started = clock()
    try:
        findings = fixture.run(ctx)
    # a check that crashes no longer works: that is a FAIL row, never a crashed self-test
    except Exception as exc:  # noqa: BLE001
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        return Case(
            fixture.family,
            fixture.name,
            fixture.expected,
            "error",
            f"the check raised {reason}"[:_DETAIL_LENGTH],
            False,
            clock() - started,
        )
    got, passed, detail = _judge(fixture, findings)
    return Case(
        fixture.family, fixture.name, fixture.expected, got, detail, passed, clock() - started
    )


def _selected(families: Collection[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    unknown = [name for name in families if name not in FAMILIES]
    if unknown:
        problems = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(FAMILIES), n=1)
            hint = f" -> did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"--family {name!r} is not a check family{hint} Families: {', '.join(FAMILIES)}"
            )
        raise ConfigError(problems, source="deploycheck self-test")
    return [name for name in FAMILIES if name in families]


def run_self_test(
    families: Collection[str] | None = None,
    *,
    clock: Callable[[], float] = time.perf_counter,
    fixtures: Path = FIXTURES,
) -> list[Case]:
    """Run every fixture of ``families`` (default: all) through its check, in family order.

    ``clock`` times each case. A family without any fixture is a failing case, so a new
    family cannot go unchecked unnoticed. Raises ConfigError for an unknown family name.
    """
    chosen = _selected(families)
    plan = [fixture for fixture in _fixtures() if fixture.family in chosen]
    ctx = _Context(fixtures)
    cases: list[Case] = []
    with contextlib.ExitStack() as stack:
        if any(fixture.live for fixture in plan):
            service = _StockService(ctx.spec.document, time.sleep)
            ctx.base_url = stack.enter_context(_serve(service))
        by_family: dict[str, list[Case]] = {name: [] for name in chosen}
        for fixture in plan:
            by_family[fixture.family].append(_run_one(fixture, ctx, clock))
    for name in chosen:
        cases.extend(
            by_family[name]
            or [
                Case(
                    name,
                    "(none)",
                    "fail",
                    "error",
                    "no self-test fixture for this family: add a good and a bad one",
                    False,
                )
            ]
        )
    return cases


def self_test_passed(cases: Sequence[Case]) -> bool:
    """True when every case came out as expected (and there was at least one)."""
    return bool(cases) and all(case.passed for case in cases)


# -- rendering -----------------------------------------------------------------------------------


def _summary(cases: Sequence[Case]) -> str:
    families = len(dict.fromkeys(case.family for case in cases))
    seconds = sum(case.seconds for case in cases)
    failed = [case for case in cases if not case.passed]
    if not failed:
        return (
            f"self-test passed: {len(cases)} cases over {families} "
            f"famil{'y' if families == 1 else 'ies'}, "
            f"every check caught its faults and passed its good fixtures ({seconds:.1f}s)"
        )
    broken = list(dict.fromkeys(case.family for case in failed))
    return (
        f"self-test FAILED: {len(failed)} of {len(cases)} cases ({', '.join(broken)}): a check "
        f"no longer catches its fault, or fails on its good fixture ({seconds:.1f}s)"
    )


def render_self_test(cases: Sequence[Case], *, width: int = 120, color: bool = False) -> str:
    """The table (family, fixture, expected, got, result, detail) and a verdict, as text."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="deploycheck self-test", title_justify="left", show_edge=False)
    table.add_column("family", no_wrap=True)
    table.add_column("fixture", max_width=32)
    for column in ("expected", "got", "result"):
        table.add_column(column, no_wrap=True)
    # the detail takes the room that is left, but never so little that it reads as a column
    table.add_column("detail", min_width=16, ratio=1, overflow="fold")
    for case in cases:
        result = Text("pass", style="green") if case.passed else Text("FAIL", style="bold red")
        # Text, not markup: details hold rule ids in brackets and text from the checks
        table.add_row(
            Text(case.family),
            Text(case.fixture),
            Text(case.expected),
            Text(case.got),
            result,
            Text(case.detail),
        )
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    console.print(table)
    if any(case.family == "tls" for case in cases):
        console.print(Text(_TLS_NOTE, style="dim"))
    console.print(Text(_summary(cases), style="green" if self_test_passed(cases) else "bold red"))
    return buffer.getvalue()


def render_json(cases: Sequence[Case]) -> str:
    """The cases and the verdict as a JSON document."""
    document = {
        "passed": self_test_passed(cases),
        "summary": _summary(cases),
        "cases": [case.as_dict() for case in cases],
    }
    return json.dumps(document, indent=2)

"""One secret, used everywhere a secret goes and echoed back every way a server can: it
appears in no output, neither as written nor in base64.

The canary is the target's token: in ``target.headers`` (``Authorization: Bearer`` and an API
key header), in the environment (``env.variables``, marked secret), in the rollback
command's argv and environment. The target echoes it in bodies (crossing the preview cuts),
in response headers and cookies, in a served spec's path, and base64-encoded alone, after
``Bearer`` and in a Basic ``user:secret``. Then every output is searched: the pytest
terminal with ``-v --tb=long`` and live DEBUG logs, the DEBUG log file, JUnit XML,
pytest-html, ``deploycheck report`` as a table, JSON, Markdown and HTML, the history
database (dumped with ``iterdump``), the monitor's and the rollback's output, and every file
left in the project folder.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.leaks import leaks
from tests.live_server import serve_app

CANARY = "cnry-9Q7xZk4m-Pw2vLr8t-61f3"
DEPLOYCHECK = Path(sys.executable).with_name("deploycheck")
DEPLOY_ID = "canary-1"


def b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode()


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "ok", "content": {"application/json": {"schema": schema}}}


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "canary", "version": "1"},
    "paths": {
        "/health": {"get": {"responses": {"200": _json({"type": "object"})}}},
        "/echo": {
            "get": {
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": "integer"}},
                        }
                    )
                }
            }
        },
        "/items/{item_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 9},
                        "example": 1,
                    }
                ],
                "responses": {"200": _json({"type": "object"})},
            }
        },
    },
}


def echo_app() -> Starlette:
    """A target that hands the canary back every way it can."""

    async def health(request: Request) -> Response:
        # the secret starts 195 characters in: a 200-character preview cut first would keep
        # its first five characters
        return JSONResponse({"detail": "x" * 183 + CANARY + " more"}, status_code=503)

    async def echo(request: Request) -> Response:
        body = {
            "headers": dict(request.headers),
            "author": "Ann Lee",
            "plain": b64(CANARY),
            "bearer": b64(f"Bearer {CANARY}"),
            "basic": b64(f"deploy:{CANARY}"),
            "urlsafe": b64(f"x{CANARY}", urlsafe=True),
            # 400 bytes of preview end inside the secret
            "padding": "p" * 150,
            "again": CANARY,
        }
        headers = {
            "X-Echo-Token": CANARY,
            "X-Echo-Auth": request.headers.get("authorization", ""),
            "X-Echo-Basic": "Basic " + b64(f"deploy:{CANARY}"),
            "Set-Cookie": f"session={CANARY}; Path=/",
        }
        return JSONResponse(body, headers=headers)

    async def item(request: Request) -> Response:
        return PlainTextResponse("boom " + "z" * 390 + CANARY, status_code=500)

    async def served_spec(request: Request) -> Response:
        served = json.loads(json.dumps(SPEC))
        served["paths"][f"/leak/{CANARY}"] = {"get": {"responses": {"200": {"description": "x"}}}}
        return JSONResponse(served)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/echo", echo),
            Route("/items/{item_id}", item),
            Route("/openapi.json", served_spec),
        ]
    )


def config(history: str) -> dict[str, Any]:
    echo = "import sys; print('rolling back with', sys.argv[1:])"
    return {
        "spec": "api.json",
        "target": {
            "timeout": "5s",
            "headers": {"Authorization": "Bearer ${CANARY_TOKEN}", "X-Api-Key": "${CANARY_TOKEN}"},
        },
        "env": {"files": [], "variables": {"CANARY_TOKEN": {"secret": True, "min_length": 99}}},
        "health": {"retries": 0},
        "contract": {"max_examples": 3, "seed": 1, "max_time": "30s"},
        "smoke": {
            "flows": [
                {
                    "name": "echo",
                    "steps": [
                        {
                            "request": {"path": "/echo"},
                            "expect": {
                                "json": {"author": "Bob"},
                                "headers": {"X-Echo-Basic": "^nothing$"},
                            },
                        }
                    ],
                },
                {
                    "name": "capture",
                    "steps": [{"request": {"path": "/echo"}, "capture": {"id": "$.missing"}}],
                },
            ]
        },
        "history": {"url": history},
        "monitor": {"probes": ["health", "GET /echo", "GET /items/{item_id}"]},
        "rollback": {
            "command": [sys.executable, "-c", echo, "--token", "${CANARY_TOKEN}"],
            "env": {"DEPLOY_TOKEN": "${CANARY_TOKEN}"},
            "timeout": "30s",
        },
    }


@dataclass
class Outputs:
    """Everything the run and the commands after it printed, by name, and the folder."""

    texts: dict[str, str]
    folder: Path


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYCHECK_", "PYTEST_"))}
    env["CANARY_TOKEN"] = CANARY
    return env


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    folder = tmp_path_factory.mktemp("canary")
    (folder / "api.json").write_text(json.dumps(SPEC), encoding="utf-8")
    (folder / "deployment-config.json").write_text(
        json.dumps(config(f"sqlite:///{folder / 'history.db'}"), indent=2), encoding="utf-8"
    )
    texts: dict[str, str] = {}

    def keep(name: str, result: subprocess.CompletedProcess[str]) -> None:
        texts[f"{name} (stdout)"] = result.stdout
        texts[f"{name} (stderr)"] = result.stderr

    with serve_app(echo_app()) as base_url:
        gate = run(
            [
                sys.executable,
                "-m",
                "pytest",
                "deployment-config.json",
                "-v",
                "--tb=long",
                "-rA",
                "-m",
                "(phase2 or phase3 or env) and not negative and not stateful "
                "and not performance and not tls",
                "--deploycheck-base-url",
                base_url,
                "--deploy-id",
                DEPLOY_ID,
                "--log-level=DEBUG",
                "--log-cli-level=DEBUG",
                "--log-file=debug.log",
                "--log-file-level=DEBUG",
                "--junitxml=junit.xml",
                "--html=pytest-report.html",
                "--self-contained-html",
            ],
            folder,
        )
        keep("pytest", gate)
        assert gate.returncode == 1, gate.stdout[-3000:] + gate.stderr[-3000:]
        for args in (
            # the table on stdout, JSON and HTML in files; then Markdown on stdout
            ["report", "--deploy-id", DEPLOY_ID, "--json", "report.json", "--html", "report.html"],
            ["report", "--deploy-id", DEPLOY_ID, "--markdown"],
            ["monitor", "--interval", "1s", "--duration", "3s", "-v", "--deploy-id", DEPLOY_ID],
            ["rollback", "--dry-run", "--deploy-id", DEPLOY_ID],
            ["rollback", "--yes", "--deploy-id", DEPLOY_ID],
        ):
            target = ["--base-url", base_url] if args[0] in ("monitor", "rollback") else []
            keep(" ".join(args), run([str(DEPLOYCHECK), *args, *target], folder))
    with sqlite3.connect(folder / "history.db") as database:
        texts["history database dump"] = "\n".join(database.iterdump())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            texts[f"file {path.relative_to(folder)}"] = path.read_bytes().decode("latin-1")
    return Outputs(texts, folder)


def test_the_canary_is_in_no_output_as_written_or_in_base64(outputs: Outputs) -> None:
    leaked = {name: how for name, text in outputs.texts.items() if (how := leaks(text, CANARY))}
    assert leaked == {}


def test_the_canary_reached_every_output_and_was_masked_there(outputs: Outputs) -> None:
    texts = outputs.texts
    terminal = texts["pytest (stdout)"]
    # a drift finding's location is the served path that held the token
    assert "GET /leak/*** " in terminal or "GET /leak/***:" in terminal
    # the health answer's preview, masked before its cut
    assert "x" * 20 + "***" in terminal
    # httpcore logged the echoed headers at DEBUG, masked
    assert "receive_response_headers" in texts["file debug.log"]
    assert "***" in texts["file debug.log"]
    assert "<failure" in texts["file junit.xml"]
    assert "***" in texts["file pytest-report.html"]
    monitor = texts["monitor --interval 1s --duration 3s -v --deploy-id canary-1 (stdout)"]
    assert "critical" in monitor.lower()
    dry = texts["rollback --dry-run --deploy-id canary-1 (stdout)"]
    assert "--token '***'" in dry
    done = texts["rollback --yes --deploy-id canary-1 (stdout)"]
    assert "***" in done
    dump = texts["history database dump"]
    assert "deploycheck_rollbacks" in dump
    assert "***" in dump
    table = texts["report --deploy-id canary-1 --json report.json --html report.html (stdout)"]
    assert "canary-1" in table
    assert "canary\\-1" in texts["report --deploy-id canary-1 --markdown (stdout)"]
    assert "canary-1" in texts["file report.json"]
    assert "canary-1" in texts["file report.html"]


def test_a_field_named_author_is_not_masked(outputs: Outputs) -> None:
    # the secret-name rule matches words: "author" holds no secret word
    everything = "\n".join(outputs.texts.values())
    assert "Ann Lee" in everything

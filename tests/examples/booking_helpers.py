"""Shared helpers of the booking service tests: ids, bodies, problem checks, real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

from examples.booking_api.settings import DEFAULT_SPEC

REPOSITORY = Path(__file__).resolve().parents[2]
FIXED_NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
SPEC_DOCUMENT: dict[str, Any] = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))

ADA = "3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13"  # 09:00-17:00, 30-minute slots
LIN = "7b2e4d61-0c9a-4f38-b5e7-91a6c3d2e845"  # 08:00-12:00, 20-minute slots
NIGHT = "c5d8e0f2-6a14-4b97-8e3c-0f7a2b9d4c61"  # 22:00-02:00, 15-minute slots
SEEDED_APPOINTMENT = "a8f5f167-0e7c-4d1b-9b3a-5c2e7d9f1b04"  # Ada, 2030-01-07 09:00
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for the spec's component schema ``name``, its ``$ref``s resolvable."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC_DOCUMENT["components"]}
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_problem(
    response: httpx.Response, status: int, kind: str | None = None
) -> dict[str, Any]:
    """Check an error answer: status, problem+json, a valid Problem body of the given kind."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    schema_validator("Problem").validate(body)
    assert body["status"] == status
    if kind is not None:
        assert body["type"] == f"https://booking.example/problems/{kind}"
    return body


def booking(starts_at: str, provider_id: str = ADA, **overrides: Any) -> dict[str, Any]:
    """A valid POST /appointments body."""
    return {
        "provider_id": provider_id,
        "patient_name": "Alan Turing",
        "patient_email": "alan@example.com",
        "starts_at": starts_at,
        **overrides,
    }


class Ids:
    """Predictable ids, so tests can name what they create."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"00000000-0000-4000-8000-{self.count:012d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A real ``python -m examples.booking_api`` process on a free local port."""

    def __init__(self, tmp_path: Path, env: Mapping[str, str], args: list[str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"
        command = [sys.executable, "-m", "examples.booking_api", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--log-level", "warning", *args],
                cwd=REPOSITORY,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"server not ready after {timeout}s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

"""Fixtures for the reference booking service: in-process apps and real server processes."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from booking_helpers import FIXED_NOW, Ids, Server
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from examples.booking_api.app import create_app
from examples.booking_api.settings import Settings

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its test client; httpx is what the project ships with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def make_app() -> Callable[..., FastAPI]:
    """Build an app from Settings fields, with a fixed clock and predictable ids."""

    def make(**fields: Any) -> FastAPI:
        return create_app(Settings(**fields), clock=lambda: FIXED_NOW, new_id=Ids())

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start real servers (env overrides, extra CLI args); all are stopped at the end."""
    servers: list[Server] = []

    def start(env: Mapping[str, str] | None = None, args: list[str] | None = None) -> Server:
        defaults = {"BOOKING_FAULTS": "", "BOOKING_FAULTS_FILE": "", "BOOKING_DATABASE": ""}
        server = Server(tmp_path, {**defaults, **(env or {})}, args or [])
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()

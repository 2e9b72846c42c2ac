"""Shared setup of the plugin's own tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pytest_deploycheck.score.history import HistoryStore
from tests import fault_server as faults
from tests.pki import Pki, make_pki

# fixture projects (specs, migrations, sample apps) are data, never tests to collect
collect_ignore_glob = ["fixtures/*"]

# CI runs the property tests with a fixed seed: a red build then always means a real change,
# never a newly drawn example (run them locally to explore new ones).
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """An empty SQLite history store in the test's folder."""
    with HistoryStore.open(f"sqlite:///{tmp_path / 'history.db'}") as opened:
        yield opened


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and two server certificates it signed, valid for 10 days from now."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def fault_server() -> Iterator[str]:
    """The hostile target of ``tests/fault_server.py``; a base URL ending in ``/drip``,
    ``/huge``, ``/loop``... selects a fault."""
    with faults.running() as base_url:
        yield base_url

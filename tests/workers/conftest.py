"""Fixtures of the Workers example tests: Node.js present, dependencies installed, a project.

Where ``node`` is missing (or too old for wrangler) every test here is skipped with the
reason; CI installs Node.js, so there they always run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from worker_project import WorkerProject, install_dependencies, node_missing


@pytest.fixture(scope="session")
def worker_dependencies() -> None:
    reason = node_missing()
    if reason is not None:
        pytest.skip(reason)
    try:
        install_dependencies()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def new_project(
    worker_dependencies: None, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], WorkerProject]:
    """Copies of the example for this module's tests."""

    def copy() -> WorkerProject:
        return WorkerProject.copy(tmp_path_factory.mktemp("worker") / "workers_booking")

    return copy


@pytest.fixture(scope="module")
def project(new_project: Callable[[], WorkerProject]) -> WorkerProject:
    """One copy of the example shared by the module's tests."""
    return new_project()

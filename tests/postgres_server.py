"""A session-scoped PostgreSQL server for tests of the history store.

``postgres_url`` is ``$DEPLOYCHECK_TEST_POSTGRES_URL`` when set (CI can bring its own
server); otherwise it runs ``.ci/postgres.sh`` to start a throwaway cluster on 127.0.0.1 and
stops it when the session ends. Import the fixture into a conftest or a test module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["postgres_url"]

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a PostgreSQL database the tests may fill and empty."""
    given = os.environ.get("DEPLOYCHECK_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    # Not pytest's tmp_path: its parents are private to root, and the server runs as the
    # postgres user when the tests run as root.
    folder = tempfile.mkdtemp(prefix="deploycheck-pg-")
    try:
        started = subprocess.run(
            ["bash", str(SCRIPT), "start", folder],
            capture_output=True,
            text=True,
            timeout=600,  # the first run on a fresh machine may apt-get install postgresql
            check=False,
        )
        if started.returncode != 0:
            pytest.fail(f"{SCRIPT.name} could not start PostgreSQL:\n{started.stderr}")
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", folder], capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(folder, ignore_errors=True)

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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["fresh_schema", "postgres_url"]

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


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A URL of ``base_url``'s database that sees only a new, empty schema (dropped after)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

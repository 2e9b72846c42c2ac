"""``st run``, schemathesis's command line, passes every phase against a real server process.

The same run a user would type: examples, coverage, fuzzing and stateful phases, every default
check, over HTTP to ``python -m examples.booking_api`` on a free local port.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from booking_helpers import Server

from examples.booking_api.settings import DEFAULT_SPEC


def test_st_run_passes_every_phase(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server()
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", str(DEFAULT_SPEC)),
        *("--url", server.base_url, "--max-examples", "5", "--seed", "20300107"),
        *("--phases", "examples,coverage,fuzzing,stateful", "--workers", "2"),
    ]
    # In tmp_path, so that anything schemathesis writes stays out of the repository.
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Operations:       11 selected / 11 total" in output
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in output, output
    assert "No issues found" in output, output

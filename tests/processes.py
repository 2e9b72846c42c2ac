"""Python scripts run as several processes that start their work at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finished", "run_together"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Finished:
    """How one process ended."""

    returncode: int
    stdout: str
    stderr: str


def run_together(
    script: str, argvs: Sequence[Sequence[str]], timeout: float = 120
) -> list[Finished]:
    """Run ``script`` once per argv, with this repository importable. Each process prints
    ``ready`` once set up, then waits for a line on stdin: every one of them is released
    only when all are ready, so their work overlaps."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n", process.communicate(timeout=60)
    for process in processes:  # all at once: communicate() would release them one by one
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=timeout) for process in processes]
    return [
        Finished(process.returncode, out, err)
        for process, (out, err) in zip(processes, outputs, strict=True)
    ]

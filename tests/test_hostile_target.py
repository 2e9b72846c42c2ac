"""The gate against a hostile target: each misbehaviour of ``tests/fault_server.py`` in turn.

Every test runs the whole gate (phase2 and phase3, every family) as a user would, pytest in a
subprocess, against a config whose base URL selects one fault. Each run must end within its
configured limits: every item within its own (one request's deadline, or ``max_time``) plus
a margin for the first import of schemathesis on a busy machine, as JUnit XML reports the
items' times, and the whole run within their sum plus start-up. It must exit 1 with a failing
verdict, say in the failed items what happened, print no traceback, and stay under 300 MB: the
subprocess's peak memory comes from ``os.wait4``, so it is that process's own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.fault_server import HUGE_BYTES
from tests.live_server import REPO_ROOT

SPEC = REPO_ROOT / "tests" / "fixtures" / "specs" / "items.openapi.json"
# every request's deadline, and the longest any generated-request item may run
TIMEOUT = 0.5
MAX_TIME = 3.0
# the items, and how long each may take at most: one request's deadline (health, drift,
# smoke, the availability sweep in parallel), max_time (contract, negative, stateful,
# performance)
ITEMS = {
    "phase2::health": TIMEOUT,
    "phase2::availability[GET /health]": TIMEOUT,
    "phase2::availability[GET /items]": 0.0,  # swept with the one above
    "phase2::drift": TIMEOUT,
    "phase2::tls": 0.0,
    "phase3::contract[GET /items]": MAX_TIME,
    "phase3::negative[GET /items]": MAX_TIME,
    "phase3::stateful": MAX_TIME,
    "phase3::smoke[list items]": TIMEOUT,
    "phase3::performance[GET /items]": MAX_TIME,
}
# an item's own work beyond its limit: the engine's after max_time, the first imports
ITEM_MARGIN = 10.0
# starting Python and pytest, collecting, scoring and storing the run, on a busy machine
RUN_MARGIN = 60.0
LIMIT = sum(ITEMS.values()) + len(ITEMS) * ITEM_MARGIN + RUN_MARGIN
MAX_RSS_MB = 300
FAULTS = ("drip", "huge", "loop", "deep", "reset", "badstatus", "short")
# pytest, writing its peak resident memory (kB) to peak-kib on the way out. Not wait4's or
# getrusage's ru_maxrss: Linux carries a process's peak across exec, so a child forked from
# this big test process would report this one's size; VmHWM is the peak of its own memory.
MEASURED_PYTEST = """
import atexit, runpy, sys

def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open("peak-kib", "w") as out:
        out.write(kib)

atexit.register(peak)
sys.argv[0] = "pytest"
runpy.run_module("pytest", run_name="__main__", alter_sys=True)
"""
# Hypothesis's first text strategy in a storage directory builds its Unicode tables there, a
# one-off ~240 MB whatever the target does: the runs share a directory built beforehand.
HYPOTHESIS_TABLES = """
from hypothesis import given, settings, strategies as st

@settings(max_examples=1, database=None)
@given(st.text())
def build(text):
    pass

build()
"""
TRACEBACK = re.compile(r"Traceback|RecursionError|^E\s{3}", re.MULTILINE)


def gate_config(base_url: str) -> dict[str, Any]:
    return {
        "spec": str(SPEC),
        "target": {"base_url": base_url, "timeout": f"{TIMEOUT}s", "max_body": "1 MiB"},
        "health": {"path": "/health", "retries": 0, "body": {"status": "ok"}},
        "drift": {"path": "/openapi.json"},
        # one operation for the generated requests and latency: each item costs seconds
        "contract": {
            "exclude": ["GET /health"],
            "max_examples": 2,
            "seed": 1,
            "max_time": f"{MAX_TIME}s",
            "stateful": {"max_examples": 2},
        },
        "smoke": {
            "flows": [
                {
                    "name": "list items",
                    "steps": [
                        {
                            "request": {"path": "/items", "params": {"limit": 2}},
                            "expect": {"status": 200},
                            "capture": {"first": "$[0]"},
                        }
                    ],
                }
            ]
        },
        "performance": {
            "samples": 5,
            "warmup": 0,
            "concurrency": 2,
            "max_time": f"{MAX_TIME}s",
            "include": ["GET /items"],
        },
        "history": {"url": "sqlite:///history.db"},
    }


@dataclass(frozen=True)
class Run:
    """A finished gate run: its exit code, output, wall time, peak memory and item times."""

    code: int
    output: str
    seconds: float
    max_rss_mb: float
    durations: dict[str, float]

    def item(self, name: str) -> str:
        """The failure section of one item (its report, without the next one's)."""
        match = re.search(
            rf"_+ {re.escape(name)} _+\n(.*?)(?=\n_{{3,}} |\n={{3,}} )", self.output, re.DOTALL
        )
        assert match is not None, f"no failure reported for {name}:\n{self.output[-3000:]}"
        return match.group(1)


@dataclass
class Gate:
    """A gate run in ``project``: started by :class:`Gates`, read by :meth:`finish`."""

    project: Path
    config: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    run: Run | None = None

    def start(self, storage: Path) -> None:
        """Start pytest on the config, as a user runs phase2 and phase3 after a deploy.

        ``storage`` is Hypothesis's directory, shared by the runs: its first use in a
        directory computes tables (seconds of CPU) that every later run reads.
        """
        (self.project / "deployment-config.json").write_text(json.dumps(self.config))
        # this checkout's package first, as the shared venv may install another one
        paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(storage)
        env.pop("DEPLOYCHECK_BASE_URL", None)
        argv = [sys.executable, "-c", MEASURED_PYTEST, "deployment-config.json"]
        argv += ["-p", "no:cacheprovider", "-o", "addopts="]
        argv += ["-m", "phase2 or phase3", "--deploy-id", "hostile", "--junitxml=report.xml"]
        with (self.project / "output.txt").open("wb") as sink:
            self.process = subprocess.Popen(
                argv, cwd=self.project, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.started = time.monotonic()

    @property
    def running(self) -> bool:
        return self.process is not None and self.run is None

    def finish(self) -> Run:
        """Wait for the run (killing it after ``LIMIT`` seconds) and read its results."""
        assert self.process is not None
        try:
            self.process.wait(timeout=max(0.0, LIMIT - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            text = (self.project / "output.txt").read_text(errors="replace")
            pytest.fail(f"the gate was still running after {LIMIT:.0f}s:\n{text[-3000:]}")
        seconds = time.monotonic() - self.started
        report = ElementTree.parse(self.project / "report.xml")  # noqa: S314 - our own file
        durations = {
            # classname "deployment-config.json.phase2", name "health": "phase2::health"
            f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}": float(
                case.get("time", "0")
            )
            for case in report.iter("testcase")
        }
        text = (self.project / "output.txt").read_text(errors="replace")
        peak_mb = int((self.project / "peak-kib").read_text()) / 1024
        self.run = Run(self.process.returncode, text, seconds, peak_mb, durations)
        return self.run


class Gates:
    """The module's gate runs, a few at a time: most of a run is waiting (for deadlines, for
    max_time), so several overlap well, but all at once would crowd two cores."""

    def __init__(self, gates: dict[str, Gate], storage: Path, at_once: int = 3) -> None:
        self._gates = gates
        self._storage = storage
        self._at_once = at_once
        self._fill()

    def _fill(self) -> None:
        for gate in self._gates.values():
            if sum(g.running for g in self._gates.values()) >= self._at_once:
                return
            if gate.process is None:
                gate.start(self._storage)

    def __getitem__(self, name: str) -> Run:
        gate = self._gates[name]
        if gate.run is None:
            if gate.process is None:
                gate.start(self._storage)
            gate.finish()
            self._fill()
        assert gate.run is not None
        return gate.run

    def stop(self) -> None:
        for gate in self._gates.values():
            if gate.process is not None and gate.process.poll() is None:
                gate.process.kill()
                gate.process.wait()


def following(config: dict[str, Any], redirects: int) -> dict[str, Any]:
    """``config`` with ``target.max_redirects`` set."""
    return {**config, "target": {**config["target"], "max_redirects": redirects}}


@pytest.fixture(scope="module")
def gates(fault_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gates]:
    """One gate run per misbehaviour (and one following the redirect loop)."""
    configs = {fault: gate_config(f"{fault_server}/{fault}") for fault in FAULTS}
    configs["loop-followed"] = following(configs["loop"], 3)
    storage = tmp_path_factory.mktemp("hypothesis")
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(storage)}
    subprocess.run([sys.executable, "-c", HYPOTHESIS_TABLES], env=env, check=True)
    runs = Gates(
        {name: Gate(tmp_path_factory.mktemp(name), config) for name, config in configs.items()},
        storage,
    )
    try:
        yield runs
    finally:
        runs.stop()


def assert_failed_safely(run: Run, *, reasons: dict[str, str]) -> None:
    """The run ended in time, failed with a failing verdict, named what happened in each of
    ``reasons``' items, printed no traceback and stayed under the memory ceiling."""
    for item, limit in ITEMS.items():
        assert run.durations[item] < limit + ITEM_MARGIN, (item, run.durations)
    assert run.seconds < LIMIT, f"took {run.seconds:.1f}s"
    assert run.code == 1, run.output[-3000:]
    assert re.search(r"verdict (FAIL|fail)\b", run.output), run.output[-3000:]
    assert TRACEBACK.search(run.output) is None, run.output
    assert run.max_rss_mb < MAX_RSS_MB
    for item, reason in reasons.items():
        assert reason in run.item(item), run.item(item)


def test_a_slow_drip_ends_every_item_at_its_deadline(gates: Gates) -> None:
    """One byte every 200 ms: no read waits long, yet no request may outlive its deadline."""
    run = gates["drip"]
    deadline = "no complete answer within 500ms"
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": deadline,
            "phase2::availability[GET /items]": "no complete answer within 500ms (timeout)",
            "phase2::drift": deadline,
            "phase3::contract[GET /items]": "did not finish within 3s (contract.max_time)",
            "phase3::smoke[list items]": "no complete answer within 500ms (timeout)",
            "phase3::performance[GET /items]": "timeout x",
        },
    )


def test_a_huge_answer_is_cut_off_at_max_body(gates: Gates) -> None:
    """50 MB, chunked, so only counting the bytes read can stop it."""
    assert HUGE_BYTES > 40 * 1024 * 1024
    run = gates["huge"]
    too_large = "the answer is larger than target.max_body (1.0 MiB)"
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": too_large,
            "phase2::availability[GET /items]": too_large,
            "phase2::drift": too_large,
            "phase3::contract[GET /items]": too_large,
            "phase3::negative[GET /items]": too_large,
            "phase3::smoke[list items]": too_large,
            "phase3::performance[GET /items]": "answer over target.max_body",
        },
    )


def test_a_redirect_loop_is_not_an_answer(gates: Gates) -> None:
    """Redirects are not followed by default: an undocumented 302 fails every probe."""
    run = gates["loop"]
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": "answered 302, expected 200: a redirect to",
            "phase2::availability[GET /items]": "a redirect the spec does not document",
            "phase2::drift": "/openapi.json answered 302, a redirect to",
            "phase3::contract[GET /items]": "Undocumented status code",
            "phase3::smoke[list items]": "got 302, a redirect to",
            "phase3::performance[GET /items]": "answers were redirects (302 x",
        },
    )


def test_a_redirect_loop_fails_when_redirects_are_followed(gates: Gates) -> None:
    """With target.max_redirects, the loop is followed that far, then fails the probe."""
    run = gates["loop-followed"]
    loop = "a redirect loop: "
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": loop,
            "phase2::availability[GET /items]": loop,
            "phase2::drift": loop,
            "phase3::contract[GET /items]": loop,
            "phase3::smoke[list items]": loop,
        },
    )


def test_deep_json_is_a_finding_not_a_crash(gates: Gates) -> None:
    """Nested 100,000 deep: a finding in each check that reads the body, no RecursionError."""
    run = gates["deep"]
    too_deep = "body nested deeper than 100 levels"
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": too_deep,
            "phase2::drift": too_deep,
            "phase3::contract[GET /items]": too_deep,
            "phase3::negative[GET /items]": too_deep,
            "phase3::smoke[list items]": too_deep,
        },
    )


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("reset", "the server reset the connection"),
        ("badstatus", "invalid status line: 'HTTP/1.1 OK-ish, more or less'"),
        ("short", "closed the connection after 10 of the 1000 bytes its Content-Length declared"),
    ],
)
def test_a_broken_exchange_is_named(gates: Gates, fault: str, reason: str) -> None:
    """A reset, an invalid status line, a body cut short: each named where it happened."""
    run = gates[fault]
    assert_failed_safely(
        run,
        reasons={
            "phase2::health": reason,
            "phase2::availability[GET /items]": reason,
            "phase2::drift": reason,
            "phase3::contract[GET /items]": reason,
            "phase3::negative[GET /items]": reason,
            "phase3::smoke[list items]": reason,
        },
    )

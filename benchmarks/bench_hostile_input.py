"""Hostile input to the config loader and the redactor: time and peak memory of each case.

Each case runs in a child process of its own, timed from the parent, its peak memory read
from the child's ``rusage`` (``os.wait4``), so one case's garbage does not count for another.
Goals: every case under 3 s and 200 MB; the script exits 1 when one is missed.

    python benchmarks/bench_hostile_input.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

GOAL_SECONDS = 3.0
GOAL_MB = 200.0


def _base() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((REPOSITORY / "deployment-config.json").read_text())
    return loaded


def _load(text: str, environ: dict[str, str] | None = None) -> None:
    from pytest_deploycheck.core.config import config_from_text
    from pytest_deploycheck.core.errors import ConfigError

    try:
        config_from_text(text, REPOSITORY / "deployment-config.json", environ or {})
    except ConfigError as exc:
        if len(str(exc)) > 50_000:
            raise SystemExit(f"the error is {len(str(exc)):,} characters long") from None


def secret_of_one_megabyte() -> None:
    """A 1 MB token in target.headers, then 5 MB of answers masked with it."""
    from pytest_deploycheck.core.redaction import Redactor

    secret = "s" * 500_000 + "t" * 500_000
    base = _base()
    target = dict(base["target"])  # type: ignore[call-overload]
    target["headers"] = {"Authorization": "Bearer ${TOKEN}"}
    _load(json.dumps({**base, "target": target}), {"TOKEN": secret})
    redactor = Redactor([secret])
    for _ in range(5):
        redactor.redact("x" * 500_000 + secret + "y" * 400_000)


def references_half_a_million() -> None:
    """``"${"`` written 500,000 times in ``spec``."""
    _load(json.dumps({**_base(), "spec": "${" * 500_000}))


def key_of_one_megabyte() -> None:
    """An unknown key and a value of 1 MB each."""
    _load(json.dumps({**_base(), "k" * 1_000_000: "v" * 1_000_000}))


def unknown_keys_20000() -> None:
    """20,000 unknown top-level keys (a 500 kB file)."""
    _load(json.dumps({**_base(), **{f"unknown_{i}": i for i in range(20_000)}}))


def nested_100000_deep() -> None:
    """A value nested 100,000 levels deep."""
    _load(json.dumps(_base())[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")


CASES: dict[str, Callable[[], None]] = {
    "1 MB secret (load + 5 x 1 MB masked)": secret_of_one_megabyte,
    '"${" x 500,000': references_half_a_million,
    "1 MB key and value": key_of_one_megabyte,
    "20,000 unknown keys": unknown_keys_20000,
    "nested 100,000 deep": nested_100000_deep,
}


def measure(case: Callable[[], None]) -> tuple[float, float]:
    """Seconds and peak MB of ``case`` in a child process (the import of the package, done
    before the clock starts, is not counted)."""
    import pytest_deploycheck.core.config  # noqa: F401 - imported before the fork

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        started = time.perf_counter()
        case()
        os.write(write, f"{time.perf_counter() - started}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        elapsed = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"the case failed (status {status})")
    return float(elapsed), usage.ru_maxrss / 1024


def main() -> int:
    missed = False
    print(f"{'case':42} {'time':>8} {'peak':>9}")
    for name, case in CASES.items():
        seconds, peak = measure(case)
        ok = seconds <= GOAL_SECONDS and peak <= GOAL_MB
        missed = missed or not ok
        print(f"{name:42} {seconds:7.2f}s {peak:7.0f}MB{'' if ok else '  MISSED'}")
    print(f"goals: {GOAL_SECONDS:.0f} s and {GOAL_MB:.0f} MB per case")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

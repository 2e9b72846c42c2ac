"""The service as a real process: the command line, persistence, faults and concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from booking_helpers import ADA, REPOSITORY, Server, booking, free_port


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPOSITORY,
        env={**os.environ, "BOOKING_FAULTS_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_data_survives_a_restart_and_migrations_run_once(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    database = tmp_path / "booking.db"
    first = start_server(args=["--database", str(database)])
    body = {"name": "Dr. Kept", "specialty": "x", "opens_at": "10:00", "closes_at": "11:00"}
    created = httpx.post(f"{first.base_url}/providers", json=body)
    assert created.status_code == 201
    first.stop()

    second = start_server(
        env={"BOOKING_DATABASE": str(tmp_path / "ignored.db")}, args=["--database", str(database)]
    )
    location = created.headers["location"]
    assert httpx.get(f"{second.base_url}{location}").json() == created.json()
    assert httpx.get(f"{second.base_url}/providers").json()["total"] == 4
    second.stop()
    with sqlite3.connect(database) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM d1_migrations")]
    assert names == [
        "0001_init.sql",
        "0002_appointments_by_start.sql",
        "0003_appointment_notes.sql",
    ]
    assert not (tmp_path / "ignored.db").exists()  # --database wins over the environment


def test_an_unknown_fault_stops_the_start_with_one_clear_line() -> None:
    result = run(
        ["-m", "examples.booking_api", "--port", str(free_port())], {"BOOKING_FAULTS": "slow,nope"}
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "booking_api: error: BOOKING_FAULTS: unknown fault switch 'nope';"
    )
    assert "known switches: server_error, slow," in result.stderr
    assert "Traceback" not in result.stderr


def test_uvicorn_serves_the_module_app_configured_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "examples.booking_api.app:app", "--port", str(port)]
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=REPOSITORY,
        env={**os.environ, "BOOKING_SEED": "0", "BOOKING_FAULTS": "", "BOOKING_FAULTS_FILE": ""},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/providers", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "uvicorn.log").read_text()
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.05)
        assert response.json()["total"] == 0  # BOOKING_SEED=0 was read
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_uvicorn_reports_bad_settings_without_a_traceback() -> None:
    result = run(
        ["-m", "uvicorn", "examples.booking_api.app:app", "--port", str(free_port())],
        {"BOOKING_SLOW_MS": "fast"},
    )
    assert result.returncode != 0
    assert (
        "booking_api: BOOKING_SLOW_MS must be a whole number of milliseconds (got 'fast')"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_fault_file_breaks_and_heals_a_running_server(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    faults = tmp_path / "faults.txt"
    server = start_server(env={"BOOKING_FAULTS_FILE": str(faults), "BOOKING_SLOW_MS": "300"})
    slots = f"{server.base_url}/providers/{ADA}/slots?date=2030-01-07"
    assert httpx.get(f"{server.base_url}/providers").status_code == 200
    faults.write_text("server_error,slow\n")
    assert httpx.get(f"{server.base_url}/providers").status_code == 500
    started = time.monotonic()
    assert httpx.get(slots, timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3
    faults.write_text("")
    assert httpx.get(f"{server.base_url}/providers").status_code == 200


def test_concurrent_bookings_of_one_slot_have_exactly_one_winner(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    body = booking("2030-01-07T15:00:00Z")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(
                pool.map(lambda _: client.post("/appointments", json=body).status_code, range(8))
            )
        assert statuses == [201] + [409] * 7
        starts = [
            slot["starts_at"]
            for slot in client.get(f"/providers/{ADA}/slots?date=2030-01-07").json()["items"]
        ]
        assert "2030-01-07T15:00:00Z" not in starts

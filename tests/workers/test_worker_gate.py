"""The Workers example gated end to end under ``wrangler dev``: real workerd, local D1.

The gate starts the Worker itself (``target.local.command``: the D1 migrations, then
``wrangler dev`` on the gate's host and port), as ``pytest`` does for a user of the example.
One run covers the three phases; one more, with every fault switch on, shows that each
switch fails the family it is meant to.
"""

from __future__ import annotations

import re
import sqlite3

from worker_project import WorkerProject

from pytest_deploycheck.core.findings import format_findings
from pytest_deploycheck.phase1.database.check import _INTERNAL
from pytest_deploycheck.phase1.database.drift import read_database_file, schema_drift
from pytest_deploycheck.phase1.migrations import (
    MigrationSettings,
    apply_migrations,
    discover_migrations,
)
from pytest_deploycheck.score.history import HistoryStore

D1_FILE = ".wrangler/state/v3/d1/miniflare-D1DatabaseObject/[0-9a-f]*.sqlite"
OPERATIONS = [
    "GET /health",
    "GET /providers",
    "GET /providers/{providerId}",
    "GET /providers/{providerId}/slots",
    "GET /appointments",
    "POST /appointments",
    "GET /appointments/{appointmentId}",
    "POST /appointments/{appointmentId}/cancel",
    "GET /openapi.yaml",
]
SCORE = re.compile(r"deploycheck score for worker-1: (\d+\.\d)/100, .*verdict (PASS|FAIL)")


def test_the_worker_passes_phase1_phase2_and_phase3(project: WorkerProject) -> None:
    run = project.gate("--deploy-id", "worker-1")
    outcomes = run.outcomes
    assert run.returncode == 0, run.output
    assert set(outcomes.values()) == {"PASSED"}, run.failed()
    # every family ran, on the real tools
    for item in (
        "phase1::static_analysis[tsc]",
        "phase1::env",
        "phase1::bundle",
        "phase1::openapi[validity]",
        "phase1::migrations",
        "phase1::database",
        "phase1::models[json_schema:AppointmentCreate]",
        "phase1::health",
        "phase2::health",
        "phase2::drift",
        "phase3::stateful",
        "phase3::smoke[book, read and cancel]",
        *(f"phase2::availability[{label}]" for label in OPERATIONS),
        *(f"phase3::contract[{label}]" for label in OPERATIONS),
        *(f"phase3::negative[{label}]" for label in OPERATIONS),
    ):
        assert outcomes.get(item) == "PASSED", item
    score = SCORE.search(run.output)
    assert score is not None, run.output
    assert score[2] == "PASS"
    # what the prepare commands did: wrangler's bundle measured, its D1 database read
    assert re.search(r"worker \(gzip\): [\d.]+ KiB gzip in 2 files, limit 3\.0 MiB", run.output)
    assert "compared this database's tables (2 migrations applied) with the spec" in run.output
    assert "models.prepare passed in" in run.output
    with HistoryStore.open(f"sqlite:///{project.path / '.deploycheck' / 'history.db'}") as store:
        [stored] = store.runs("worker-1")
        assert stored.verdict == "pass"
        assert set(OPERATIONS) <= set(stored.result.operations)


def test_wranglers_local_d1_and_the_gates_replay_agree(project: WorkerProject) -> None:
    """After the run above, the database wrangler migrated is the one the gate replays."""
    database = read_database_file(D1_FILE, project.path)
    assert database.applied == ("0001_init.sql", "0002_seed_demo_data.sql")
    settings = MigrationSettings.from_section({"folder": "migrations"}, project.path)
    migrations, problems = discover_migrations(settings)
    assert [p for p in problems if p.severity.value == "error"] == [], format_findings(problems)
    run = apply_migrations(migrations)
    try:
        assert run.failure is None
        assert schema_drift(run.schema, database.schema, _INTERNAL) == []
        assert {"providers", "appointments"} <= set(database.schema)
    finally:
        run.connection.close()
    # and the Worker wrote through D1 to that file: the smoke flow's booking is there
    path = project.path / database.path
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        emails = {email for (email,) in db.execute("SELECT patient_email FROM appointments")}
    assert "smoke@example.com" in emails


FAULTS = "server_error,bad_response,accept_invalid,slow,unhealthy"
# the item each switch must fail, and items beside it that must still pass
EXPECTED_FAILURES = {
    "unhealthy": "phase2::health",
    "server_error": "phase2::availability[GET /appointments]",
    "bad_response": "phase3::contract[GET /providers]",
    "accept_invalid": "phase3::negative[POST /appointments]",
    "slow": "phase3::performance[GET /providers/{providerId}/slots]",
}
STILL_PASSING = [
    "phase2::drift",
    "phase2::availability[GET /providers]",
    "phase2::availability[GET /providers/{providerId}/slots]",
    "phase3::contract[POST /appointments]",
    "phase3::negative[GET /providers]",
    "phase3::performance[GET /providers]",
]


def test_each_fault_switch_fails_its_family(project: WorkerProject) -> None:
    # a shorter sleep keeps the run short; still well over the 500 ms p95 threshold
    (project.path / ".dev.vars").write_text("SLOW_MS=800\n", encoding="utf-8")
    items = [
        f"deployment-config.json::{name}" for name in [*EXPECTED_FAILURES.values(), *STILL_PASSING]
    ]
    run = project.gate(*items, "--deploy-id", "worker-faulty", env={"WORKER_FAULT": FAULTS})
    outcomes = run.outcomes
    assert len(outcomes) == len(items), run.output
    for switch, item in EXPECTED_FAILURES.items():
        assert outcomes[item] == "FAILED", f"{switch} did not fail {item}"
    for item in STILL_PASSING:
        assert outcomes[item] == "PASSED", item
    assert run.returncode == 1
    # what each failure says, by rule
    for expected in (
        "[health-status] GET /health answered 503",
        "[availability-server-error] GET http://",
        "[contract-response-schema-conformance] GET /providers",
        "[negative-negative-data-rejection] POST /appointments",
        "[performance-p95] GET /providers/{providerId}/slots: p95 is",
    ):
        assert expected in run.output, expected
    # bad_response's slotMinutes, as schemathesis shows it
    assert '"30" is not of type "integer"' in run.output
    assert "Schema at /components/schemas/Provider/properties/slotMinutes" in run.output
    assert "verdict FAIL" in run.output

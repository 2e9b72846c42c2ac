"""The Workers example's static families on the real tools, broken one way each.

A Zod schema changed without the spec fails ``models`` (through Zod's own JSON Schema export);
a migration wrangler applies to the local D1 that the spec lacks fails ``database``, and so
does a table made outside the migrations; a bundle over its limit fails ``bundle``. Plus the
rollback command and the npm scripts that stand for the seed's commands.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable

from worker_project import EXAMPLE, WorkerProject

from pytest_deploycheck.phase1.database.drift import read_database_file

D1_FILE = ".wrangler/state/v3/d1/miniflare-D1DatabaseObject/[0-9a-f]*.sqlite"
# the seed's package.json scripts (SEED.md), each one here too
SEED_SCRIPTS = [
    "validate:pre-deploy",
    "validate:test-scripts",
    "validate:phase1",
    "validate:phase2",
    "validate:phase3",
    "validate:all",
    "validate:openapi",
    "validate:schema",
    "validate:zod",
    "validate:migrations",
    "validate:health",
    "validate:endpoints",
    "validate:e2e",
    "validate:performance",
    "monitor:collect",
    "monitor:collect-quick",
    "monitor:report",
    "monitor:continuous",
    "monitor:watch",
]


def test_schema_migration_and_bundle_changes_fail_models_database_and_bundle(
    new_project: Callable[[], WorkerProject],
) -> None:
    project = new_project()
    # a field's type changed in Zod, not in the spec
    project.edit(
        "src/schemas.ts", "slotMinutes: z.int().min(5).max(240),", "slotMinutes: z.string(),"
    )
    # a migration the spec knows nothing of, which the gate's database.prepare applies with
    # wrangler; and a table made in the local D1 outside any migration
    (project.path / "migrations" / "0003_appointment_reminders.sql").write_text(
        "ALTER TABLE appointments ADD COLUMN reminder_sent INTEGER NOT NULL DEFAULT 0;\n"
    )
    project.wrangler(
        "d1",
        "execute",
        "DB",
        "--local",
        "--command",
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY)",
    )
    # a gzip limit the bundle (Hono, Zod and the spec: about 145 KiB) is over
    project.edit("deployment-config.json", '"max_size": "3 MiB"', '"max_size": "100 KiB"')

    run = project.gate("-m", "models or database or bundle", "--deploycheck-no-history")
    outcomes = run.outcomes
    assert outcomes["phase1::models[json_schema:Provider]"] == "FAILED", run.output
    assert outcomes["phase1::models[json_schema:ProviderList]"] == "FAILED"  # holds Providers
    assert outcomes["phase1::models[json_schema:Appointment]"] == "PASSED"
    assert outcomes["phase1::database"] == "FAILED"
    assert outcomes["phase1::bundle"] == "FAILED"
    assert re.search(r"slotMinutes.*string.*integer|slotMinutes.*integer.*string", run.output)
    assert "reminder_sent" in run.output
    assert "table audit_log: here, but no migration creates it" in run.output
    assert re.search(
        r"worker \(gzip\) is [\d.]+ KiB gzip, over its limit of 100\.0 KiB", run.output
    )
    # wrangler really applied the migration to its local D1
    database = read_database_file(D1_FILE, project.path)
    assert database.applied is not None
    assert database.applied[-1] == "0003_appointment_reminders.sql"
    path = project.path / database.path
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(appointments)")}
    assert "reminder_sent" in columns


def test_the_rollback_is_wranglers_and_a_dry_run_only_shows_it(project: WorkerProject) -> None:
    token = "cf-token-7d1e9a0b2c"
    run = project.run(
        ["deploycheck", "rollback", "--dry-run"],
        env={"CLOUDFLARE_API_TOKEN": token, "CLOUDFLARE_ACCOUNT_ID": "acct-1"},
    )
    assert run.returncode == 0, run.output
    assert "dry run: nothing was run" in run.output
    assert "command: npx wrangler rollback --message" in run.output
    assert "CLOUDFLARE_API_TOKEN" in run.output
    assert token not in run.output


def test_the_seed_commands_are_npm_scripts_that_run_the_gate(project: WorkerProject) -> None:
    scripts = json.loads((EXAMPLE / "package.json").read_text())["scripts"]
    assert set(SEED_SCRIPTS) <= set(scripts)
    for name in SEED_SCRIPTS:
        assert scripts[name].split()[0] in ("pytest", "deploycheck"), name
    run = project.run(["npm", "run", "--silent", "validate:migrations"])
    assert run.returncode == 0, run.output
    assert re.search(r"\b1 passed\b", run.output), run.output

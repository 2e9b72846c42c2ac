"""What ``deploycheck init`` writes and says: ``init_project`` discovers, builds the config,
checks that it loads and writes it (and the migrations lock); ``explain`` (pure) says what
the config holds and why, and what is left to configure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.config import CONFIG_FILENAME, config_from_text
from pytest_deploycheck.core.errors import ConfigError, DeployCheckError
from pytest_deploycheck.phase1.migrations import DEFAULT_LOCK_FILE, write_lock

from .config import (
    LOCAL_SCHEMA,
    SchemaChoice,
    build_config,
    render_config,
    schema_reference,
    write_schema,
)
from .discovery import discover
from .found import Discovery, InitResult

_LATER = {
    "static_analysis": "commands such as ruff, mypy or tsc, one phase1 round1 check each",
    "env": "required environment variables and their types",
    "bundle": "build artifact size limits",
    "openapi": "lint rules on or off, and their severity (defaults are on)",
    "breaking": "breaking changes against a base spec or a git ref",
    "database": "the migrated tables against the component schemas (paired by name)",
    "contract": "phase3 generated tests: statuses, headers, bodies against the spec",
    "smoke": "request flows of your own, run in phase3",
    "performance": "latency percentiles and thresholds per operation",
    "scoring": "weights, thresholds and the score under which the verdict fails",
    "collect": "the rounds of deploycheck collect after a deploy",
    "monitor": "deploycheck monitor: interval, duration and escalation",
    "notify": "where alerts go (Slack, e-mail, webhooks, through Apprise URLs)",
    "rollback": "the command deploycheck rollback runs",
}


def explain(found: Discovery, config: Mapping[str, Any], path: Path) -> str:
    """What ``config`` holds and why, section by section, then what is left to configure."""
    lines = [f"Wrote {path.name}:"]

    def row(section: str, text: str) -> None:
        lines.append(f"  {section:<11} {text}")

    row("$schema", str(config["$schema"]))
    row("", "(editors read it to complete and explain every key)")
    if found.service_name:
        row("service", f"{found.service_name!r} (from {found.service_name_source})")
    spec = found.spec
    row("spec", f"{spec.path}: OpenAPI {spec.version}, {spec.operations} operations")
    if spec.served_path:
        row("", f"served at {spec.served_path}: phase2 compares it with the file (drift)")
    if found.other_specs:
        shown = ", ".join(found.other_specs[:5]) + (" ..." if len(found.other_specs) > 5 else "")
        row("", f"also found, not used: {shown}")
    row("target", "phase2/phase3 check --deploycheck-base-url URL (or $DEPLOYCHECK_BASE_URL)")
    if found.start is not None:
        row("", f"phase1 round3 starts the service: {' '.join(found.start.argv)}")
        row("", f"(from the {found.start.source})")
    else:
        row("", "no way to start the service locally found: set target.local.command")
    if spec.health_path:
        row("health", f"GET {spec.health_path} must answer 200 (a key check)")
    else:
        row("health", "off: no health path in the spec (/health, /healthz, /status...)")
    if spec.disposable:
        shown = ", ".join(spec.disposable[:3]) + (", ..." if len(spec.disposable) > 3 else "")
        row(
            "deletes",
            f"{shown}: each check creates the resource it deletes, and runs after the reads "
            "and writes",
        )
    if spec.destructive:
        shown = ", ".join(spec.destructive[:3]) + (", ..." if len(spec.destructive) > 3 else "")
        row(
            "availability",
            f"{len(spec.destructive)} operation(s) that may delete or reset data left out of "
            f"probes and contract tests ({shown}); remove them from availability.exclude and "
            "contract.exclude to test them against test data",
        )
    if found.migrations is not None:
        m = found.migrations
        origin = "" if m.source == "folder" else f" (from {m.source})"
        row("migrations", f"{m.folder}: {m.count} numbered SQL migrations{origin}")
    if "database" in config:
        row("database", "the migrated tables against the component schemas (paired by name)")
    if found.env is not None:
        required = [d.name for d in found.env.declared if d.required]
        secrets = [d.name for d in found.env.declared if d.secret]
        row(
            "env",
            f"{len(found.env.declared)} variables declared by {', '.join(found.env.examples)}: "
            f"{len(required)} required, the others optional",
        )
        if secrets:
            row("", f"secret, never shown: {', '.join(secrets)}")
        row("", f"values from the environment, then {', '.join(found.env.files)}")
    if found.bundle:
        built = f" (built by `{found.build_command}`)" if found.build_command else ""
        row("bundle", f"{', '.join(found.bundle)}{built}: sizes recorded, +10% fails")
    if found.breaking_base is not None:
        row("breaking", f"the spec against {found.breaking_base}")
    if found.models:
        row("models", f"{len(found.models)} Pydantic models named like component schemas:")
        for model in found.models:
            row("", f"{model.component} <- {model.target}")
    row("history", "sqlite .deploycheck/history.db, or $DEPLOYCHECK_HISTORY_URL when set")
    if found.notes:
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in found.notes)
    lines.append("Not configured yet (deploycheck schema --section NAME shows the keys):")
    lines.extend(f"  {name:<16}{text}" for name, text in _LATER.items() if name not in config)
    lines.append("Next (naming the file keeps pytest off your own tests):")
    name = path.name
    if found.start is not None:
        lines.append(f"  pytest {name} -m phase1")
    else:
        lines.append(
            f'  pytest {name} -m "phase1 and not round3"   (round3 needs target.local.command)'
        )
    return "\n".join(lines)


def init_project(
    root: Path,
    *,
    force: bool = False,
    schema: SchemaChoice = "auto",
    lock_migrations: bool = True,
) -> InitResult:
    """Write a starting ``deployment-config.json`` for the repository at ``root``.

    Refuses, unless ``force``, when the file exists. With ``lock_migrations``, migrations found
    are recorded as deployed in the lock file (unless one exists), as they are in an existing
    service: the migrations check then lints only the ones added from now on.
    """
    root = Path(root).resolve()
    path = root / CONFIG_FILENAME
    if path.exists() and not force:
        raise ConfigError(
            [
                "already exists, not overwritten: edit it, or run `deploycheck init --force` "
                "to replace it with a fresh one"
            ],
            source=str(path),
        )
    found = discover(root)
    reference = schema_reference(root, schema)
    config = build_config(found, reference)
    text = render_config(config)
    # The config must load as written; a failure here is a bug of init, not of the project.
    config_from_text(text, path, environ={})
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot be written: {exc.strerror}"], source=str(path)) from None
    lock_path = None
    notes = list(found.notes)
    if reference == f"./{LOCAL_SCHEMA}":
        write_schema(root / LOCAL_SCHEMA)
    if lock_migrations and found.migrations is not None and not (root / DEFAULT_LOCK_FILE).exists():
        try:
            lock_path = write_lock(config["migrations"], root)
        except DeployCheckError as exc:
            notes.append(f"migrations not locked: {exc}")
        else:
            notes.append(
                f"{DEFAULT_LOCK_FILE}: the {found.migrations.count} existing migrations are "
                "recorded as deployed, so only new ones are linted; delete it if some are "
                "not deployed yet"
            )
    found = replace(found, notes=tuple(notes))
    return InitResult(path, found, text, explain(found, config, path), lock_path)

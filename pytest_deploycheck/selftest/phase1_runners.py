"""How each phase1 family's check is run on its fixture: offline, on the fixture's files only.

The env family reads only its fixture's dotenv file, never the process environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.spec import load_spec

from .model import Runner, _Context


def _static_analysis(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.static_analysis import check_command, parse_commands

        section = {
            "commands": [
                {
                    "name": "json.tool",
                    "argv": ["{python}", "-m", "json.tool", "settings.json.txt"],
                    "timeout": "30s",
                }
            ]
        }
        (command,) = parse_commands(section)
        return check_command(command, ctx.fixtures / "static_analysis" / folder)

    return run


_ENV_SECTION: Mapping[str, Any] = {
    "files": ["service.env"],
    "variables": {
        "PORT": {"type": "port", "required": True},
        "DATABASE_URL": {"type": "url", "required": True, "schemes": ["sqlite", "postgresql"]},
        "LOG_LEVEL": {"type": "choice", "choices": ["debug", "info", "warning", "error"]},
        "DEBUG": {"type": "bool"},
    },
}


def _env(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.environment import check_environment

        # an empty environment: the user's own PORT must not change the outcome
        return check_environment(_ENV_SECTION, ctx.fixtures / "env" / folder, {})

    return run


def _env_example(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.environment import check_environment

        # the example file declares the names: required unless marked optional, secrets too
        section = {"example": "service.env.example", "files": ["service.env"]}
        return check_environment(section, ctx.fixtures / "env" / folder, {})

    return run


def _bundle(folder: str, previous: Mapping[str, int] | None = None) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.bundle import check_bundle

        section = {
            "artifacts": [
                {"name": "app.js", "path": "static/*.js", "max_size": "1 KiB", "max_growth": "10%"}
            ]
        }
        findings, _ = check_bundle(section, ctx.fixtures / "bundle" / folder, previous)
        return findings

    return run


def _openapi(relative: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.lint import lint_spec, validate_document

        spec = ctx.spec if relative == "service" else load_spec(ctx.fixtures / relative)
        return [*validate_document(spec), *lint_spec(spec)]

    return run


def _breaking(head: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.breaking import check_breaking

        root = ctx.fixtures / "breaking"
        return check_breaking(load_spec(root / head), {"base": "base.yaml"}, root)

    return run


def _migrations(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.migrations import check_migrations

        return check_migrations({"folder": "migrations"}, ctx.fixtures / folder)

    return run


def _database(folder: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.database import check_database

        return check_database(
            ctx.spec, {"tables": {"items": "Item"}}, {"folder": "migrations"}, ctx.fixtures / folder
        )

    return run


def _models(path: str) -> Runner:
    def run(ctx: _Context) -> list[Finding]:
        from pytest_deploycheck.phase1.models import ModelSource, check_model

        return check_model(ctx.spec, ModelSource("Item", "json_schema", path), ctx.fixtures)

    return run

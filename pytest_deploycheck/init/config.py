"""The config proposed for a ``Discovery`` (pure), its ``$schema`` reference and its text."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pytest_deploycheck.core.config import SCHEMA_FILENAME, SCHEMA_ID, escape_literal

from .found import Discovery

PUBLISHED_SCHEMA_URL = SCHEMA_ID
SchemaChoice = Literal["auto", "path", "url"]

HISTORY_URL = "${DEPLOYCHECK_HISTORY_URL:-sqlite:///.deploycheck/history.db}"
BASE_URL = "${DEPLOYCHECK_BASE_URL:-}"


def _package_schema_file() -> Path | None:
    resource = files("pytest_deploycheck") / "schemas" / SCHEMA_FILENAME
    path = Path(str(resource))
    return path if path.is_file() else None


def schema_reference(
    root: Path, choice: SchemaChoice = "auto", schema_file: Path | None = None
) -> str:
    """What ``$schema`` says: a relative path to the installed schema, or the published URL.

    ``auto`` takes the path only when the installed package lies inside ``root`` (an
    in-repository virtualenv or an editable install), since a path into one machine's
    site-packages means nothing to anyone else; ``path`` always takes it; ``url`` never does.
    """
    if choice == "url":
        return PUBLISHED_SCHEMA_URL
    schema_file = schema_file if schema_file is not None else _package_schema_file()
    if schema_file is None:
        return PUBLISHED_SCHEMA_URL
    root, schema_file = Path(root).resolve(), schema_file.resolve()
    if choice == "auto" and not schema_file.is_relative_to(root):
        return PUBLISHED_SCHEMA_URL
    relative = Path(os.path.relpath(schema_file, root)).as_posix()
    return relative if relative.startswith("../") else f"./{relative}"


def build_config(found: Discovery, schema: str) -> dict[str, Any]:
    """The starting config for what was found: only what the first phase1 needs, no guesses."""
    config: dict[str, Any] = {"$schema": schema}
    if found.service_name:
        config["service"] = {"name": escape_literal(found.service_name)}
    spec_path = escape_literal(found.spec.path)
    if found.spec.served_path:
        config["spec"] = {"path": spec_path, "served_path": found.spec.served_path}
    else:
        config["spec"] = spec_path
    target: dict[str, Any] = {"base_url": BASE_URL}
    if found.start is not None:
        local: dict[str, Any] = {"command": [escape_literal(a) for a in found.start.argv]}
        # a 404 counts as ready too, so "/" serves where there is no health endpoint
        local["ready_path"] = found.spec.health_path or "/"
        if found.start.ready_timeout:
            local["ready_timeout"] = found.start.ready_timeout
        target["local"] = local
    config["target"] = target
    if found.spec.health_path:
        config["health"] = {"path": found.spec.health_path}
    else:
        config["health"] = {"enabled": False}
    if found.spec.destructive:
        # probes and generated requests must not delete a deployment's data
        left_out = [escape_literal(label) for label in found.spec.destructive]
        config["availability"] = {"exclude": left_out}
        config["contract"] = {"exclude": left_out}
    if found.migrations is not None:
        migrations: dict[str, Any] = {"folder": escape_literal(found.migrations.folder)}
        if found.migrations.start != 1:
            migrations["start"] = found.migrations.start
        config["migrations"] = migrations
    if found.models:
        config["models"] = {"pydantic": {model.component: model.target for model in found.models}}
    config["history"] = {"url": HISTORY_URL}
    return config


def render_config(config: Mapping[str, Any]) -> str:
    """The config as the file's text: two-space JSON, keys in the order built, a final newline."""
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"

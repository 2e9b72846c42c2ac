"""The config proposed for a ``Discovery`` (pure), its ``$schema`` reference and its text."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pytest_deploycheck.core.config import (
    SCHEMA_FILENAME,
    SCHEMA_ID,
    escape_literal,
    schema_document,
)
from pytest_deploycheck.core.errors import ConfigError

from .found import Discovery

PUBLISHED_SCHEMA_URL = SCHEMA_ID
# the copy of the schema written into a repository whose package lies elsewhere
LOCAL_SCHEMA = ".deploycheck/deployment-config.schema.json"
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
    """What ``$schema`` says: a relative path editors can read offline, or the published URL.

    ``auto`` takes the installed schema when the package lies inside ``root`` (an
    in-repository virtualenv or an editable install), else the copy ``init`` writes in the
    repository (``LOCAL_SCHEMA``, as ``deploycheck schema --write`` does), since a path into
    one machine's site-packages means nothing to anyone else; ``path`` always takes the
    installed schema; ``url`` the published URL.
    """
    if choice == "url":
        return PUBLISHED_SCHEMA_URL
    schema_file = schema_file if schema_file is not None else _package_schema_file()
    root = Path(root).resolve()
    if schema_file is None or (choice == "auto" and not schema_file.resolve().is_relative_to(root)):
        return f"./{LOCAL_SCHEMA}"
    relative = Path(os.path.relpath(schema_file.resolve(), root)).as_posix()
    return relative if relative.startswith("../") else f"./{relative}"


def write_schema(path: Path) -> Path:
    """Write the whole JSON Schema, one self-contained file, at ``path``; ConfigError when
    it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema_document(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot be written: {exc.strerror}"], source=str(path)) from None
    return path


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
        if found.start.env:
            local["env"] = dict(found.start.env)
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
    if found.env is not None:
        examples = [escape_literal(name) for name in found.env.examples]
        config["env"] = {
            "example": examples[0] if len(examples) == 1 else examples,
            "files": [escape_literal(name) for name in found.env.files],
        }
    if found.bundle:
        # sizes are measured and recorded; growth beyond 10% from one run to the next fails
        config["bundle"] = {
            "artifacts": [{"path": escape_literal(glob)} for glob in found.bundle],
            "max_growth": "10%",
        }
    if found.breaking_base is not None:
        config["breaking"] = {"base": escape_literal(found.breaking_base)}
    if found.migrations is not None:
        migrations: dict[str, Any] = {"folder": escape_literal(found.migrations.folder)}
        if found.migrations.start != 1:
            migrations["start"] = found.migrations.start
        config["migrations"] = migrations
        if found.spec.components:
            # tables paired with component schemas by name (orders -> Order)
            config["database"] = {}
    if found.models:
        config["models"] = {"pydantic": {model.component: model.target for model in found.models}}
    config["history"] = {"url": HISTORY_URL}
    return config


def render_config(config: Mapping[str, Any]) -> str:
    """The config as the file's text: two-space JSON, keys in the order built, a final newline."""
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"

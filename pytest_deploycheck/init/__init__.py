"""``deploycheck init``: a starting ``deployment-config.json`` for an existing API repository.

``discover`` (``discovery``) looks through a repository for what the gate needs, reading files
and never importing or running the project's code (``repository``): the OpenAPI 3 document and
its health path (``spec``), the SQL migrations folder (``migrations``), a command that starts
the service locally (``startup``: ASGI and WSGI apps, Django, package.json scripts, wrangler),
Pydantic models named like the spec's component schemas (``models``), the service's name and
Python dependencies (``manifests``), the environment ``.env.example`` declares
(``environment``), the base of the breaking check (``baseline``) and a build output to measure
(``build``), all gathered in a ``Discovery`` (``found``). ``build_config`` turns it into the
config (pure, ``config``); in ``writer``, ``explain`` says in words what each section does and
what is left to configure (pure), and ``init_project`` does all of it and writes the file, never
over an existing one unless forced. Modules here may import each other and the layers below
(today ``core`` and ``phase1``), never ``selftest`` or the adapters.
"""

from __future__ import annotations

from .config import (
    LOCAL_SCHEMA,
    PUBLISHED_SCHEMA_URL,
    SchemaChoice,
    build_config,
    render_config,
    schema_reference,
    write_schema,
)
from .discovery import discover
from .found import Discovery, InitResult, MigrationsFound, ModelFound, SpecFound, StartCommand
from .spec import find_health_path
from .writer import explain, init_project

__all__ = [
    "LOCAL_SCHEMA",
    "PUBLISHED_SCHEMA_URL",
    "Discovery",
    "InitResult",
    "MigrationsFound",
    "ModelFound",
    "SchemaChoice",
    "SpecFound",
    "StartCommand",
    "build_config",
    "discover",
    "explain",
    "find_health_path",
    "init_project",
    "render_config",
    "schema_reference",
    "write_schema",
]

"""What ``discover`` found: the spec, migrations, start command, models, and the whole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_deploycheck.phase1.env_example import Declared


@dataclass(frozen=True)
class SpecFound:
    """The OpenAPI document the config will name."""

    path: str
    version: str
    operations: int
    health_path: str | None = None
    served_path: str | None = None
    title: str | None = None
    components: tuple[str, ...] = ()
    # operations that may reset data and act on nothing the gate can create: left out
    destructive: tuple[str, ...] = ()
    # operations that delete what another creates: their items create their own first
    disposable: tuple[str, ...] = ()


@dataclass(frozen=True)
class MigrationsFound:
    """A folder of numbered SQL migrations, D1 style."""

    folder: str
    count: int
    start: int
    source: str


@dataclass(frozen=True)
class StartCommand:
    """How to start the service locally, as ``target.local.command``."""

    argv: tuple[str, ...]
    source: str
    ready_timeout: str | None = None
    # the web framework the command serves (FastAPI, Flask...), when it is a Python app
    framework: str | None = None
    # target.local.env: variables that tell the service where to listen ({host}, {port})
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ModelFound:
    """A Pydantic class named like a component schema."""

    component: str
    target: str
    location: str


@dataclass(frozen=True)
class EnvFound:
    """Example files that declare the environment, the files its values go in, the names."""

    examples: tuple[str, ...]
    files: tuple[str, ...]
    declared: tuple[Declared, ...]


@dataclass(frozen=True)
class Discovery:
    """Everything ``discover`` found in a repository, and what it noticed on the way."""

    root: Path
    spec: SpecFound
    other_specs: tuple[str, ...] = ()
    migrations: MigrationsFound | None = None
    start: StartCommand | None = None
    models: tuple[ModelFound, ...] = ()
    service_name: str | None = None
    service_name_source: str | None = None
    wrangler: bool = False
    env: EnvFound | None = None
    # REV:PATH of the spec the breaking check compares with
    breaking_base: str | None = None
    # globs of the build output the bundle check measures
    bundle: tuple[str, ...] = ()
    # how the project builds (package.json's build script), when it has a build step
    build_command: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitResult:
    """What ``init_project`` wrote: the config's path and text, what it found, in words."""

    path: Path
    found: Discovery
    text: str
    explanation: str
    lock_path: Path | None = None

"""``deploycheck init``: a starting ``deployment-config.json`` for an existing API repository.

``discover`` looks through a repository for what the gate needs: the OpenAPI 3 document, the
SQL migrations folder, a health path, a command that starts the service locally and Pydantic
models named like the spec's component schemas. It reads files and never imports or runs the
project's code. ``build_config`` turns a ``Discovery`` into the config (pure), ``explain``
says in words what each section does and what is left to configure (pure), and
``init_project`` does all of it and writes the file, never over an existing one unless forced.
"""

from __future__ import annotations

import ast
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from pytest_deploycheck.core.config import (
    CONFIG_FILENAME,
    SCHEMA_FILENAME,
    SCHEMA_ID,
    config_from_text,
    escape_literal,
)
from pytest_deploycheck.core.errors import ConfigError, DeployCheckError, SpecError
from pytest_deploycheck.core.spec import HTTP_METHODS, Operation, load_spec
from pytest_deploycheck.core.units import format_size
from pytest_deploycheck.phase1.migrations import DEFAULT_LOCK_FILE, DEFAULT_PATTERN, write_lock

__all__ = [
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
]

PUBLISHED_SCHEMA_URL = SCHEMA_ID
SchemaChoice = Literal["auto", "path", "url"]

HISTORY_URL = "${DEPLOYCHECK_HISTORY_URL:-sqlite:///.deploycheck/history.db}"
BASE_URL = "${DEPLOYCHECK_BASE_URL:-}"

# Folders that hold installed, generated or cached files, never the project's own sources.
_SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "venv",
        "env",
        "dist",
        "build",
        "target",
        "coverage",
        "htmlcov",
        "bower_components",
        "vendor",
    }
)
# Folders of tests: their specs, apps and models are fixtures, not the service.
_TEST_DIRS = frozenset({"tests", "test", "__tests__", "fixtures", "testdata", "test_data"})
# Folders where an OpenAPI document usually lives.
_SPEC_DIRS = frozenset({"docs", "doc", "api", "apis", "specs", "spec", "openapi", "contracts"})
_SPEC_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_MAX_FILES = 50_000
_MAX_SPEC_BYTES = 10 * 1024 * 1024
# A file named like a spec may be big (GitHub's is 13 MB, Microsoft Graph's over 70 MB).
_MAX_NAMED_SPEC_BYTES = 256 * 1024 * 1024
_MAX_SOURCE_BYTES = 1024 * 1024
_SPEC_KEY = re.compile(r"""(?:^|[{,\s])["']?(?:openapi|swagger)["']?\s*:""")

_HEALTH_PATHS = (
    "/health",
    "/healthz",
    "/health/live",
    "/health/ready",
    "/livez",
    "/readyz",
    "/status",
    "/ping",
    "/heartbeat",
    "/_health",
    "/api/health",
    "/api/healthz",
    "/api/status",
    "/api/ping",
)
_HEALTH_NAMES = frozenset(path.rsplit("/", 1)[1] for path in _HEALTH_PATHS)
_SERVED_SPEC_PATHS = (
    "/openapi.json",
    "/openapi.yaml",
    "/openapi.yml",
    "/openapi",
    "/swagger.json",
    "/v3/api-docs",
    "/api-docs",
)
_PYDANTIC_ROOTS = frozenset({"BaseModel", "RootModel", "SQLModel"})
_MODEL_MODULES = frozenset({"models", "model", "schemas", "schema", "entities", "dto", "dtos"})
_APP_FILES = frozenset({"main.py", "app.py", "api.py", "server.py", "asgi.py"})
_NUMBERED_SQL = re.compile(DEFAULT_PATTERN)
_NUMBERED_PY = re.compile(r"^\d+_\w+\.py$")


# -- what was found --------------------------------------------------------------------------


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
    destructive: tuple[str, ...] = ()


# Operations whose probe could delete or reset data: DELETE, and names saying so.
_DESTRUCTIVE = re.compile(
    r"(delete|remove|purge|reset|destroy|drop|wipe|truncate|clear)", re.IGNORECASE
)


def _destructive(operation: Operation) -> bool:
    operation_id = operation.definition.get("operationId")
    names = f"{operation.path} {operation_id if isinstance(operation_id, str) else ''}"
    return operation.method == "delete" or bool(_DESTRUCTIVE.search(names))


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


@dataclass(frozen=True)
class ModelFound:
    """A Pydantic class named like a component schema."""

    component: str
    target: str
    location: str


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
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitResult:
    """What ``init_project`` wrote: the config's path and text, what it found, in words."""

    path: Path
    found: Discovery
    text: str
    explanation: str
    lock_path: Path | None = None


# -- walking the repository ------------------------------------------------------------------


def _walk(root: Path) -> list[PurePosixPath]:
    """The project's files, relative to ``root``, without hidden, installed or built folders."""
    found: list[PurePosixPath] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            # a virtualenv, whatever its name
            and not (here / d / "pyvenv.cfg").exists()
        )
        relative = PurePosixPath(here.relative_to(root).as_posix())
        for name in sorted(names):
            found.append(relative / name if str(relative) != "." else PurePosixPath(name))
            if len(found) >= _MAX_FILES:
                return found
    return found


def _in_tests(path: PurePosixPath) -> bool:
    return any(part.lower() in _TEST_DIRS for part in path.parts[:-1])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_text(path: Path, limit: int) -> str | None:
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


# -- the spec --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    path: PurePosixPath
    version: str
    operations: int

    def rank(self) -> tuple[int, int, int, int, int, int, str]:
        """Higher is likelier the service's own spec."""
        parts = self.path.parts
        conventional = len(parts) == 1 or (len(parts) == 2 and parts[0].lower() in _SPEC_DIRS)
        name = self.path.name.lower()
        return (
            int(not _in_tests(self.path)),
            int(conventional),
            int("openapi" in name or "swagger" in name or ".oas." in name),
            self.operations,
            -len(parts),
            int(self.path.suffix != ".json"),  # hand-written specs are YAML; JSON is often built
            # reversed, so that max() picks the first path in sorted order on a tie
            "".join(chr(0x10FFFF - ord(c)) for c in str(self.path)),
        )


def _is_spec_candidate(path: PurePosixPath) -> bool:
    if path.suffix.lower() not in _SPEC_SUFFIXES:
        return False
    name = path.name.lower()
    if "openapi" in name or "swagger" in name or ".oas." in name:
        return True
    return any(part.lower() in _SPEC_DIRS for part in path.parts[:-1])


def _parse_document(text: str, suffix: str) -> Any:
    if suffix == ".json":
        return json.loads(text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def _count_operations(document: Mapping[str, Any]) -> int:
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        return 0
    return sum(
        1
        for item in paths.values()
        if isinstance(item, Mapping)
        for method in HTTP_METHODS
        if isinstance(item.get(method), Mapping)
    )


def _spec_candidates(
    root: Path, paths: Iterable[PurePosixPath], notes: list[str]
) -> list[_Candidate]:
    candidates = []
    for path in paths:
        if not _is_spec_candidate(path):
            continue
        named = any(word in path.name.lower() for word in ("openapi", "swagger"))
        limit = _MAX_NAMED_SPEC_BYTES if named else _MAX_SPEC_BYTES
        text = _read_text(root / path, limit)
        if text is None and named and _size(root / path) > limit:
            notes.append(
                f"{path}: {format_size(_size(root / path))}, over the {format_size(limit)} "
                "init reads, skipped; name it as spec in deployment-config.json yourself"
            )
        if text is None or not _SPEC_KEY.search(text):
            continue
        try:
            document = _parse_document(text, path.suffix.lower())
        except (ValueError, yaml.YAMLError):
            if "openapi" in path.name.lower() or "swagger" in path.name.lower():
                notes.append(f"{path}: not valid YAML or JSON, skipped")
            continue
        if not isinstance(document, Mapping):
            continue
        version = document.get("openapi")
        if isinstance(version, str) and version.startswith("3."):
            candidates.append(_Candidate(path, version, _count_operations(document)))
        elif "swagger" in document:
            notes.append(
                f"{path}: a Swagger {document['swagger']} document, skipped; convert it to "
                "OpenAPI 3 (for example with swagger2openapi) to check against it"
            )
        elif version is not None:
            notes.append(
                f"{path}: 'openapi: {version}' is not OpenAPI 3.x (write it as a string such "
                "as '3.1.0'), skipped"
            )
    return candidates


def find_health_path(paths: Iterable[str]) -> str | None:
    """The likeliest health endpoint among ``paths`` (GET paths without parameters)."""
    fixed = [path for path in paths if "{" not in path]
    for known in _HEALTH_PATHS:
        if known in fixed:
            return known
    named = [path for path in fixed if path.rstrip("/").rsplit("/", 1)[-1] in _HEALTH_NAMES]
    return min(named, key=lambda path: (len(path), path)) if named else None


def _served_spec_path(paths: Sequence[str]) -> str | None:
    for known in _SERVED_SPEC_PATHS:
        if known in paths:
            return known
    served = [p for p in paths if re.search(r"/openapi\.(json|ya?ml)$", p) and "{" not in p]
    return min(served, key=len) if served else None


def _get_paths(document: Mapping[str, Any]) -> list[str]:
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        return []
    return [
        str(path)
        for path, item in paths.items()
        if isinstance(item, Mapping) and isinstance(item.get("get"), Mapping)
    ]


def _choose_spec(
    root: Path, candidates: list[_Candidate], notes: list[str]
) -> tuple[SpecFound, tuple[str, ...]]:
    ranked = sorted(candidates, key=lambda c: c.rank(), reverse=True)
    for candidate in ranked:
        try:
            spec = load_spec(root / candidate.path)
        except SpecError as exc:
            notes.append(f"{candidate.path}: cannot be loaded, skipped: {exc}")
            continue
        document = spec.document
        get_paths = _get_paths(document)
        info = document.get("info")
        title = info.get("title") if isinstance(info, Mapping) else None
        components = document.get("components")
        schemas = components.get("schemas") if isinstance(components, Mapping) else None
        found = SpecFound(
            path=str(candidate.path),
            version=candidate.version,
            operations=len(spec.operations),
            health_path=find_health_path(get_paths),
            served_path=_served_spec_path(get_paths),
            title=str(title) if isinstance(title, str) and title.strip() else None,
            components=tuple(str(name) for name in schemas) if isinstance(schemas, Mapping) else (),
            destructive=tuple(op.label for op in spec.operations if _destructive(op)),
        )
        others = tuple(str(other.path) for other in ranked if other is not candidate)
        return found, others
    looked = (
        "openapi.yaml/.yml/.json, swagger files, any *openapi* file, and YAML or JSON files "
        "in docs/, api/ and specs/"
    )
    problems = "".join(f"\n  - {note}" for note in notes)
    raise SpecError(
        f"{root}: no OpenAPI 3.x document found (looked for {looked}); write one, or convert "
        f"a Swagger 2.0 file to OpenAPI 3, then run deploycheck init again{problems}"
    )


def _spec_at_run_time(start: StartCommand) -> str:
    """Advice for a service that builds its spec when it runs (FastAPI, chanfana, ...): how
    to save it once, so the gate can check it and the repository can track its changes."""
    argv = list(start.argv)
    if "uvicorn" in argv:
        target = next(arg for arg in argv if ":" in arg and not arg.startswith("{"))
        module, name = target.split(":", 1)
        app = f"{name}()" if "--factory" in argv else name
        code = f"import json; from {module} import {name}; print(json.dumps({app}.openapi()))"
        app_dir = argv[argv.index("--app-dir") + 1] if "--app-dir" in argv else "."
        return (
            f"The {start.source} builds its spec when it runs; save it once, commit it, and "
            f"run deploycheck init again:\n    PYTHONPATH={app_dir} python -c '{code}' > "
            "openapi.json"
        )
    command = " ".join(argv)
    return (
        f"If the service ({start.source}: {command}) builds its spec when it runs, start it, "
        "save what it serves (often at /openapi.json) as openapi.json, commit it, and run "
        "deploycheck init again"
    )


# -- migrations ------------------------------------------------------------------------------


def _strip_jsonc(text: str) -> str:
    """JSON with ``//`` and ``/* */`` comments and trailing commas made plain JSON."""
    out: list[str] = []
    index, length, in_string = 0, len(text), False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        else:
            out.append(char)
        index += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def _wrangler_config(root: Path, notes: list[str]) -> tuple[str, Mapping[str, Any]] | None:
    """The first wrangler config file at the root, parsed."""
    for name in ("wrangler.toml", "wrangler.jsonc", "wrangler.json"):
        path = root / name
        if not path.is_file():
            continue
        text = _read_text(path, _MAX_SOURCE_BYTES)
        try:
            if text is None:
                raise ValueError("unreadable")
            data = tomllib.loads(text) if name.endswith(".toml") else json.loads(_strip_jsonc(text))
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            notes.append(f"{name}: cannot be parsed ({exc}), skipped")
            continue
        if isinstance(data, Mapping):
            return name, data
    return None


def _d1_migration_dirs(wrangler: Mapping[str, Any]) -> list[str]:
    """``migrations_dir`` of every D1 database, top level first, then each environment."""
    sections: list[Mapping[str, Any]] = [wrangler]
    environments = wrangler.get("env")
    if isinstance(environments, Mapping):
        sections.extend(env for env in environments.values() if isinstance(env, Mapping))
    folders: list[str] = []
    for section in sections:
        databases = section.get("d1_databases")
        for database in databases if isinstance(databases, list) else []:
            if isinstance(database, Mapping):
                folder = str(database.get("migrations_dir") or "migrations").strip("/")
                if folder not in folders:
                    folders.append(folder)
    return folders


def _numbered_sql(folder: Path) -> list[int]:
    try:
        names = [entry.name for entry in folder.iterdir() if entry.is_file()]
    except OSError:
        return []
    numbers = []
    for name in names:
        match = _NUMBERED_SQL.search(name)
        if match:
            numbers.append(int(match[1]))
    return sorted(numbers)


def _note_unmatched_sql(
    paths: Sequence[PurePosixPath], found: Sequence[MigrationsFound], notes: list[str]
) -> None:
    """Name the folders below a migrations/ folder whose SQL files are not configured:
    another naming scheme (``00001-collections.sqlite.sql``), or a deeper folder."""
    taken = {m.folder for m in found}
    unmatched: dict[PurePosixPath, tuple[str, bool]] = {}
    for path in paths:
        if (
            path.suffix == ".sql"
            and "migrations" in path.parts[:-1]
            and str(path.parent) not in taken
            and not _in_tests(path)
        ):
            unmatched.setdefault(path.parent, (path.name, bool(_NUMBERED_SQL.search(path.name))))
    for folder, (example, numbered) in sorted(unmatched.items()):
        if numbered:
            notes.append(
                f"{folder}: SQL migrations ({example}, ...) not configured; set "
                "migrations.folder to check them"
            )
        else:
            notes.append(
                f"{folder}: SQL files not named NNNN_name.sql (such as {example}); to check "
                "them, set migrations.folder and a migrations.pattern whose first group is the "
                "number"
            )


def _find_migrations(
    root: Path,
    paths: Sequence[PurePosixPath],
    wrangler: tuple[str, Mapping[str, Any]] | None,
    notes: list[str],
) -> MigrationsFound | None:
    found: list[MigrationsFound] = []
    if wrangler is not None:
        name, data = wrangler
        for d1_folder in _d1_migration_dirs(data):
            numbers = _numbered_sql(root / d1_folder)
            if numbers:
                source = f"{name}: d1_databases migrations_dir"
                found.append(MigrationsFound(d1_folder, len(numbers), min(numbers), source))
            elif (root / d1_folder).is_dir():
                notes.append(
                    f"{d1_folder} (D1 migrations_dir in {name}) holds no NNNN_name.sql files"
                )
    folders = sorted({path.parent for path in paths if path.parent.name == "migrations"})
    if (root / "alembic.ini").is_file():
        notes.append(
            "alembic.ini: Alembic migrations are Python, not SQL files; the migrations "
            "check reads numbered .sql files (D1 style), so they are left out"
        )
    for folder in folders:
        if _in_tests(folder / "x") or any(m.folder == str(folder) for m in found):
            continue
        numbers = _numbered_sql(root / folder)
        if numbers:
            found.append(MigrationsFound(str(folder), len(numbers), min(numbers), "folder"))
            continue
        names = [p.name for p in paths if p.parent == folder]
        python = [n for n in names if _NUMBERED_PY.match(n)] or (
            ["env.py"] if "env.py" in names else []
        )
        if python and not (root / "alembic.ini").is_file():
            notes.append(
                f"{folder}: Python migrations (Alembic or Django), not SQL files; the "
                "migrations check reads numbered .sql files (D1 style), so they are left out"
            )
    _note_unmatched_sql(paths, found, notes)
    if not found:
        return None
    # D1's own setting first, then the shallowest folder
    best = min(found, key=lambda m: (m.source == "folder", m.folder.count("/"), m.folder))
    others = [m.folder for m in found if m is not best]
    if others:
        notes.append(f"other migration folders, not configured: {', '.join(others)}")
    return best


# -- how to start the service ----------------------------------------------------------------


def _package_manager(root: Path) -> str:
    for lockfile, manager in (
        ("pnpm-lock.yaml", "pnpm"),
        ("yarn.lock", "yarn"),
        ("bun.lockb", "bun"),
        ("bun.lock", "bun"),
    ):
        if (root / lockfile).is_file():
            return manager
    return "npm"


_EXEC = {"npm": ("npx",), "pnpm": ("pnpm", "exec"), "yarn": ("yarn",), "bun": ("bunx",)}


def _wrangler_dev(manager: str, source: str) -> StartCommand:
    argv = (*_EXEC[manager], "wrangler", "dev", "--ip", "{host}", "--port", "{port}")
    return StartCommand(argv, source, ready_timeout="60s")


def _module_name(path: PurePosixPath) -> tuple[str, str | None] | None:
    """``src/pkg/app.py`` -> (``pkg.app``, ``src``): the module and the folder to import from."""
    parts = list(path.with_suffix("").parts)
    app_dir = None
    if parts and parts[0] == "src" and len(parts) > 1:
        app_dir, parts = "src", parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), app_dir


@dataclass(frozen=True)
class _FastAPINames:
    """How a module can name fastapi.FastAPI: ``from fastapi import FastAPI [as X]`` binds
    X, ``import fastapi [as fa]`` makes ``fa.FastAPI``. A class of the project's own that
    happens to be called FastAPI is neither."""

    classes: frozenset[str]
    modules: frozenset[str]

    @classmethod
    def of(cls, tree: ast.Module) -> _FastAPINames:
        classes: set[str] = set()
        modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "fastapi" and not node.level:
                classes.update(a.asname or a.name for a in node.names if a.name == "FastAPI")
            elif isinstance(node, ast.Import):
                modules.update(a.asname or a.name for a in node.names if a.name == "fastapi")
        return cls(frozenset(classes), frozenset(modules))

    def called(self, node: ast.AST) -> bool:
        """Whether ``node`` is a call of fastapi.FastAPI."""
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in self.classes
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "FastAPI"
            and isinstance(func.value, ast.Name)
            and func.value.id in self.modules
        )


def _takes_no_arguments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    return required <= 0 and all(default is not None for default in args.kw_defaults)


def _fastapi_apps(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """(name, is_factory) for each module-level app and each app factory without arguments."""
    fastapi = _FastAPINames.of(tree)
    for node in tree.body:
        if isinstance(node, ast.Assign) and fastapi.called(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, False
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and fastapi.called(node.value)
            and isinstance(node.target, ast.Name)
        ):
            yield node.target.id, False
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and _takes_no_arguments(node)
            and any(fastapi.called(inner) for inner in ast.walk(node))
        ):
            yield node.name, True


def _parse_python(root: Path, path: PurePosixPath, needle: str) -> ast.Module | None:
    text = _read_text(root / path, _MAX_SOURCE_BYTES)
    if text is None or needle not in text:
        return None
    try:
        return ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None


def _python_sources(paths: Iterable[PurePosixPath]) -> list[PurePosixPath]:
    return [p for p in paths if p.suffix == ".py" and not _in_tests(p)]


def _find_fastapi(
    root: Path, sources: Sequence[PurePosixPath], notes: list[str]
) -> StartCommand | None:
    apps: list[tuple[tuple[int, int, int, str], PurePosixPath, str, bool]] = []
    for path in sources:
        tree = _parse_python(root, path, "FastAPI(")
        if tree is None or _module_name(path) is None:
            continue
        for name, factory in _fastapi_apps(tree):
            rank = (int(factory), int(path.name not in _APP_FILES), len(path.parts), str(path))
            apps.append((rank, path, name, factory))
    if not apps:
        return None
    apps.sort()
    _, path, name, factory = apps[0]
    module, app_dir = _module_name(path) or ("", None)
    argv = ["{python}", "-m", "uvicorn"]
    if factory:
        argv.append("--factory")
    argv.append(f"{module}:{name}")
    if app_dir:
        argv += ["--app-dir", app_dir]
    argv += ["--host", "{host}", "--port", "{port}"]
    kind = "FastAPI app factory" if factory else "FastAPI app"
    others = [f"{p}:{n}" for _, p, n, _f in apps[1:]]
    if others:
        notes.append(f"other FastAPI apps, not used to start the service: {', '.join(others)}")
    return StartCommand(tuple(argv), f"{kind} {name!r} in {path}")


def _package_json(root: Path, notes: list[str]) -> Mapping[str, Any] | None:
    path = root / "package.json"
    if not path.is_file():
        return None
    text = _read_text(path, _MAX_SOURCE_BYTES)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError as exc:
        notes.append(f"package.json: not valid JSON ({exc}), skipped")
        return None
    return data if isinstance(data, Mapping) else None


def _node_start(
    root: Path, package: Mapping[str, Any] | None, wrangler: bool
) -> StartCommand | None:
    manager = _package_manager(root)
    scripts = package.get("scripts") if package is not None else None
    scripts = scripts if isinstance(scripts, Mapping) else {}
    for script in ("dev", "start"):
        command = scripts.get(script)
        if not isinstance(command, str):
            continue
        if "wrangler dev" in command:
            # run wrangler directly, so that it gets the port the gate chose
            return _wrangler_dev(manager, f"package.json script {script!r} ({command})")
        return StartCommand(
            (manager, "run", script),
            f"package.json script {script!r} ({command}); it must listen on $PORT",
            ready_timeout="60s",
        )
    if wrangler:
        return _wrangler_dev(manager, "wrangler config: a Cloudflare Worker")
    return None


# -- Pydantic models -------------------------------------------------------------------------


@dataclass
class _Module:
    name: str
    path: PurePosixPath
    classes: dict[str, list[str]] = field(default_factory=dict)  # class -> base names
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local -> (module, name)


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):  # RootModel[list[int]]
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _read_module(root: Path, path: PurePosixPath) -> _Module | None:
    tree = _parse_python(root, path, "class ")
    named = _module_name(path)
    if tree is None or named is None:
        return None
    module = _Module(named[0], path)
    package = module.name.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [name for name in map(_base_name, node.bases) if name]
            module.classes[node.name] = bases
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                source = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                module.imports[alias.asname or alias.name] = (source, alias.name)
    return module


def _pydantic_classes(modules: Mapping[str, _Module]) -> set[tuple[str, str]]:
    """(module, class) of every class that derives from a Pydantic model, within the project."""
    known: set[tuple[str, str]] = set()

    def is_model(module: _Module, base: str) -> bool:
        if base in _PYDANTIC_ROOTS and base not in module.classes:
            return True
        if base in module.classes:
            return (module.name, base) in known
        imported = module.imports.get(base)
        return imported is not None and imported in known

    changed = True
    while changed:
        changed = False
        for module in modules.values():
            for name, bases in module.classes.items():
                if (module.name, name) not in known and any(is_model(module, b) for b in bases):
                    known.add((module.name, name))
                    changed = True
    return known


def _find_models(
    root: Path, sources: Sequence[PurePosixPath], components: Sequence[str], notes: list[str]
) -> tuple[ModelFound, ...]:
    if not components:
        return ()
    modules: dict[str, _Module] = {}
    for path in sources:
        module = _read_module(root, path)
        if module is not None and module.name not in modules:
            modules[module.name] = module
    wanted = set(components)
    by_component: dict[str, list[tuple[tuple[int, int, str], ModelFound]]] = {}
    for module_name, class_name in _pydantic_classes(modules):
        if class_name not in wanted:
            continue
        module = modules[module_name]
        if _module_name(module.path) is None:
            continue
        found = ModelFound(class_name, f"{module_name}:{class_name}", str(module.path))
        last = module_name.rsplit(".", 1)[-1]
        rank = (int(last not in _MODEL_MODULES), len(module.path.parts), module_name)
        by_component.setdefault(class_name, []).append((rank, found))
    chosen = []
    for component in components:
        options = sorted(by_component.get(component, []), key=lambda item: item[0])
        if not options:
            continue
        chosen.append(options[0][1])
        if len(options) > 1:
            others = ", ".join(option.target for _, option in options[1:])
            notes.append(
                f"models: {component} also defined in {others}; using {options[0][1].target}"
            )
    return tuple(chosen)


# -- the service's name ----------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _service_name(
    root: Path,
    package: Mapping[str, Any] | None,
    wrangler: tuple[str, Mapping[str, Any]] | None,
    title: str | None,
) -> tuple[str, str] | tuple[None, None]:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(_read_text(pyproject, _MAX_SOURCE_BYTES) or "")
        except tomllib.TOMLDecodeError:
            data = {}
        project = data.get("project") or data.get("tool", {}).get("poetry") or {}
        name = project.get("name") if isinstance(project, Mapping) else None
        if isinstance(name, str) and name.strip():
            return name.strip(), "pyproject.toml"
    if package is not None and isinstance(package.get("name"), str) and package["name"].strip():
        return str(package["name"]).strip(), "package.json"
    if wrangler is not None and isinstance(wrangler[1].get("name"), str):
        return str(wrangler[1]["name"]), wrangler[0]
    if title and _slug(title):
        return _slug(title), "the spec's info.title"
    return None, None


# -- discovery -------------------------------------------------------------------------------


def discover(root: Path) -> Discovery:
    """Look through the repository at ``root`` for what the gate needs.

    Raises SpecError when there is no OpenAPI 3.x document: without one there is nothing to
    generate checks from. Everything else is optional and explained in ``notes``.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError([f"{root} is not a folder; run deploycheck init in the repository"])
    notes: list[str] = []
    paths = _walk(root)
    candidates = _spec_candidates(root, paths, notes)
    wrangler = _wrangler_config(root, notes)
    sources = _python_sources(paths)
    package = _package_json(root, notes)
    start = _find_fastapi(root, sources, notes) or _node_start(root, package, wrangler is not None)
    try:
        spec, other_specs = _choose_spec(root, candidates, notes)
    except SpecError as exc:
        if start is None:
            raise
        raise SpecError(f"{exc}\n{_spec_at_run_time(start)}") from None
    migrations = _find_migrations(root, paths, wrangler, notes)
    models = _find_models(root, sources, spec.components, notes)
    name, name_source = _service_name(root, package, wrangler, spec.title)
    return Discovery(
        root=root,
        spec=spec,
        other_specs=other_specs,
        migrations=migrations,
        start=start,
        models=models,
        service_name=name,
        service_name_source=name_source,
        wrangler=wrangler is not None,
        notes=tuple(notes),
    )


# -- the config ------------------------------------------------------------------------------


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
    config = build_config(found, schema_reference(root, schema))
    text = render_config(config)
    # The config must load as written; a failure here is a bug of init, not of the project.
    config_from_text(text, path, environ={})
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot be written: {exc.strerror}"], source=str(path)) from None
    lock_path = None
    notes = list(found.notes)
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

"""The OpenAPI document: the candidates in the repository, the one chosen, what it says.

Also the health path and the path the service serves its spec at, the operations that may
delete data (those that delete what another creates run on resources of their own; the
others are left out), and advice for a service that builds its spec only when it runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pytest_deploycheck.core.effects import creator_of, resets_data
from pytest_deploycheck.core.errors import SpecError
from pytest_deploycheck.core.spec import HTTP_METHODS, load_spec
from pytest_deploycheck.core.units import format_size

from .found import SpecFound, StartCommand
from .repository import in_tests, read_text, size

# Folders where an OpenAPI document usually lives.
_SPEC_DIRS = frozenset({"docs", "doc", "api", "apis", "specs", "spec", "openapi", "contracts"})
_SPEC_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_MAX_SPEC_BYTES = 10 * 1024 * 1024
# A file named like a spec may be big (GitHub's is 13 MB, Microsoft Graph's over 70 MB).
_MAX_NAMED_SPEC_BYTES = 256 * 1024 * 1024
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
            int(not in_tests(self.path)),
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


def spec_candidates(
    root: Path, paths: Iterable[PurePosixPath], notes: list[str]
) -> list[_Candidate]:
    candidates = []
    for path in paths:
        if not _is_spec_candidate(path):
            continue
        named = any(word in path.name.lower() for word in ("openapi", "swagger"))
        limit = _MAX_NAMED_SPEC_BYTES if named else _MAX_SPEC_BYTES
        text = read_text(root / path, limit)
        if text is None and named and size(root / path) > limit:
            notes.append(
                f"{path}: {format_size(size(root / path))}, over the {format_size(limit)} "
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


def choose_spec(
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
        deleting = [op for op in spec.operations if resets_data(op)]
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
            destructive=tuple(op.label for op in deleting if creator_of(spec, op) is None),
            disposable=tuple(op.label for op in deleting if creator_of(spec, op) is not None),
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


def spec_at_run_time(start: StartCommand) -> str:
    """Advice for a service that builds its spec when it runs (FastAPI, chanfana, ...): how
    to save it once, so the gate can check it and the repository can track its changes."""
    argv = list(start.argv)
    if start.framework == "FastAPI" and "uvicorn" in argv:
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

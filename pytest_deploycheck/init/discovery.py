"""``discover``: everything the gate needs found in one repository, with notes on the way."""

from __future__ import annotations

from pathlib import Path

from pytest_deploycheck.core.errors import ConfigError, SpecError
from pytest_deploycheck.phase1.bundle import build_command

from .baseline import find_breaking_base
from .build import find_build_output
from .environment import find_env_example
from .found import Discovery
from .manifests import package_json, python_dependencies, service_name, wrangler_config
from .migrations import find_migrations
from .models import find_models
from .repository import python_sources, walk
from .spec import choose_spec, spec_at_run_time, spec_candidates
from .startup import find_django, find_python_app, node_start


def discover(root: Path) -> Discovery:
    """Look through the repository at ``root`` for what the gate needs.

    Raises SpecError when there is no OpenAPI 3.x document: without one there is nothing to
    generate checks from. Everything else is optional and explained in ``notes``.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError([f"{root} is not a folder; run deploycheck init in the repository"])
    notes: list[str] = []
    paths = walk(root)
    candidates = spec_candidates(root, paths, notes)
    wrangler = wrangler_config(root, notes)
    sources = python_sources(paths)
    package = package_json(root, notes)
    dependencies = python_dependencies(root)
    start = (
        find_python_app(root, sources, dependencies, notes)
        or find_django(root, paths, dependencies)
        or node_start(root, package, wrangler is not None)
    )
    try:
        spec, other_specs = choose_spec(root, candidates, notes)
    except SpecError as exc:
        if start is None:
            raise
        raise SpecError(f"{exc}\n{spec_at_run_time(start)}") from None
    migrations = find_migrations(root, paths, wrangler, notes)
    env = find_env_example(root, notes)
    bundle = find_build_output(root, notes)
    breaking_base = find_breaking_base(root, spec.path, notes)
    models = find_models(root, sources, spec.components, notes)
    name, name_source = service_name(root, package, wrangler, spec.title)
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
        env=env,
        breaking_base=breaking_base,
        bundle=tuple(bundle),
        build_command=build_command(root),
        notes=tuple(notes),
    )

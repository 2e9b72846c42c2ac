"""How to start the service locally: a FastAPI app run by uvicorn, a ``package.json``
script, or ``wrangler dev`` for a Cloudflare Worker.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .found import StartCommand
from .repository import _module_name, parse_python

_APP_FILES = frozenset({"main.py", "app.py", "api.py", "server.py", "asgi.py"})


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


def find_fastapi(
    root: Path, sources: Sequence[PurePosixPath], notes: list[str]
) -> StartCommand | None:
    apps: list[tuple[tuple[int, int, int, str], PurePosixPath, str, bool]] = []
    for path in sources:
        tree = parse_python(root, path, "FastAPI(")
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


def node_start(
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

"""How to start the service locally: an ASGI app (FastAPI, Starlette, Litestar, Quart) run
by uvicorn, a WSGI app (Flask, Django) run by the server the project depends on, a
``package.json`` script, or ``wrangler dev`` for a Cloudflare Worker. Every command takes the
gate's ``{host}`` and ``{port}``.
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
class _Framework:
    """A web framework whose application object a module can create."""

    name: str
    cls: str
    modules: tuple[str, ...]  # where the class is imported from
    interface: str  # "asgi" or "wsgi"


_FRAMEWORKS = (
    _Framework("FastAPI", "FastAPI", ("fastapi",), "asgi"),
    _Framework("Starlette", "Starlette", ("starlette", "starlette.applications"), "asgi"),
    _Framework("Litestar", "Litestar", ("litestar", "litestar.app"), "asgi"),
    _Framework("Quart", "Quart", ("quart", "quart.app"), "asgi"),
    _Framework("Flask", "Flask", ("flask", "flask.app"), "wsgi"),
)


@dataclass(frozen=True)
class _AppNames:
    """How a module can name a framework's application class: ``from fastapi import
    FastAPI [as X]`` binds X, ``import fastapi [as fa]`` makes ``fa.FastAPI``. A class of the
    project's own that happens to be called FastAPI is neither."""

    framework: _Framework
    classes: frozenset[str]
    modules: frozenset[str]

    @classmethod
    def of(cls, tree: ast.Module, framework: _Framework) -> _AppNames:
        classes: set[str] = set()
        modules: set[str] = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module in framework.modules
                and not node.level
            ):
                classes.update(a.asname or a.name for a in node.names if a.name == framework.cls)
            elif isinstance(node, ast.Import):
                modules.update(
                    a.asname or a.name for a in node.names if a.name in framework.modules
                )
        return cls(framework, frozenset(classes), frozenset(modules))

    def called(self, node: ast.AST) -> bool:
        """Whether ``node`` calls the framework's application class."""
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in self.classes
        return (
            isinstance(func, ast.Attribute)
            and func.attr == self.framework.cls
            and ast.unparse(func.value) in self.modules
        )


def _takes_no_arguments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    return required <= 0 and all(default is not None for default in args.kw_defaults)


def _apps(tree: ast.Module, names: _AppNames) -> Iterator[tuple[str, bool]]:
    """(name, is_factory) for each module-level app and each app factory without arguments."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and names.called(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, False
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and names.called(node.value)
            and isinstance(node.target, ast.Name)
        ):
            yield node.target.id, False
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and _takes_no_arguments(node)
            and any(names.called(inner) for inner in ast.walk(node))
        ):
            yield node.name, True


@dataclass(frozen=True)
class _App:
    framework: _Framework
    path: PurePosixPath
    name: str
    factory: bool

    def rank(self) -> tuple[int, int, int, str]:
        return (int(self.factory), int(self.path.name not in _APP_FILES), len(self.path.parts),
                str(self.path))  # fmt: skip


def _serve(app: _App, dependencies: frozenset[str]) -> tuple[list[str], str]:
    """The argv that serves ``app`` on {host}:{port}, and the server's name."""
    module, app_dir = _module_name(app.path) or ("", None)
    target = f"{module}:{app.name}"
    if app.framework.interface == "asgi":
        if "hypercorn" in dependencies and "uvicorn" not in dependencies:
            call = f"{target}()" if app.factory else target
            argv = ["{python}", "-m", "hypercorn", "--bind", "{host}:{port}", call]
            return argv, "hypercorn"
        argv = ["{python}", "-m", "uvicorn", *(["--factory"] if app.factory else []), target]
        if app_dir:
            argv += ["--app-dir", app_dir]
        return [*argv, "--host", "{host}", "--port", "{port}"], "uvicorn"
    # WSGI: the server the project depends on, else the framework's own development server
    chdir = ["--chdir", app_dir] if app_dir else []
    if "gunicorn" in dependencies:
        call = f"{target}()" if app.factory else target
        return ["{python}", "-m", "gunicorn", *chdir, "--bind", "{host}:{port}", call], "gunicorn"
    if "waitress" in dependencies:
        served = ["--call", target] if app.factory else [target]
        argv = ["{python}", "-m", "waitress", "--host={host}", "--port={port}", *served]
        return argv, "waitress"
    argv = ["{python}", "-m", "flask", "--app", target, "run", "--host", "{host}"]
    return [*argv, "--port", "{port}", "--no-reload"], "flask run"


def find_python_app(
    root: Path,
    sources: Sequence[PurePosixPath],
    dependencies: frozenset[str],
    notes: list[str],
) -> StartCommand | None:
    """The ASGI app (FastAPI, Starlette, Litestar, Quart: served by uvicorn) or WSGI app
    (Flask: by gunicorn or waitress when the project depends on one, else ``flask run``)
    the service most likely is."""
    apps: list[_App] = []
    for path in sources:
        # parsed only when it names a framework's class (imported under any alias)
        tree = next(
            (
                t
                for framework in _FRAMEWORKS
                if (t := parse_python(root, path, framework.cls)) is not None
            ),
            None,
        )
        if tree is None or _module_name(path) is None:
            continue
        for framework in _FRAMEWORKS:
            names = _AppNames.of(tree, framework)
            if names.classes or names.modules:
                apps += [_App(framework, path, n, f) for n, f in _apps(tree, names)]
    if not apps:
        return None
    apps.sort(key=_App.rank)
    app = apps[0]
    argv, server = _serve(app, dependencies)
    kind = f"{app.framework.name} app factory" if app.factory else f"{app.framework.name} app"
    others = [f"{other.path}:{other.name}" for other in apps[1:]]
    if others:
        notes.append(f"other apps, not used to start the service: {', '.join(others)}")
    source = f"{kind} {app.name!r} in {app.path}, served by {server}"
    return StartCommand(tuple(argv), source, framework=app.framework.name)


def find_django(
    root: Path, paths: Sequence[PurePosixPath], dependencies: frozenset[str]
) -> StartCommand | None:
    """A Django project: its ``wsgi.py`` served by gunicorn or waitress when the project
    depends on one, else ``manage.py runserver``."""
    manage = next((p for p in paths if p.name == "manage.py" and len(p.parts) <= 2), None)
    if manage is None:
        return None
    wsgi = sorted(
        (p for p in paths if p.name == "wsgi.py" and _module_name(p) is not None),
        key=lambda p: len(p.parts),
    )
    module = (_module_name(wsgi[0]) or ("", None))[0] if wsgi else ""
    for server, bind in (
        ("gunicorn", ("--bind", "{host}:{port}")),
        ("waitress", ("--host={host}", "--port={port}")),
    ):
        if module and server in dependencies:
            argv = ("{python}", "-m", server, *bind, f"{module}:application")
            source = f"Django project {wsgi[0]}, served by {server}"
            return StartCommand(argv, source, framework="Django")
    runserver = ("{python}", str(manage), "runserver", "{host}:{port}", "--noreload")
    return StartCommand(runserver, f"Django project ({manage} runserver)", framework="Django")


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
            f"package.json script {script!r} ({command}); it must listen on $PORT "
            "(and $HOST), which the gate sets",
            ready_timeout="60s",
            env=(("PORT", "{port}"), ("HOST", "{host}")),
        )
    if wrangler:
        return _wrangler_dev(manager, "wrangler config: a Cloudflare Worker")
    return None

"""Pydantic models named like the spec's component schemas, found in the syntax trees."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .found import ModelFound
from .repository import _module_name, parse_python

_PYDANTIC_ROOTS = frozenset({"BaseModel", "RootModel", "SQLModel"})
_MODEL_MODULES = frozenset({"models", "model", "schemas", "schema", "entities", "dto", "dtos"})


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
    tree = parse_python(root, path, "class ")
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


def find_models(
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

"""Lint rules on paths: their keys, identical and ambiguous paths, and path parameters.

``no-ambiguous-paths`` looks each path up in a trie of the earlier ones, so that big specs
are not compared pair by pair; ``operation-parameters`` finds a parameter declared twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .context import LintContext
from .registry import Issue, rule

_TEMPLATE = re.compile(r"{([^{}]*)}")


def _paths(ctx: LintContext) -> list[tuple[str, str]]:
    return [
        (path, pointer) for path, pointer, _ in ctx.path_items if pointer.startswith("#/paths/")
    ]


@rule("path-keys-no-trailing-slash", "warning", "Paths do not end with a slash.")
def _path_trailing_slash(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if len(path) > 1 and path.endswith("/"):
            yield Issue(pointer, f"path {path!r} ends with '/'; remove it")


@rule("path-not-include-query", "warning", "Paths do not include a query string.")
def _path_query(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if "?" in path:
            yield Issue(
                pointer, f"path {path!r} has a query string; declare 'in: query' parameters"
            )


@rule("path-declarations-must-exist", "warning", "Path templates do not contain empty '{}'.")
def _path_declarations(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer in _paths(ctx):
        if "{}" in path:
            yield Issue(pointer, f"path {path!r} has an empty '{{}}'; name the parameter")


def _normalised(path: str) -> str:
    return _TEMPLATE.sub("{}", path.rstrip("/") or "/")


@rule("no-identical-paths", "error", "No two paths differ only in their parameter names.")
def _no_identical_paths(ctx: LintContext) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    for path, pointer in _paths(ctx):
        key = _normalised(path)
        if key in seen:
            yield Issue(
                pointer,
                f"path {path!r} is identical to {seen[key]!r} apart from parameter names; "
                "merge them",
            )
        else:
            seen[key] = path


@rule(
    "no-ambiguous-paths",
    "warning",
    "No two paths can match the same URL with neither being more specific.",
)
def _no_ambiguous_paths(ctx: LintContext) -> Iterator[Issue]:
    """Report each path that is ambiguous with an earlier one, naming the first such path.

    Comparing every pair of paths is quadratic, and big specs have thousands (Microsoft Graph
    has 7,419): each path is looked up instead in a trie of the earlier paths of its length,
    which follows only the branches that could match it.
    """
    paths = _paths(ctx)
    tries: dict[int, _PathTrie] = {}
    # Issues by segment count, in the order the lengths first appear, as findings always were.
    found: dict[int, list[Issue]] = {}
    for index, (path, pointer) in enumerate(paths):
        segments = _path_segments(path)
        trie = tries.setdefault(len(segments), _PathTrie(index))
        issues = found.setdefault(len(segments), [])
        other = _first_ambiguous(trie, segments)
        if other is not None:
            issues.append(
                Issue(
                    pointer,
                    f"path {path!r} and {paths[other][0]!r} can both match the same URL; make "
                    "one of them literal where the other has a parameter",
                )
            )
        trie.insert(segments, index)
    for issues in found.values():
        yield from issues


def _path_segments(path: str) -> list[str | None]:
    """A path's segments: a literal one is its text, a template (``{id}``) is None."""
    return [None if _TEMPLATE.fullmatch(s) else s for s in path.strip("/").split("/")]


class _PathTrie:
    """Paths of one length by segment (a literal's text, or None for a template).

    Paths are inserted in document order, so ``first``, the index of the first path that
    reached a node, is the earliest path below it.
    """

    __slots__ = ("children", "first")

    def __init__(self, first: int) -> None:
        self.first = first
        self.children: dict[str | None, _PathTrie] = {}

    def insert(self, segments: list[str | None], index: int) -> None:
        node = self
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _PathTrie(index)
            node = child


def _first_ambiguous(trie: _PathTrie, segments: list[str | None]) -> int | None:
    """The earliest path in ``trie`` that is ambiguous with ``segments``, or None.

    Two paths are ambiguous when their literals agree wherever both have one, and each has a
    literal where the other has a template: then a URL can match both, and neither is more
    specific. The walk goes depth first, earliest branch first, and stops at the first match:
    so a path starting with a template (``/{tenant}/...``) need not visit every other path.
    """
    # literal_from[i]: a literal is at i or later, so this path can still be the more literal one.
    literal_from = [False] * (len(segments) + 1)
    for i in range(len(segments) - 1, -1, -1):
        literal_from[i] = segments[i] is not None or literal_from[i + 1]
    best: int | None = None
    # One iterator of branches per level of the walk: the depth is the stack's height.
    stack = [_branches(trie, segments[0], False, False)]
    while stack:
        branch = next(stack[-1], None)
        if branch is None or (best is not None and branch[0].first >= best):
            stack.pop()  # the branches come in document order: none left is earlier
            continue
        node, mine, theirs = branch
        depth = len(stack)
        if depth == len(segments):
            if mine and theirs:
                best = node.first
        elif mine or literal_from[depth]:
            stack.append(_branches(node, segments[depth], mine, theirs))
    return best


def _branches(
    node: _PathTrie, segment: str | None, mine: bool, theirs: bool
) -> Iterator[tuple[_PathTrie, bool, bool]]:
    """The children of ``node`` a path with ``segment`` there can share a URL with.

    Each comes with the two flags updated: ``mine``, this path has a literal where the other
    has a template; ``theirs``, the converse. Children are in document order (their ``first``).
    """
    if segment is None:  # a template matches every branch
        for key, child in node.children.items():
            yield child, mine, theirs or key is not None
        return
    same, template = node.children.get(segment), node.children.get(None)
    found = [(same, mine, theirs)] if same is not None else []
    if template is not None:
        found.append((template, True, theirs))
    yield from sorted(found, key=lambda branch: branch[0].first)


@rule(
    "path-params",
    "error",
    "Path template variables are declared as path parameters, and declared ones are used.",
)
def _path_params(ctx: LintContext) -> Iterator[Issue]:
    for path, pointer, _ in ctx.path_items:
        names = _TEMPLATE.findall(path)
        seen: set[str] = set()
        for name in names:
            if name in seen:
                yield Issue(pointer, f"path {path!r} uses {{{name}}} twice; rename one")
            seen.add(name)
    for operation in ctx.operations:
        if operation.kind == "callback":
            continue
        variables = set(_TEMPLATE.findall(operation.path))
        declared: dict[str, str] = {}
        for at, parameter in operation.parameters:
            if parameter.get("in") == "path":
                name = str(parameter.get("name"))
                declared[name] = at
                if name not in variables:
                    yield Issue(
                        at,
                        f"path parameter {name!r} is not in the path {operation.path!r}; add "
                        f"{{{name}}} to the path or remove the parameter",
                    )
        for name in sorted(variables - set(declared)):
            if name:
                yield Issue(
                    operation.pointer,
                    f"{operation.label}: {{{name}}} is not declared; add a parameter with "
                    f"name: {name}, in: path, required: true",
                )


@rule(
    "operation-parameters",
    "warning",
    "An operation or path item does not declare the same parameter (name and in) twice.",
)
def _operation_parameters(ctx: LintContext) -> Iterator[Issue]:
    lists: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for operation in ctx.operations:
        lists[operation.pointer] = operation.own_parameters
        if operation.path_parameters:
            first = operation.path_parameters[0][0]
            lists.setdefault(first.rsplit("/", 2)[0], operation.path_parameters)
    for parameters in lists.values():
        seen: dict[tuple[str, str], str] = {}
        for at, parameter in parameters:
            where = str(parameter.get("in"))
            name = str(parameter.get("name"))
            key = (name.lower() if where == "header" else name, where)
            if key in seen:
                yield Issue(
                    at,
                    f"parameter {name!r} in {where} is already declared at {seen[key]}; remove one",
                )
            else:
                seen[key] = at

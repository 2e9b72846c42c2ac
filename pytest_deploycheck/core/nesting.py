"""How deep a parsed document nests, measured without recursion.

Parsers and the code that walks a document recurse once per level, so a document nested
thousands of levels deep (a mistake, or an attack) would end in a ``RecursionError``. The
loaders measure the depth first, with an explicit stack, and refuse what is too deep.
"""

from __future__ import annotations

from typing import Any

__all__ = ["too_deep"]


def too_deep(document: Any, limit: int) -> list[str | int] | None:
    """The path of a node nested deeper than ``limit`` levels in ``document`` (lists and
    mappings), or None when it nests no deeper."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if len(path) >= limit:
            return path
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((item, [*path, key]) for key, item in items if isinstance(item, dict | list))
    return None

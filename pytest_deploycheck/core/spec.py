"""Loading an OpenAPI document and walking its operations.

``load_spec`` reads YAML or JSON and bundles references to other local files into one
document, so the rest of the package sees only ``#/...`` references. Content from another file
is inlined where it is first referenced (``components`` first, so shared definitions land
there); later references to it, and references inside it, are rewritten to point at that place.
Recursive definitions therefore stay recursive, and only a chain of references that never
reaches content (``a -> b -> a``) is reported as a cycle.

Errors point at ``file:line``. The line of a JSON pointer is computed only when asked for
(``Spec.locate``): a valid document pays nothing for it but one read of a JSON file's text,
which lint does before building its index (``Spec.read_json_text``) and drops when no
finding needs it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from .errors import SpecError, shorten
from .nesting import too_deep
from .spec_text import ENCODING, JsonLines, LineIndex, Loader, YamlLines, shared_strings

__all__ = [
    "HTTP_METHODS",
    "Operation",
    "Spec",
    "format_pointer",
    "load_spec",
    "parse_pointer",
    "resolve_pointer",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# A $ref whose value does not start with '#': only then is a bundling walk needed. A key that
# ends in "$ref" and holds a mapping or a list is no reference (OData paths such as
# "/users/{id}/manager/$ref"): matching those would walk a whole large document for nothing.
_EXTERNAL_REF = re.compile(r"""\$ref["']?\s*+:\s*+(?!["']?#|[{\[])""")
# Far deeper than any real document, and shallow enough for the code that walks one.
MAX_SPEC_DEPTH = 256


# --- JSON pointers -------------------------------------------------------------------------


def format_pointer(tokens: Iterable[str | int]) -> str:
    """``["paths", "/users", "get"]`` -> ``#/paths/~1users/get`` (RFC 6901, as a fragment)."""
    return "#" + "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def parse_pointer(pointer: str, *, uri_fragment: bool = False) -> list[str]:
    """``#/paths/~1users/get`` -> ``["paths", "/users", "get"]``; the inverse of format_pointer.

    With ``uri_fragment`` the tokens are percent-decoded first, as in a ``$ref``.
    """
    body = pointer[1:] if pointer.startswith("#") else pointer
    if not body:
        return []
    if not body.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '#/' or '/' (got {pointer!r})")
    raw = body[1:].split("/")
    if uri_fragment and "%" in body:
        raw = [unquote(token) for token in raw]
        body = "/".join(raw)
    if "~" not in body:
        return raw
    return [token.replace("~1", "/").replace("~0", "~") for token in raw]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _walk_tokens(document: Any, tokens: Iterable[str]) -> tuple[bool, Any, str]:
    """Follow ``tokens``; return (found, node, first missing token)."""
    node = document
    for token in tokens:
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, node, token
    return True, node, ""


def resolve_pointer(document: Any, ref: str, source: str = "<spec>") -> Any:
    """Return the node ``ref`` (``#/components/schemas/X``) points at in ``document``."""
    if not ref.startswith("#"):
        raise SpecError(f"{source}: $ref {ref!r} points outside the document")
    try:
        tokens = parse_pointer(ref, uri_fragment=True)
    except ValueError:
        raise SpecError(f"{source}: $ref {ref!r} is not a JSON pointer such as '#/a/b'") from None
    found, node, missing = _walk_tokens(document, tokens)
    if not found:
        raise SpecError(f"{source}: $ref {ref!r} does not resolve (no {missing!r})")
    return node


# --- reading files -------------------------------------------------------------------------


@dataclass
class _Source:
    """One file of the document: where it is, how to name it, and how it was parsed."""

    path: Path
    display: str
    is_json: bool
    # YAML text is kept from loading, for line numbers. JSON is read again when a line is
    # asked for, one byte a character: a large document (Microsoft Graph's, 47 MB) holds
    # non-ASCII text, which Python would keep at two bytes a character for the whole run.
    text: str | None = field(default=None, repr=False)
    lines: LineIndex | None = None

    def lines_of(self, paths: list[list[str]]) -> list[int]:
        if self.lines is None:
            if self.is_json:
                self.lines = JsonLines.of_file(self.path)
            else:
                text = self.text if self.text is not None else self.path.read_text(ENCODING)
                self.lines = YamlLines(text)
            self.text = None
        return self.lines.lines_of(paths)

    def line_of(self, tokens: list[str]) -> int:
        return self.lines_of([tokens])[0]


def _read_text(path: Path, display: str, referrer: Callable[[], str] | None) -> str:
    display = shorten(display, 200)
    try:
        return path.read_text(encoding=ENCODING)
    except FileNotFoundError:
        if referrer is None:
            raise SpecError(
                f"spec file {display!r} does not exist; set 'spec' in the config to the "
                "OpenAPI document's path"
            ) from None
        raise SpecError(
            f"{referrer()}: $ref points to {display!r}, which does not exist; fix the path "
            "(it is relative to the file that holds the $ref)"
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{display}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {display!r}: {exc.strerror}") from None
    except ValueError:  # a NUL character in the path
        raise SpecError(f"spec file {display!r}: a path cannot hold a NUL character") from None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing makes millions of objects and never a reference cycle: the cyclic garbage
    collector, run again and again as they pile up, would walk the growing document for
    nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def _parse(text: str, display: str, suffix: str) -> tuple[Any, bool, list[tuple[int, str]]]:
    """Parse JSON or YAML text; return (data, was JSON, duplicate YAML keys as (line, key))."""
    try:
        parsed = _parse_text(text, display, suffix)
    except RecursionError:
        parsed = None  # the parser's own recursion gave out: deeper than any limit below
    deepest = too_deep(parsed[0], MAX_SPEC_DEPTH) if parsed is not None else []
    if parsed is None or deepest is not None:
        where = f" (at {shorten(format_pointer(deepest), 120)})" if deepest else ""
        raise SpecError(
            f"{display}: nested more than {MAX_SPEC_DEPTH} levels deep{where}; no OpenAPI "
            "document goes that deep: flatten it, with $ref to components"
        )
    return parsed


def _parse_text(text: str, display: str, suffix: str) -> tuple[Any, bool, list[tuple[int, str]]]:
    looks_json = suffix == ".json" or text.lstrip()[:1] in ("{", "[")
    if looks_json:
        try:
            return json.loads(text, object_hook=shared_strings()), True, []
        except json.JSONDecodeError as exc:
            if suffix == ".json":
                raise SpecError(
                    f"{display}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}; fix the "
                    "syntax there"
                ) from None
    loader = Loader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise SpecError(f"{where}: invalid YAML: {detail}; fix the syntax there") from None
    finally:
        loader.dispose()
    return data, False, loader.duplicates


# --- the document --------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One method on one path, with its parameters already resolved and merged."""

    method: str
    path: str
    definition: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]
    pointer: str

    @property
    def label(self) -> str:
        """``GET /appointments/{appointment_id}``: the id used in node ids and reports."""
        return f"{self.method.upper()} {self.path}"

    @property
    def operation_id(self) -> str | None:
        """The ``operationId``, when the operation has one."""
        value = self.definition.get("operationId")
        return value if isinstance(value, str) else None

    def documents(self, status: int) -> bool:
        """True when the operation's responses document ``status`` or its range (``4XX``)."""
        responses = self.definition.get("responses")
        keys = {str(key).upper() for key in responses} if isinstance(responses, Mapping) else set()
        return str(status) in keys or f"{str(status)[0]}XX" in keys


@dataclass
class Spec:
    """An OpenAPI document with helpers to resolve references, list operations and locate nodes.

    ``document`` holds only local (``#/...``) references. ``locate`` turns a JSON pointer into
    ``file:line``, following nodes that were inlined from other files back to their file.
    """

    document: dict[str, Any]
    source: Path | None = None
    _operations: list[Operation] | None = field(default=None, repr=False)
    _sources: dict[Path, _Source] = field(default_factory=dict, repr=False)
    _origins: list[tuple[list[str], Path, list[str]]] = field(default_factory=list, repr=False)
    _duplicates: list[tuple[str, str]] = field(default_factory=list, repr=False)
    # Facts derived from the document once (the lint index): reset it after editing `document`.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def version(self) -> str:
        """The ``openapi`` field, such as ``3.1.0``."""
        return str(self.document.get("openapi", ""))

    @property
    def name(self) -> str:
        """The path the document was loaded from, for messages."""
        return str(self.source) if self.source else "<spec>"

    @property
    def files(self) -> list[str]:
        """Every file the document was read from, the root first, as shown in messages."""
        return [source.display for source in self._sources.values()] or [self.name]

    @property
    def duplicate_keys(self) -> list[tuple[str, str]]:
        """YAML keys written twice in one mapping, as (``file:line``, key); the last one won."""
        return list(self._duplicates)

    def locate(self, pointer: str) -> str:
        """``#/paths/~1users/get/responses`` -> ``specs/api.yaml:42``.

        A pointer into content inlined from another file locates into that file. A pointer to
        a node that does not exist gives the line of its deepest existing parent.
        """
        return self.locate_many([pointer])[pointer]

    def read_json_text(self) -> None:
        """Read the text of the JSON files now, for ``locate`` later.

        Reading takes twice a file's size for a moment: a caller about to build much from
        the document (the lint index) does it first, while less is held. YAML, whose
        line index is a node graph, is still read only when a line is asked for.
        """
        for source in self._sources.values():
            if source.is_json and source.lines is None:
                with contextlib.suppress(OSError):  # file gone: locate says so later
                    source.lines = JsonLines.of_file(source.path)

    def forget_text(self) -> None:
        """Drop what ``read_json_text`` or ``locate`` read; ``locate`` reads it again."""
        for source in self._sources.values():
            if source.is_json:
                source.lines = None

    def locate_many(self, pointers: Iterable[str]) -> dict[str, str]:
        """``locate`` for many pointers at once, much faster than one by one in big JSON."""
        wanted = list(dict.fromkeys(pointers))
        if not self._sources:
            where = self.name if self.source is None else f"{self.name}:1"
            return dict.fromkeys(wanted, where)
        by_source: dict[Path, list[tuple[str, list[str]]]] = {}
        for pointer in wanted:
            path, inner = self._origin(pointer)
            by_source.setdefault(path, []).append((pointer, inner))
        located: dict[str, str] = {}
        for path, items in by_source.items():
            source = self._sources[path]
            try:
                lines = source.lines_of([inner for _, inner in items])
            except (OSError, UnicodeDecodeError, yaml.YAMLError):  # file changed or vanished
                lines = [1] * len(items)
            for (pointer, _), line in zip(items, lines, strict=True):
                located[pointer] = f"{source.display}:{line}"
        return located

    def _origin(self, pointer: str) -> tuple[Path, list[str]]:
        """The file a bundle pointer's node came from, and its tokens in that file."""
        try:
            tokens = parse_pointer(pointer)
        except ValueError:
            tokens = []
        best: tuple[list[str], Path, list[str]] | None = None
        for origin in self._origins:
            prefix = origin[0]
            if tokens[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[0])):
                best = origin
        if best is None:
            return next(iter(self._sources)), tokens
        return best[1], best[2] + tokens[len(best[0]) :]

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref`` until a node without one; raise SpecError on a dangling one."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"{self.name}: circular $ref {ref!r}")
            seen.add(ref)
            node = resolve_pointer(self.document, ref, self.name)
        return node

    def component_schema(self, name: str) -> Mapping[str, Any] | None:
        """The schema ``components.schemas[name]`` with its references followed, or None."""
        components = self.document.get("components")
        schemas = components.get("schemas") if isinstance(components, Mapping) else None
        schema = schemas.get(name) if isinstance(schemas, Mapping) else None
        return self.resolve(schema) if schema is not None else None

    @property
    def operations(self) -> list[Operation]:
        """Every operation under ``paths``, in document order."""
        if self._operations is None:
            self._operations = list(self._iter_operations())
        return self._operations

    def _iter_operations(self) -> Iterator[Operation]:
        paths = self.document.get("paths") or {}
        if not isinstance(paths, Mapping):
            return
        for path, raw_item in paths.items():
            item = self.resolve(raw_item)
            if not isinstance(item, Mapping):
                continue
            shared = [self.resolve(p) for p in _as_list(item.get("parameters"))]
            for method in HTTP_METHODS:
                definition = item.get(method)
                if not isinstance(definition, Mapping):
                    continue
                own = [self.resolve(p) for p in _as_list(definition.get("parameters"))]
                merged: dict[tuple[str, str], Mapping[str, Any]] = {}
                for parameter in [*shared, *own]:
                    if isinstance(parameter, Mapping):
                        key = (str(parameter.get("name")), str(parameter.get("in")))
                        merged[key] = parameter
                pointer = "#/paths/" + _escape(path) + "/" + method
                yield Operation(method, path, definition, tuple(merged.values()), pointer)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- bundling ------------------------------------------------------------------------------


class _Bundler:
    """Inline references to other files into the root document (see the module docstring)."""

    def __init__(self, spec: Spec, root: Path) -> None:
        self.spec = spec
        self.root = root
        self.documents: dict[Path, Any] = {}
        self.placed: dict[int, list[str]] = {}  # id(node from another file) -> bundle tokens
        self.keep: list[Any] = []  # nodes whose id() is in `placed` must stay alive

    def display(self, path: Path) -> str:
        source = self.spec.source or Path(self.root.name)
        relative = os.path.relpath(path, self.root.parent)
        return os.path.normpath(source.parent / relative)

    def add_source(
        self, path: Path, text: str, is_json: bool, duplicates: list[tuple[int, str]]
    ) -> None:
        display = self.display(path) if path != self.root else str(self.spec.source)
        kept = None if is_json else text  # JSON is read again when a line is asked for
        self.spec._sources[path] = _Source(path, display, is_json, kept)
        self.spec._duplicates.extend((f"{display}:{line}", key) for line, key in duplicates)

    def document(self, path: Path, referrer: Callable[[], str]) -> Any:
        if path not in self.documents:
            display = self.display(path)
            text = _read_text(path, display, referrer)
            data, is_json, duplicates = _parse(text, display, path.suffix.lower())
            self.documents[path] = data
            self.add_source(path, text, is_json, duplicates)
        return self.documents[path]

    def where(self, path: Path, tokens: list[str]) -> str:
        source = self.spec._sources[path]
        try:
            return f"{source.display}:{source.line_of(tokens)}"
        except (OSError, yaml.YAMLError):
            return source.display

    def bundle(self, document: dict[str, Any]) -> None:
        self.documents[self.root] = document
        self.reserve_components(document)
        # Components first, so content shared through them is inlined there.
        for key in sorted(document, key=lambda k: k != "components"):
            document[key] = self.walk(document[key], self.root, [key], [key])

    def walk(self, node: Any, path: Path, tokens: list[str], own: list[str]) -> Any:
        """Rewrite references below ``node`` (at ``tokens`` in the bundle, ``own`` in its file)."""
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, dict | list):
                    step = str(index)
                    new = self.walk(item, path, [*tokens, step], [*own, step])
                    if new is not item:
                        node[index] = new
            return node
        if not isinstance(node, dict):
            return node
        if path != self.root:
            placed = self.placed.get(id(node))
            if placed is not None and placed != tokens:
                return {"$ref": format_pointer(placed)}
            self.placed[id(node)] = tokens
            self.keep.append(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self.reference(node, ref, path, tokens, own)
        for key, value in node.items():
            if isinstance(value, dict | list):
                new = self.walk(value, path, [*tokens, key], [*own, key])
                if new is not value:
                    node[key] = new
        return node

    def reference(
        self, node: dict[str, Any], ref: str, path: Path, tokens: list[str], own: list[str]
    ) -> Any:
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        found = self.follow(ref, path, own)
        if isinstance(found, str):  # a reference into the root document
            if found == ref and path == self.root:
                return node
            return {"$ref": found, **siblings}
        target_path, target_tokens, target = found
        placed = self.placed.get(id(target)) if isinstance(target, dict) else None
        if placed is not None and placed != tokens:
            return {"$ref": format_pointer(placed), **siblings}
        if siblings and isinstance(target, dict):
            # A Reference Object's summary/description override those of the target.
            self.placed[id(target)] = tokens
            self.keep.append(target)
            target = {**target, **siblings}
        self.spec._origins.append((tokens, target_path, target_tokens))
        return self.walk(target, target_path, tokens, target_tokens)

    def follow(self, ref: str, path: Path, own: list[str]) -> str | tuple[Path, list[str], Any]:
        """Follow ``ref`` through other files to content: (file, tokens, node), or a local ref."""
        chain: list[str] = []
        current, current_path, current_own = ref, path, own
        while True:
            referrer = functools.partial(self.where, current_path, [*current_own, "$ref"])
            target_path, fragment = self.split(current, current_path, referrer)
            if target_path == self.root:
                return "#" + fragment
            document = self.document(target_path, referrer)
            try:
                target_tokens = parse_pointer(fragment, uri_fragment=True)
            except ValueError:
                raise SpecError(
                    f"{referrer()}: $ref {current!r} has a fragment that is not a JSON pointer; "
                    "write it as 'file.yaml#/path/to/node'"
                ) from None
            found, target, missing = _walk_tokens(document, target_tokens)
            if not found:
                raise SpecError(
                    f"{referrer()}: $ref {current!r} does not resolve: "
                    f"{self.display(target_path)} has no {missing!r} there; fix the pointer"
                )
            label = f"{self.display(target_path)}#{fragment}"
            if label in chain:
                cycle = " -> ".join([*chain, label])
                raise SpecError(
                    f"{referrer()}: circular $ref: {cycle}; one of them must point at content"
                )
            chain.append(label)
            if (
                isinstance(target, dict)
                and isinstance(target.get("$ref"), str)
                and id(target) not in self.placed
            ):
                current, current_path, current_own = target["$ref"], target_path, target_tokens
                continue
            return target_path, target_tokens, target

    def reserve_components(self, document: dict[str, Any]) -> None:
        """Claim ``components/<kind>/<name>`` as the home of the file content it refers to."""
        components = document.get("components")
        if not isinstance(components, dict):
            return
        for kind, entries in components.items():
            if not isinstance(entries, dict):
                continue
            for name, entry in entries.items():
                ref = entry.get("$ref") if isinstance(entry, dict) else None
                if isinstance(ref, str) and not ref.startswith("#"):
                    found = self.follow(ref, self.root, ["components", kind, name])
                    if not isinstance(found, str) and isinstance(found[2], dict):
                        self.placed.setdefault(id(found[2]), ["components", kind, name])
                        self.keep.append(found[2])

    def split(self, ref: str, base: Path, referrer: Callable[[], str]) -> tuple[Path, str]:
        file_part, _, fragment = ref.partition("#")
        if not file_part:
            return base, fragment
        if "://" in file_part or file_part.startswith("//"):
            raise SpecError(
                f"{referrer()}: remote $ref {ref!r} is not supported; download the file next to "
                "the spec and refer to it by a relative path"
            )
        return (base.parent / unquote(file_part)).resolve(), fragment


def load_spec(path: str | Path) -> Spec:
    """Read an OpenAPI document from YAML or JSON, inlining references to other files.

    Raises SpecError, naming ``file:line`` and the fix, when a file cannot be read or parsed,
    when a reference to another file does not resolve, or when the document is not OpenAPI.
    References inside the document (``#/...``) are left as they are; ``validate_document`` in
    ``lint`` reports those that dangle, all at once.
    """
    source = Path(path)
    root = source.resolve()
    text = _read_text(root, str(source), None)
    document, is_json, duplicates = _parse(text, str(source), source.suffix.lower())
    if document is None:
        raise SpecError(f"{source}: the file is empty; write an OpenAPI document in it")
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else f"a {type(document).__name__}"
        raise SpecError(
            f"{source}:1: an OpenAPI document must be a mapping at the top level (got {kind})"
        )
    if "openapi" not in document:
        if "swagger" in document:
            raise SpecError(
                f"{source}:1: this is a Swagger {document['swagger']} document; convert it to "
                "OpenAPI 3 (for example with swagger2openapi) and point 'spec' at the result"
            )
        raise SpecError(
            f"{source}:1: no 'openapi' field, so this is not an OpenAPI document; add "
            "'openapi: 3.1.0' (or 3.0.3) at the top"
        )
    spec = Spec(document=document, source=source)
    bundler = _Bundler(spec, root)
    bundler.add_source(root, text, is_json, duplicates)
    if _EXTERNAL_REF.search(text):
        bundler.bundle(document)
    return spec

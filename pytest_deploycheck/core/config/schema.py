"""The configuration's JSON Schema, as shipped in ``schemas/``.

The schema is one top-level file that refers to one file per section
(``sections/<name>.json``), with shared types in ``sections/common.json``. Editors follow the
relative ``$ref``; the loader serves the same files from a ``referencing.Registry``;
``schema_document()`` bundles them into one self-contained document.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from pytest_deploycheck.core.units import duration_seconds, percent_fraction, size_bytes

__all__ = [
    "SCHEMA_FILENAME",
    "SCHEMA_ID",
    "SECTIONS",
    "resolve",
    "retired_keys",
    "schema_document",
    "schema_registry",
    "validator",
]

SCHEMA_FILENAME = "deployment-config.schema.json"
# The files on disk carry no $id: an editor would take it as the base of their relative
# $ref and try to download the sections from a host that serves nothing. The loader and the
# bundled document use this URI instead.
SCHEMA_ID = "https://pytest-deploycheck.dev/schemas/deployment-config.schema.json"
_BASE_URI = SCHEMA_ID.rsplit("/", 1)[0] + "/"
_SECTIONS_URI = _BASE_URI + "sections/"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"

SECTIONS = (
    "service",
    "spec",
    "target",
    "health",
    "availability",
    "static_analysis",
    "env",
    "bundle",
    "openapi",
    "breaking",
    "migrations",
    "database",
    "models",
    "contract",
    "smoke",
    "performance",
    "drift",
    "tls",
    "scoring",
    "history",
    "collect",
    "monitor",
    "notify",
    "rollback",
)


def _schema_folder() -> Traversable:
    return files("pytest_deploycheck") / "schemas"


def _read_schema_files(folder: Traversable) -> dict[str, Any]:
    """Every schema file under ``folder`` by its relative name, missing sections stubbed."""
    documents: dict[str, Any] = {
        SCHEMA_FILENAME: json.loads((folder / SCHEMA_FILENAME).read_text("utf-8"))
    }
    sections = folder / "sections"
    present = {entry.name for entry in sections.iterdir()} if sections.is_dir() else set()
    for name in sorted(present):
        if name.endswith(".json"):
            text = (sections / name).read_text("utf-8")
            documents[f"sections/{name}"] = json.loads(text)
    for section in SECTIONS:
        # A section whose schema is not written yet accepts any object rather than breaking
        # every config; the stub says so to anyone who prints the schema.
        documents.setdefault(
            f"sections/{section}.json",
            {
                "title": section,
                "description": f"No schema ships for the {section!r} section yet: "
                "any object is accepted.",
                "type": "object",
            },
        )
    return documents


@cache
def _schema_documents() -> Mapping[str, Any]:
    return MappingProxyType(_read_schema_files(_schema_folder()))


def schema_registry(documents: Mapping[str, Any] | None = None) -> Registry[Any]:
    """A registry serving the schema files under their URIs (``.../sections/target.json``)."""
    documents = _schema_documents() if documents is None else documents
    resources = [
        (_BASE_URI + name, Resource.from_contents(document, default_specification=DRAFT202012))
        for name, document in documents.items()
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    return registry.crawl()


@cache
def _registry() -> Registry[Any]:
    # Without their "$schema": jsonschema would validate below a file that names its dialect
    # with the stock validator for it, which lacks this schema's own keywords (maxDuration).
    documents = {
        name: {key: value for key, value in document.items() if key != "$schema"}
        for name, document in _schema_documents().items()
    }
    return schema_registry(documents)


def _at_most(
    measure: Callable[[Any], float], unit: str
) -> Callable[[Any, Any, Any, Any], Iterator[ValidationError]]:
    """A keyword that bounds a quantity written with units, as ``maxDuration: "30d"`` does:
    JSON Schema's ``maximum`` only compares numbers."""

    def keyword(
        _validator: Any, limit: Any, instance: Any, _schema: Any
    ) -> Iterator[ValidationError]:
        if isinstance(instance, bool) or not isinstance(instance, str | int | float):
            return
        try:
            value = measure(instance)
        except ValueError:
            return  # not a quantity at all: "pattern" or "type" says so
        if value > measure(limit):
            yield ValidationError(f"must be a {unit} of at most {limit}")

    return keyword


# The schema's own keywords, which editors ignore: a quantity's upper bound in its units.
_Validator = validators.extend(  # type: ignore[no-untyped-call]  # untyped in jsonschema
    Draft202012Validator,
    {
        "maxDuration": _at_most(duration_seconds, "duration"),
        "maxSize": _at_most(size_bytes, "size"),
        "maxPercent": _at_most(percent_fraction, "percentage"),
    },
)


@cache
def retired_keys(section: str) -> Mapping[str, str]:
    """The keys of ``section`` that earlier versions took, each with what to do instead (the
    section's ``x-retired``)."""
    retired = _schema_documents().get(f"sections/{section}.json", {}).get("x-retired", {})
    return {key: text for key, text in retired.items() if isinstance(text, str)}


def validator() -> Draft202012Validator:
    top = {**_schema_documents()[SCHEMA_FILENAME], "$id": SCHEMA_ID}
    instance: Draft202012Validator = _Validator(top, registry=_registry())
    return instance


def schema_document(bundled: bool = True) -> dict[str, Any]:
    """The configuration's JSON Schema.

    Bundled, it is one self-contained document: every section file (and ``common.json``)
    becomes an entry of ``$defs`` and every ``$ref`` a local ``#/$defs/...`` pointer, so any
    tool can use it without the other files. Otherwise it is the top-level file as shipped,
    whose ``$ref`` name the section files next to it.
    """
    documents = _schema_documents()
    if not bundled:
        return copy.deepcopy(dict(documents[SCHEMA_FILENAME]))
    return _bundle(documents)


def _bundle(documents: Mapping[str, Any]) -> dict[str, Any]:
    locations = {_BASE_URI + SCHEMA_FILENAME: "#"}
    for name in documents:
        if name.startswith("sections/"):
            locations[_BASE_URI + name] = "#/$defs/" + name.removeprefix("sections/").removesuffix(
                ".json"
            )

    def relocate(ref: str, base: str) -> str:
        target, fragment = urldefrag(urljoin(base, ref))
        if target not in locations or (fragment and not fragment.startswith("/")):
            return ref  # not one of ours, or a named anchor: leave it as written
        where = locations[target]
        return where + fragment if where != "#" else "#" + fragment

    def rewrite(node: Any, base: str) -> Any:
        if isinstance(node, dict):
            result: dict[str, Any] = {}
            for key, item in node.items():
                if key == "$ref" and isinstance(item, str):
                    result[key] = relocate(item, base)
                elif key in ("default", "examples", "const", "enum"):
                    result[key] = copy.deepcopy(item)  # instance data, not schemas
                else:
                    result[key] = rewrite(item, base)
            return result
        if isinstance(node, list):
            return [rewrite(item, base) for item in node]
        return node

    top = rewrite(documents[SCHEMA_FILENAME], _BASE_URI + SCHEMA_FILENAME)
    defs: dict[str, Any] = {}
    # sections in the order of SECTIONS, then common.json and any other shared file
    rank = {f"sections/{section}.json": index for index, section in enumerate(SECTIONS)}
    for name in sorted(documents, key=lambda name: (rank.get(name, len(rank)), name)):
        document = documents[name]
        if name.startswith("sections/"):
            embedded = rewrite(document, _BASE_URI + name)
            embedded.pop("$schema", None)
            embedded.pop("$id", None)
            defs[name.removeprefix("sections/").removesuffix(".json")] = embedded
    bundled = {"$schema": top.pop("$schema", _DIALECT), "$id": SCHEMA_ID, **top}
    bundled["$defs"] = {**top.get("$defs", {}), **defs}
    return bundled


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` merged with the target of its ``$ref``, to describe it in words."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    resolver = _registry().resolver()
    for base in (_SECTIONS_URI, _BASE_URI):
        try:
            target = resolver.lookup(urljoin(base, ref)).contents
        except Unresolvable:
            continue
        if isinstance(target, Mapping):
            own = {key: value for key, value in schema.items() if key != "$ref"}
            return {**resolve(target), **own}
    return schema

"""The JSON Schema of one section of deployment-config.json, as a validator of its own."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


def section_validator(name: str) -> Draft202012Validator:
    """A validator for ``schemas/sections/{name}.json`` alone (with the shared definitions),
    after checking that the schema itself is valid Draft 2020-12."""
    folder = files("pytest_deploycheck") / "schemas" / "sections"
    base = "https://deploycheck.invalid/sections/"
    registry: Registry[Any] = Registry().with_resources(
        (base + file, Resource.from_contents(json.loads((folder / file).read_text("utf-8"))))
        for file in (f"{name}.json", "common.json")
    )
    schema = json.loads((folder / f"{name}.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator({"$ref": base + f"{name}.json"}, registry=registry)

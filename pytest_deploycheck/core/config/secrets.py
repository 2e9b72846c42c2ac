"""Secret detection: the values of a config that must never be shown."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pytest_deploycheck.core.redaction import DEFAULT_SENSITIVE_HEADERS, looks_secret

from .interpolation import Substitution
from .problems import KeyPath

__all__ = ["collect_secrets", "is_secret_slot"]

_CREDENTIAL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9_-]*\s+)?(?P<credential>\S.*?)\s*$")


def collect_secrets(
    data: Any, substitutions: Sequence[Substitution], environ: Mapping[str, str]
) -> frozenset[str]:
    """The values that must never be shown: see ``Config.secrets``."""
    marked = set(_marked_secret_variables(data))
    secrets: set[str] = set()
    for substitution in substitutions:
        if (
            looks_secret(substitution.variable)
            or substitution.variable in marked
            or substitution.path[:2] == ("target", "headers")
        ):
            secrets.add(substitution.value)
    secrets.update(environ[name] for name in marked if environ.get(name))
    for path, value in _strings(data):
        last = path[-1] if path else ""
        parent = path[-2] if len(path) > 1 else ""
        if is_secret_slot(path):
            secrets.add(value)
            match = _CREDENTIAL.match(value)
            if parent == "headers" and match:
                secrets.add(match.group("credential"))
        elif path[:2] == ("notify", "channels") and last == "url":
            secrets.add(value)  # an Apprise URL carries the channel's token
        if "://" in value:
            password = _url_password(value)
            if password:
                secrets.add(password)
    return frozenset(secret for secret in secrets if secret)


def is_secret_slot(path: KeyPath) -> bool:
    """Whether ``path`` names a credential header or a secret-looking environment variable."""
    if len(path) < 2 or not isinstance(path[-1], str):
        return False
    name, parent = path[-1], path[-2]
    if parent == "headers":
        return name.lower() in DEFAULT_SENSITIVE_HEADERS or looks_secret(name)
    return parent == "env" and looks_secret(name)


def _marked_secret_variables(data: Any) -> Iterator[str]:
    """Names in ``env.variables`` marked secret, or secret by name when not marked."""
    env = data.get("env") if isinstance(data, Mapping) else None
    variables = env.get("variables") if isinstance(env, Mapping) else None
    if not isinstance(variables, Mapping):
        return
    for name, options in variables.items():
        marked = options.get("secret") if isinstance(options, Mapping) else None
        if marked is True or (marked is None and looks_secret(str(name))):
            yield str(name)


def _strings(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, item in node.items():
            yield from _strings(item, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, (*path, index))


def _url_password(text: str) -> str | None:
    try:
        return urlsplit(text.strip()).password
    except ValueError:
        return None

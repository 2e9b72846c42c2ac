"""The loaded ``Config``, with the schema's defaults applied, and ``LocalTarget``."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_deploycheck.core.bounds import Bounds
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.units import parse_duration

__all__ = ["Config", "LocalTarget", "substitute"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def substitute(argv: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``{port}``, ``{host}`` and ``{python}`` in each argument."""
    result = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        result.append(arg)
    return result


@dataclass(frozen=True)
class LocalTarget:
    """How to start the service locally: ``target.local`` with its defaults applied."""

    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/health"
    ready_timeout: float = 30.0
    base_path: str | None = None

    def argv(self, host: str, port: int, python: str = sys.executable) -> list[str]:
        """The command with ``{host}``, ``{port}`` and ``{python}`` filled in."""
        return substitute(self.command, {"host": host, "port": str(port), "python": python})


@dataclass(frozen=True)
class Config:
    """A validated, interpolated ``deployment-config.json``.

    ``raw`` is the document after interpolation, without defaults; the properties apply the
    schema's defaults. ``secrets`` holds every value to keep out of output: values brought in
    from a variable whose name looks secret (TOKEN, SECRET, PASSWORD, KEY, AUTH, COOKIE, ...),
    or into a ``target.headers`` value, or marked ``secret`` in ``env.variables``; credential
    headers and secret-looking ``env`` entries written literally; notification URLs; and
    passwords in URLs.
    """

    raw: Mapping[str, Any]
    root: Path
    path: Path
    secrets: frozenset[str] = frozenset()

    def section(self, name: str) -> Mapping[str, Any]:
        """The section called ``name`` as written (empty when absent)."""
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else _EMPTY

    @property
    def redactor(self) -> Redactor:
        """A redactor for this config's secrets."""
        return Redactor(self.secrets)

    # service

    @property
    def service_name(self) -> str:
        """``service.name``, else the name of the folder holding the config."""
        return str(self.section("service").get("name") or self.root.name)

    @property
    def environment(self) -> str:
        return str(self.section("service").get("environment", "production"))

    # spec

    @property
    def spec_path(self) -> Path:
        """The OpenAPI document, resolved against the config's folder."""
        spec = self.raw.get("spec")
        location = spec.get("path") if isinstance(spec, Mapping) else spec
        if not isinstance(location, str) or not location:
            raise ConfigError(
                ['spec: not set; name the OpenAPI document, such as "spec": "specs/api.yaml"'],
                source=str(self.path),
            )
        return self.root / location

    @property
    def spec_served_path(self) -> str | None:
        """Where the deployed service serves its spec (``spec.served_path``), if anywhere."""
        spec = self.raw.get("spec")
        served = spec.get("served_path") if isinstance(spec, Mapping) else None
        return str(served) if served else None

    # target

    @property
    def base_url(self) -> str | None:
        """``target.base_url``; an empty string (an unset ``${VAR:-}``) means none."""
        value = self.section("target").get("base_url")
        if value is None:
            return None
        return str(value).strip() or None

    @property
    def headers(self) -> Mapping[str, str]:
        return {str(k): str(v) for k, v in (self.section("target").get("headers") or {}).items()}

    @property
    def timeout(self) -> float:
        """``target.timeout`` in seconds."""
        return parse_duration(self.section("target").get("timeout", "10s"))

    @property
    def bounds(self) -> Bounds:
        """``target.timeout``, ``max_body`` and ``max_redirects``: what one request may take."""
        return Bounds.from_target(self.section("target"))

    @property
    def verify_tls(self) -> bool:
        return bool(self.section("target").get("verify_tls", True))

    @property
    def local(self) -> LocalTarget | None:
        """``target.local`` with its defaults, or None when the config has none."""
        local = self.section("target").get("local")
        if not isinstance(local, Mapping) or not local.get("command"):
            return None
        return LocalTarget(
            command=tuple(str(argument) for argument in local["command"]),
            cwd=self.root / str(local.get("cwd", ".")),
            env={str(k): str(v) for k, v in (local.get("env") or {}).items()},
            ready_path=str(local.get("ready_path", "/health")),
            ready_timeout=parse_duration(local.get("ready_timeout", "30s")),
            base_path=str(local["base_path"]) if "base_path" in local else None,
        )

    @property
    def local_command(self) -> tuple[str, ...] | None:
        """``target.local.command`` as written, placeholders included."""
        local = self.local
        return local.command if local else None

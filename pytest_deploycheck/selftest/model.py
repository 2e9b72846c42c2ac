"""The self-test's data: a fixture, the context its check runs in, and the case it makes.

A fixture is a known-good or known-bad input and how to check it (its ``Runner``); the
context is what the runners share; a ``Case`` is what one fixture came out as.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import httpx

from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.spec import Spec, load_spec

Expected = Literal["pass", "fail"]
Got = Literal["pass", "fail", "error"]
Runner = Callable[["_Context"], list[Finding]]

_TIMEOUT = 10.0  # seconds any one request of the self-test may take


@dataclass(frozen=True, slots=True)
class Case:
    """One fixture run through its check: what was expected, what came out, and why."""

    family: str
    fixture: str
    expected: Expected
    got: Got
    detail: str
    passed: bool
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The case as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Fixture:
    """A fixture and how to check it; a bad one names the rules that must catch it."""

    family: str
    name: str
    expected: Expected
    run: Runner
    rules: tuple[str, ...] = ()
    live: bool = False


@dataclass
class _Context:
    """What the fixtures' runners share: the fixture folder and the live service's URL."""

    fixtures: Path
    base_url: str | None = None

    @cached_property
    def spec(self) -> Spec:
        return load_spec(self.fixtures / "service.openapi.yaml")

    def url(self, mode: str) -> str:
        if self.base_url is None:  # a live fixture run without the server: a bug here
            raise RuntimeError("the self-test service is not running")
        return f"{self.base_url}/{mode}"

    def client(self, mode: str) -> httpx.Client:
        # trust_env off: a proxy configured for the outside world must not see 127.0.0.1
        return httpx.Client(base_url=self.url(mode), timeout=_TIMEOUT, trust_env=False)

"""pytest-deploycheck: a spec-driven deployment gate for HTTP APIs, in pytest."""

from __future__ import annotations

from pytest_deploycheck.core.errors import (
    ConfigError,
    DeployCheckError,
    HistoryError,
    NotificationError,
    RollbackError,
    SpecError,
    TargetError,
)
from pytest_deploycheck.core.findings import Finding, Severity

__all__ = [
    "ConfigError",
    "DeployCheckError",
    "Finding",
    "HistoryError",
    "NotificationError",
    "RollbackError",
    "Severity",
    "SpecError",
    "TargetError",
    "__version__",
]

__version__ = "0.1.0"

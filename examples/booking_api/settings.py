"""The service's settings, read from the environment once at start-up.

==========================  ================================================================
``BOOKING_DATABASE``        SQLite file, or ``:memory:`` (default: data lives as long as the
                            process)
``BOOKING_SEED``            ``0`` to start without the demo providers (default ``1``)
``BOOKING_FAULTS``          comma-separated fault switches (see ``faults.py``)
``BOOKING_FAULTS_FILE``     a file of fault switches, re-read on every request
``BOOKING_SLOW_MS``         how long the ``slow`` switch sleeps (default ``1500``)
``BOOKING_FAULT_SEED``      seed of the ``flaky`` and ``jitter`` switches (default ``7``)
``BOOKING_SPEC``            the OpenAPI file to serve (default: ``specs/booking.openapi.yaml``)
==========================  ================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .faults import FaultError, parse_faults

__all__ = ["DEFAULT_SPEC", "Settings", "SettingsError"]

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "specs" / "booking.openapi.yaml"


class SettingsError(ValueError):
    """An environment variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs to know about its environment."""

    database: str = ":memory:"
    seed: bool = True
    faults: frozenset[str] = field(default_factory=frozenset)
    faults_file: Path | None = None
    slow_ms: int = 1500
    fault_seed: int = 7
    spec: Path = DEFAULT_SPEC

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the ``BOOKING_*`` variables; SettingsError names the variable and the fix."""
        seed_text = environ.get("BOOKING_SEED", "1").strip()
        if seed_text not in ("0", "1"):
            raise SettingsError(f"BOOKING_SEED must be 0 or 1 (got {seed_text!r})")
        slow_text = environ.get("BOOKING_SLOW_MS", "1500").strip()
        if not slow_text.isdigit():
            raise SettingsError(
                f"BOOKING_SLOW_MS must be a whole number of milliseconds (got {slow_text!r})"
            )
        try:
            faults = parse_faults(environ.get("BOOKING_FAULTS", ""), "BOOKING_FAULTS")
        except FaultError as exc:
            raise SettingsError(str(exc)) from None
        fault_seed = environ.get("BOOKING_FAULT_SEED", "7").strip()
        if not fault_seed.isdigit():
            raise SettingsError(f"BOOKING_FAULT_SEED must be a whole number (got {fault_seed!r})")
        faults_file = environ.get("BOOKING_FAULTS_FILE", "").strip()
        spec = environ.get("BOOKING_SPEC", "").strip()
        return cls(
            database=environ.get("BOOKING_DATABASE", "").strip() or ":memory:",
            seed=seed_text == "1",
            faults=faults,
            faults_file=Path(faults_file) if faults_file else None,
            slow_ms=int(slow_text),
            fault_seed=int(fault_seed),
            spec=Path(spec) if spec else DEFAULT_SPEC,
        )

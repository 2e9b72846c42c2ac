"""The ``monitor`` section: interval, duration, probes and the alert policy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_deploycheck.after.alerts import AlertPolicy
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.units import parse_duration

__all__ = ["HEALTH_PROBE", "MonitorSettings"]

HEALTH_PROBE = "health"
_DEFAULTS: dict[str, Any] = {
    "interval": "60s",
    "duration": "30m",
    "watch": {"interval": "30s", "duration": "60m"},
    "probes": [HEALTH_PROBE],
    "timeout": "5s",
    "concurrency": 10,
    "resolve_after": 2,
    "remind_every": "15m",
}


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """The ``monitor`` section with its defaults applied; times in seconds."""

    interval: float = 60.0
    duration: float = 1800.0
    probes: tuple[str, ...] = (HEALTH_PROBE,)
    timeout: float = 5.0
    concurrency: int = 10
    policy: AlertPolicy = field(default_factory=AlertPolicy)

    @property
    def rounds(self) -> int:
        """How many rounds fit in the duration: one at 0, then one per interval."""
        return max(1, math.ceil(self.duration / self.interval - 1e-9))

    @classmethod
    def from_config(
        cls,
        section: Mapping[str, Any],
        *,
        watch: bool = False,
        interval: str | float | None = None,
        duration: str | float | None = None,
        source: str = "deployment-config.json",
    ) -> MonitorSettings:
        """Parse ``section``; ``watch`` takes ``monitor.watch``; ``interval`` and ``duration``
        (from the command line) win over both."""
        base: Mapping[str, Any] = section
        if watch:
            base = {**_DEFAULTS["watch"], **(section.get("watch") or {})}
        problems: list[str] = []

        def seconds(name: str, override: str | float | None, written: Any) -> float:
            where = f"--{name}" if override is not None else f"monitor.{name}"
            value = override if override is not None else written
            try:
                parsed = parse_duration(value)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                return 1.0
            if parsed <= 0:
                problems.append(f"{where}: must be longer than 0 (got {value!r})")
                return 1.0
            return parsed

        every = seconds("interval", interval, base.get("interval", _DEFAULTS["interval"]))
        length = seconds("duration", duration, base.get("duration", _DEFAULTS["duration"]))
        remind = parse_duration(section.get("remind_every", _DEFAULTS["remind_every"]))
        if problems:
            raise ConfigError(problems, source=source)
        return cls(
            interval=every,
            duration=length,
            probes=tuple(str(p) for p in section.get("probes") or _DEFAULTS["probes"]),
            timeout=parse_duration(section.get("timeout", _DEFAULTS["timeout"])),
            concurrency=int(section.get("concurrency", _DEFAULTS["concurrency"])),
            policy=AlertPolicy(
                resolve_after=int(section.get("resolve_after", _DEFAULTS["resolve_after"])),
                # "0s" switches reminders off
                remind_every=remind or None,
            ),
        )

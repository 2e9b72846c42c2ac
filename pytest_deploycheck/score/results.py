"""What a live run measured: per-operation samples, health and failed key checks.

Every phase2/phase3 item and every ``collect`` round records into a :class:`RunResult`. A run
is built from many items (availability, performance, contract, ...), and pytest-xdist workers
each build their own, so results are made to merge: :meth:`RunResult.merge` appends the samples
of one operation from every source, and :meth:`RunResult.to_dict` / :meth:`RunResult.from_dict`
round-trip through plain JSON for a worker's ``workeroutput``.

Only successful answers have a latency sample: a 500 that comes back in 2 ms says nothing
about how fast the service serves, and would make a failing deployment look fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["FailedItem", "ItemCounts", "OperationSamples", "RunResult", "merge_runs"]


@dataclass(slots=True)
class OperationSamples:
    """Outcomes and latencies of the probes sent to one operation.

    An outcome is True when the probe succeeded: what its item judged an answer (no 5xx,
    timeout, connection error or undocumented status; a documented 4xx is a success).
    ``latencies_ms`` holds the latencies of successful probes only, in arrival order.
    ``failures`` are short human-readable reasons; they may quote a server, so renderers
    escape and redact them.
    """

    label: str
    outcomes: list[bool] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def record(self, ok: bool, latency_ms: float | None = None, failure: str | None = None) -> None:
        """Add one probe: its outcome, its latency (kept only when it succeeded), and why it
        failed."""
        self.outcomes.append(ok)
        if ok and latency_ms is not None:
            self.latencies_ms.append(_check_latency(self.label, latency_ms))
        if failure:
            self.failures.append(failure)

    def extend(self, other: OperationSamples) -> None:
        """Append the samples of ``other``, which must be about the same operation."""
        if other.label != self.label:
            raise ValueError(f"cannot merge samples of {other.label!r} into {self.label!r}")
        self.outcomes.extend(other.outcomes)
        self.latencies_ms.extend(other.latencies_ms)
        self.failures.extend(other.failures)

    @property
    def probes(self) -> int:
        """How many probes were sent."""
        return len(self.outcomes)

    @property
    def ok(self) -> bool:
        """True when at least one probe was sent and every probe answered."""
        return bool(self.outcomes) and all(self.outcomes)

    def copy(self) -> OperationSamples:
        """An independent copy (lists are not shared)."""
        return OperationSamples(
            self.label, list(self.outcomes), list(self.latencies_ms), list(self.failures)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"label", "outcomes", "latencies_ms", "failures"}``."""
        return {
            "label": self.label,
            "outcomes": list(self.outcomes),
            "latencies_ms": list(self.latencies_ms),
            "failures": list(self.failures),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationSamples:
        """The inverse of :meth:`to_dict`; raises ValueError on a malformed document."""
        label = data.get("label")
        if not isinstance(label, str) or not label:
            raise ValueError(f"operation samples need a non-empty 'label' (got {label!r})")
        outcomes = data.get("outcomes", [])
        latencies = data.get("latencies_ms", [])
        failures = data.get("failures", [])
        if not isinstance(outcomes, list) or not all(isinstance(o, bool) for o in outcomes):
            raise ValueError(f"{label}: 'outcomes' must be a list of booleans (got {outcomes!r})")
        if not isinstance(latencies, list):
            raise ValueError(f"{label}: 'latencies_ms' must be a list (got {latencies!r})")
        if not isinstance(failures, list) or not all(isinstance(f, str) for f in failures):
            raise ValueError(f"{label}: 'failures' must be a list of strings (got {failures!r})")
        return cls(label, list(outcomes), [_check_latency(label, v) for v in latencies], failures)


def _check_latency(label: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{label}: a latency must be a number of milliseconds (got {value!r})")
    latency = float(value)
    if not math.isfinite(latency) or latency < 0:
        raise ValueError(f"{label}: a latency must be finite and >= 0 ms (got {value!r})")
    return latency


@dataclass(frozen=True, slots=True)
class FailedItem:
    """A gate item that failed: what the verdict names and the history keeps.

    ``message`` is the first line of what the item reported, already redacted.
    """

    node_id: str
    family: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "node_id": self.node_id,
            "family": self.family,
            "rule": self.rule,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: object) -> FailedItem:
        """The inverse of :meth:`to_dict`; raises ValueError on a malformed entry."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a failed item must be an object (got {data!r})")
        values = {key: data.get(key, "") for key in ("node_id", "family", "rule", "message")}
        for key, value in values.items():
            if not isinstance(value, str):
                raise ValueError(f"failed item field {key!r} must be a string (got {value!r})")
        if not values["node_id"]:
            raise ValueError("a failed item needs a non-empty 'node_id'")
        return cls(**values)


@dataclass(slots=True)
class ItemCounts:
    """How the pytest items of a run ended."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0

    def add(self, other: ItemCounts) -> None:
        """Add ``other``'s counts to these."""
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors += other.errors

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    def to_dict(self) -> dict[str, int]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemCounts:
        values = {key: data.get(key, 0) for key in ("passed", "failed", "skipped", "errors")}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"item count {key!r} must be an integer >= 0 (got {value!r})")
        return cls(**values)


@dataclass(slots=True)
class RunResult:
    """Everything one phase2/phase3 run or one ``collect`` round measured.

    ``health_ok`` is None when no health check ran. ``key_checks_failed`` names the check
    families that failed in this run (``"health"``, ``"contract"``, ...); the score's verdict
    fails when one of them is listed in ``scoring.key_checks``. ``failed_items`` are the gate
    items that failed, whatever their phase. ``round`` is the collect round number (1, 2, 3,
    ...) and None for a pytest run. ``rounds`` keeps, per collect round merged into this
    result, each operation's latencies: the time windows of the stability component.
    """

    deploy_id: str
    phase: str
    started_at: datetime
    finished_at: datetime
    operations: dict[str, OperationSamples] = field(default_factory=dict)
    health_ok: bool | None = None
    key_checks_failed: list[str] = field(default_factory=list)
    items: ItemCounts = field(default_factory=ItemCounts)
    round: int | None = None
    failed_items: list[FailedItem] = field(default_factory=list)
    rounds: dict[int, dict[str, list[float]]] = field(default_factory=dict)

    def samples(self, label: str) -> OperationSamples:
        """The samples of ``label``, created empty on first use."""
        found = self.operations.get(label)
        if found is None:
            found = self.operations[label] = OperationSamples(label)
        return found

    def record(
        self, label: str, ok: bool, latency_ms: float | None = None, failure: str | None = None
    ) -> None:
        """Add one probe of ``label``."""
        self.samples(label).record(ok, latency_ms, failure)

    def fail_check(self, family: str) -> None:
        """Note that a check of ``family`` failed (once per family)."""
        if family not in self.key_checks_failed:
            self.key_checks_failed.append(family)

    def fail_item(self, item: FailedItem) -> None:
        """Note a failed gate item (once per node id and rule)."""
        if all((f.node_id, f.rule) != (item.node_id, item.rule) for f in self.failed_items):
            self.failed_items.append(item)

    def merge(self, other: RunResult) -> None:
        """Fold ``other`` (another item, worker or round of the same deployment) into this run.

        Samples are appended per operation, the time span widens to cover both, health is
        failed when either failed, failed checks, failed items and item counts add up, and a
        collect round's latencies are kept apart as one window of the stability component.
        """
        if other.deploy_id != self.deploy_id:
            raise ValueError(
                f"cannot merge a run of deployment {other.deploy_id!r} into {self.deploy_id!r}"
            )
        for label, samples in other.operations.items():
            self.samples(label).extend(samples)
        self.started_at = min(self.started_at, other.started_at)
        self.finished_at = max(self.finished_at, other.finished_at)
        self.health_ok = _merge_health(self.health_ok, other.health_ok)
        for family in other.key_checks_failed:
            self.fail_check(family)
        for item in other.failed_items:
            self.fail_item(item)
        self.items.add(other.items)
        rounds = dict(other.rounds)
        if other.round is not None:
            rounds[other.round] = {
                label: samples.latencies_ms for label, samples in other.operations.items()
            }
        for number, latencies in rounds.items():
            window = self.rounds.setdefault(number, {})
            for label, values in latencies.items():
                window.setdefault(label, []).extend(values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for xdist's ``workeroutput`` or a file; see :meth:`from_dict`."""
        return {
            "deploy_id": self.deploy_id,
            "phase": self.phase,
            "round": self.round,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "health_ok": self.health_ok,
            "key_checks_failed": list(self.key_checks_failed),
            "failed_items": [item.to_dict() for item in self.failed_items],
            "items": self.items.to_dict(),
            "operations": [samples.to_dict() for samples in self.operations.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """The inverse of :meth:`to_dict`; raises ValueError naming the bad field."""
        deploy_id = data.get("deploy_id")
        phase = data.get("phase")
        if not isinstance(deploy_id, str) or not deploy_id:
            raise ValueError(f"a run needs a non-empty 'deploy_id' (got {deploy_id!r})")
        if not isinstance(phase, str) or not phase:
            raise ValueError(f"a run needs a non-empty 'phase' (got {phase!r})")
        health_ok = data.get("health_ok")
        if health_ok is not None and not isinstance(health_ok, bool):
            raise ValueError(f"'health_ok' must be true, false or null (got {health_ok!r})")
        round_number = data.get("round")
        if round_number is not None and (
            isinstance(round_number, bool) or not isinstance(round_number, int)
        ):
            raise ValueError(f"'round' must be an integer or null (got {round_number!r})")
        failed = data.get("key_checks_failed", [])
        if not isinstance(failed, list) or not all(isinstance(f, str) for f in failed):
            raise ValueError(f"'key_checks_failed' must be a list of strings (got {failed!r})")
        failed_items = data.get("failed_items", [])
        if not isinstance(failed_items, list):
            raise ValueError(f"'failed_items' must be a list (got {failed_items!r})")
        run = cls(
            deploy_id=deploy_id,
            phase=phase,
            started_at=_parse_time(data.get("started_at"), "started_at"),
            finished_at=_parse_time(data.get("finished_at"), "finished_at"),
            health_ok=health_ok,
            key_checks_failed=list(failed),
            items=ItemCounts.from_dict(data.get("items") or {}),
            round=round_number,
            failed_items=[FailedItem.from_dict(entry) for entry in failed_items],
        )
        operations = data.get("operations", [])
        if not isinstance(operations, list) or not all(isinstance(e, Mapping) for e in operations):
            raise ValueError(f"'operations' must be a list of objects (got {operations!r})")
        for entry in operations:
            samples = OperationSamples.from_dict(entry)
            run.samples(samples.label).extend(samples)
        return run


def merge_runs(runs: Iterable[RunResult], phase: str = "deployment") -> RunResult:
    """One result holding every sample of ``runs`` (all of the same deployment).

    This is how a deployment is scored: its phase2 and phase3 runs and all its collect rounds
    together, so stability sees the latency samples across rounds.
    """
    merged: RunResult | None = None
    for run in runs:
        if merged is None:
            merged = RunResult(run.deploy_id, phase, run.started_at, run.finished_at)
        merged.merge(run)
    if merged is None:
        raise ValueError("merge_runs() needs at least one run")
    return merged


def _merge_health(first: bool | None, second: bool | None) -> bool | None:
    if first is None:
        return second
    if second is None:
        return first
    return first and second


def _parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be an ISO 8601 timestamp (got {value!r})")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name!r} must be an ISO 8601 timestamp (got {value!r})") from None
    # Naive timestamps are taken as UTC so merged runs always compare.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""Records to rows and back: the JSON columns, the compact sample columns, and redaction of
what is written."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from pytest_deploycheck.score.results import FailedItem, ItemCounts, OperationSamples, RunResult

from .records import Deployment, StoredRun

# Failure texts are for display; a flood of them must not bloat the store.
_MAX_FAILURES_STORED = 20
_MAX_FAILURE_CHARS = 500


def dumps(value: Any) -> str:
    """``value`` as compact, key-sorted JSON for a text column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def redact_tree(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` with ``redact`` applied to every string in it, however deep."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): redact_tree(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v, redact) for v in value]
    return value


def sample_row(samples: OperationSamples, redact: Callable[[str], str]) -> dict[str, Any]:
    """The row of ``samples`` (without its run id), failure texts redacted and capped."""
    failures = [
        redact(text)[:_MAX_FAILURE_CHARS] for text in samples.failures[:_MAX_FAILURES_STORED]
    ]
    return {
        "label": samples.label,
        "outcomes": "".join("1" if ok else "0" for ok in samples.outcomes),
        "latencies_ms": dumps([round(v, 3) for v in samples.latencies_ms]),
        "failures": dumps(failures),
    }


def deployment_from_row(row: sa.RowMapping) -> Deployment:
    """The :class:`Deployment` of a ``deploycheck_deployments`` row."""
    return Deployment(
        id=row["id"],
        created_at=row["created_at"],
        commit=row["commit"],
        branch=row["branch"],
        environment=row["environment"],
        metadata=json.loads(row["metadata"] or "{}"),
        service=row.get("service"),
    )


def stored_run_from_row(row: sa.RowMapping) -> StoredRun:
    """The :class:`StoredRun` of a run row joined with its ``deploy_id`` (no samples yet)."""
    result = RunResult(
        deploy_id=row["deploy_id"],
        phase=row["phase"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        health_ok=row["health_ok"],
        key_checks_failed=json.loads(row["key_checks_failed"]),
        items=ItemCounts.from_dict(json.loads(row["items"])),
        failed_items=[FailedItem.from_dict(e) for e in json.loads(row["failed_items"] or "[]")],
    )
    return StoredRun(
        id=row["id"],
        result=result,
        score=row["score"],
        band=row["band"],
        verdict=row["verdict"],
        components=json.loads(row["components"]),
    )


def failed_items_value(items: list[FailedItem], redact: Callable[[str], str]) -> str:
    """The ``failed_items`` column of a run: its failed items as JSON, redacted."""
    return dumps(
        [
            FailedItem(redact(i.node_id), i.family, i.rule, redact(i.message)).to_dict()
            for i in items
        ]
    )


def samples_from_row(row: sa.RowMapping) -> OperationSamples:
    """The :class:`OperationSamples` of a ``deploycheck_operation_samples`` row."""
    return OperationSamples(
        label=row["label"],
        outcomes=[flag == "1" for flag in row["outcomes"]],
        latencies_ms=[float(v) for v in json.loads(row["latencies_ms"])],
        failures=json.loads(row["failures"]),
    )

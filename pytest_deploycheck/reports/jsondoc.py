"""The JSON report: a stable, documented shape, described by ``report.schema.json`` beside
this module (shipped in the package, for consumers that validate).

Shape (``schema_version`` 2; fields are only ever added within a version)::

    {
      "schema_version": 1,
      "deployment": {"id", "created_at", "commit", "branch", "environment"},
      "score": {"score", "band", "advice", "verdict", "reasons": [str],
                "components": {"availability", "performance", "stability"},
                "weights": {"availability", "performance", "stability"}, "fail_below"},
      "failed_items": [{"node_id", "family", "rule", "message"}],
      "operations": [{"label", "ok", "probes", "failed_probes", "latency_samples",
                      "p50_ms", "p95_ms", "target_ms", "max_ms", "performance",
                      "window_medians_ms": [float], "spread_ms", "stability",
                      "failures": [str]}],
      "worst_operations": [label],
      "comparison": null | {"previous_id", "score_delta", "availability_delta",
                     "performance_delta", "stability_delta", "regressions": [label],
                     "operations": [{"label", "change", "current_samples",
                                     "previous_samples", "current_p50_ms", "current_p95_ms",
                                     "previous_p50_ms", "previous_p95_ms", "median_change",
                                     "p_value"}]},
      "trend": {"direction", "slope", "points": [{"deploy_id", "created_at", "score", "band",
                "verdict", "components": {...}}]}   # oldest first
    }

Components are 0-100 or null when not measured; latencies are milliseconds; timestamps are
ISO 8601 in UTC; ``median_change`` is a fraction (0.25 = 25 % slower). ``verdict`` is
``pass``, ``warn`` or ``fail``; ``reasons`` say why it is not ``pass``, and ``failed_items``
are the gate items that failed. Version 2 replaced the operations' ``cv`` with
``window_medians_ms`` and ``spread_ms`` (stability's time windows).
"""

from __future__ import annotations

import json
from typing import Any

from pytest_deploycheck.score.analysis import Analysis, Comparison, OperationComparison, Trend
from pytest_deploycheck.score.scoring import Components, OperationScore

from .formatting import Redact, clean

__all__ = ["JSON_SCHEMA_VERSION", "analysis_to_dict", "render_json"]

JSON_SCHEMA_VERSION = 2


def render_json(analysis: Analysis, *, redact: Redact) -> str:
    """The report as indented JSON text, ending with a newline."""
    return json.dumps(analysis_to_dict(analysis, redact=redact), indent=2, allow_nan=False) + "\n"


def analysis_to_dict(analysis: Analysis, *, redact: Redact) -> dict[str, Any]:
    """The report as plain data, in the documented shape."""
    deployment = analysis.deployment
    score = analysis.score
    weights = analysis.settings.weights
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "deployment": {
            "id": clean(deployment.id, redact),
            "created_at": deployment.created_at.isoformat(),
            "commit": _optional(deployment.commit, redact),
            "branch": _optional(deployment.branch, redact),
            "environment": _optional(deployment.environment, redact),
        },
        "score": {
            "score": score.score,
            "band": score.band.value,
            "advice": score.band.advice,
            "verdict": score.verdict.value,
            "reasons": [clean(reason, redact) for reason in score.reasons],
            "components": _components(score.components),
            "weights": {
                "availability": weights.availability,
                "performance": weights.performance,
                "stability": weights.stability,
            },
            "fail_below": analysis.settings.fail_below,
        },
        "failed_items": [
            {
                "node_id": clean(item.node_id, redact),
                "family": item.family,
                "rule": clean(item.rule, redact),
                "message": clean(item.message, redact),
            }
            for item in score.failed_items
        ],
        "operations": [_operation(op, redact) for op in score.operations],
        "worst_operations": [clean(op.label, redact) for op in analysis.worst],
        "comparison": _comparison(analysis.comparison, redact),
        "trend": _trend(analysis.trend, redact),
    }


def _optional(value: str | None, redact: Redact) -> str | None:
    return None if value is None else clean(value, redact)


def _number(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _components(components: Components) -> dict[str, float | None]:
    return {name: _number(value) for name, value in components.as_dict().items()}


def _operation(op: OperationScore, redact: Redact) -> dict[str, Any]:
    return {
        "label": clean(op.label, redact),
        "ok": op.ok,
        "probes": op.probes,
        "failed_probes": op.failed_probes,
        "latency_samples": op.latency_samples,
        "p50_ms": _number(op.p50_ms),
        "p95_ms": _number(op.p95_ms),
        "target_ms": op.thresholds.target_ms,
        "max_ms": op.thresholds.max_ms,
        "performance": _number(op.performance),
        "window_medians_ms": [round(value, 3) for value in op.window_medians_ms],
        "spread_ms": _number(op.spread_ms),
        "stability": _number(op.stability),
        "failures": [clean(text, redact) for text in op.failures],
    }


def _comparison(comparison: Comparison | None, redact: Redact) -> dict[str, Any] | None:
    if comparison is None:
        return None
    return {
        "previous_id": clean(comparison.previous_id, redact),
        "score_delta": _number(comparison.score_delta, 1),
        "availability_delta": _number(comparison.availability_delta),
        "performance_delta": _number(comparison.performance_delta),
        "stability_delta": _number(comparison.stability_delta),
        "regressions": [clean(op.label, redact) for op in comparison.regressions],
        "operations": [_operation_change(op, redact) for op in comparison.operations],
    }


def _operation_change(op: OperationComparison, redact: Redact) -> dict[str, Any]:
    return {
        "label": clean(op.label, redact),
        "change": op.change.value,
        "current_samples": op.current_samples,
        "previous_samples": op.previous_samples,
        "current_p50_ms": _number(op.current_p50_ms),
        "current_p95_ms": _number(op.current_p95_ms),
        "previous_p50_ms": _number(op.previous_p50_ms),
        "previous_p95_ms": _number(op.previous_p95_ms),
        "median_change": _number(op.median_change, 4),
        "p_value": None if op.p_value is None else float(f"{op.p_value:.6g}"),
    }


def _trend(trend: Trend, redact: Redact) -> dict[str, Any]:
    return {
        "direction": trend.direction.value,
        "slope": _number(trend.slope),
        "points": [
            {
                "deploy_id": clean(point.deploy_id, redact),
                "created_at": point.created_at.isoformat(),
                "score": point.score,
                "band": point.band.value,
                "verdict": point.verdict.value,
                "components": _components(point.components),
            }
            for point in trend.points
        ],
    }

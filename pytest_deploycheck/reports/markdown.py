"""The GitHub-flavoured Markdown report, fit for ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

import re

from pytest_deploycheck.score.analysis import Analysis, Change
from pytest_deploycheck.score.scoring import Verdict

from .formatting import (
    Redact,
    clean,
    format_change,
    format_delta,
    format_ms,
    format_p_value,
    format_points,
    short_id,
)

__all__ = ["render_markdown"]

# Everything Markdown or GitHub's HTML subset could read as syntax; escaped with a backslash
# (< > & as entities, since a backslash does not stop GitHub's inline HTML).
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_ICON = {Verdict.PASS: "\u2705", Verdict.WARN: "\u26a0\ufe0f", Verdict.FAIL: "\u274c"}


def render_markdown(analysis: Analysis, *, redact: Redact) -> str:
    """The three analyses as Markdown: headline, tables, and failures in a details block."""
    score = analysis.score
    deployment = analysis.deployment
    parts = score.components
    weights = analysis.settings.weights
    lines = [
        f"## {_ICON[score.verdict]} Deployment {_md(short_id(deployment.id, redact))}: "
        f"{score.score:.1f}/100, {score.band.value} ({score.band.advice}), "
        f"verdict {score.verdict.value}",
        "",
        _meta_line(analysis, redact),
        "",
        "| Component | Points | Weight |",
        "| --- | ---: | ---: |",
        f"| availability | {format_points(parts.availability)} | {weights.availability:g} |",
        f"| performance | {format_points(parts.performance)} | {weights.performance:g} |",
        f"| stability | {format_points(parts.stability)} | {weights.stability:g} |",
        f"| **score** | **{score.score:.1f}** | |",
        "",
    ]
    lines.extend(f"- {_md(clean(reason, redact))}" for reason in score.reasons)
    if score.reasons:
        lines.append("")
    if score.failed_items:
        lines += ["### Failed items", "", "| Item | Rule | Message |", "| --- | --- | --- |"]
        lines.extend(
            f"| {_md(clean(item.node_id, redact))} | {_md(clean(item.rule, redact))} | "
            f"{_md(clean(item.message, redact))} |"
            for item in score.failed_items
        )
        lines.append("")

    lines.append("### Worst operations")
    lines.append("")
    if analysis.worst:
        lines += [
            "| Operation | Failed | p50 | p95 | Target / max | Performance | Stability |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines.extend(
            f"| {_md(clean(op.label, redact))} | {op.failed_probes}/{op.probes} | "
            f"{format_ms(op.p50_ms)} | {format_ms(op.p95_ms)} | "
            f"{format_ms(op.thresholds.target_ms)} / {format_ms(op.thresholds.max_ms)} | "
            f"{format_points(op.performance)} | {format_points(op.stability)} |"
            for op in analysis.worst
        )
    else:
        lines.append("None: every operation answered within its target.")
    lines.append("")

    lines += _comparison_lines(analysis, redact)
    lines += _trend_lines(analysis, redact)
    lines += _failure_lines(analysis, redact)
    return "\n".join(lines).rstrip() + "\n"


def _meta_line(analysis: Analysis, redact: Redact) -> str:
    deployment = analysis.deployment
    bits = [deployment.created_at.strftime("%Y-%m-%d %H:%M UTC")]
    for label, value in (
        ("commit", deployment.commit[:12] if deployment.commit else None),
        ("branch", deployment.branch),
        ("environment", deployment.environment),
    ):
        if value:
            bits.append(f"{label} {_md(clean(value, redact, limit=80))}")
    return " \u00b7 ".join(bits)


def _comparison_lines(analysis: Analysis, redact: Redact) -> list[str]:
    comparison = analysis.comparison
    lines = ["### Against the previous deployment", ""]
    if comparison is None:
        return [*lines, "No previous deployment recorded yet.", ""]
    lines += [
        f"Previous: {_md(short_id(comparison.previous_id, redact))} \u00b7 "
        f"score {format_delta(comparison.score_delta)} \u00b7 "
        f"availability {format_delta(comparison.availability_delta)} \u00b7 "
        f"performance {format_delta(comparison.performance_delta)} \u00b7 "
        f"stability {format_delta(comparison.stability_delta)}",
        "",
    ]
    shown = [op for op in comparison.operations if op.change is not Change.UNCHANGED]
    unchanged = len(comparison.operations) - len(shown)
    if shown:
        lines += [
            "| Operation | p50 before | p50 now | Change | p-value | Result |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for op in shown:
            result = f"**{op.change.value}**" if op.regression else op.change.value
            lines.append(
                f"| {_md(clean(op.label, redact))} | {format_ms(op.previous_p50_ms)} | "
                f"{format_ms(op.current_p50_ms)} | {format_change(op.median_change)} | "
                f"{format_p_value(op.p_value)} | {result} |"
            )
        lines.append("")
    if unchanged:
        noun = "operation" if unchanged == 1 else "operations"
        lines += [f"{unchanged} {noun} unchanged.", ""]
    return lines


def _trend_lines(analysis: Analysis, redact: Redact) -> list[str]:
    trend = analysis.trend
    heading = f"### Trend over the last {len(trend.points)} deployments: {trend.direction.value}"
    if trend.slope is not None:
        heading += f" ({trend.slope:+.1f} points per deployment)"
    lines = [
        heading,
        "",
        "| Deployment | When | Score | Availability | Performance | Stability | Verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines.extend(
        f"| {_md(short_id(point.deploy_id, redact))} | "
        f"{point.created_at.strftime('%Y-%m-%d %H:%M')} | {point.score:.1f} | "
        f"{format_points(point.components.availability)} | "
        f"{format_points(point.components.performance)} | "
        f"{format_points(point.components.stability)} | {point.verdict.value} |"
        for point in reversed(trend.points)
    )
    return [*lines, ""]


def _failure_lines(analysis: Analysis, redact: Redact) -> list[str]:
    failing = [op for op in analysis.score.operations if op.failures]
    if not failing:
        return []
    lines = ["<details><summary>Failures</summary>", ""]
    for op in failing:
        for failure in op.failures:
            lines.append(f"- {_md(clean(op.label, redact))}: {_md(clean(failure, redact))}")
    return [*lines, "", "</details>", ""]


def _md(text: str) -> str:
    """Text shown literally by GitHub's Markdown, in a table cell or a list item."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)

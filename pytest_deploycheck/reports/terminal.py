"""The terminal report (rich tables rendered to a string) and the compact pytest summary."""

from __future__ import annotations

from io import StringIO

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from pytest_deploycheck.score.analysis import Analysis, Change, Comparison, Direction
from pytest_deploycheck.score.scoring import Band, Score, Verdict

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

__all__ = ["render_summary", "render_terminal", "sparkline"]

_BAND_STYLE = {
    Band.EXCELLENT: "bold green",
    Band.GOOD: "green",
    Band.FAIR: "yellow",
    Band.POOR: "bold red",
}
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold black on yellow",
    Verdict.FAIL: "bold white on red",
}
_CHANGE_STYLE = {
    Change.REGRESSION: "bold red",
    Change.IMPROVED: "green",
    Change.NEW: "cyan",
    Change.REMOVED: "magenta",
    Change.TOO_FEW_SAMPLES: "dim",
    Change.UNCHANGED: "",
}
_SPARKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


# a width no table of the report reaches: lines are as long as their content
UNWRAPPED = 1000


def render_terminal(
    analysis: Analysis,
    *,
    redact: Redact,
    width: int | None = 100,
    color: bool = False,
) -> str:
    """The three analyses as rich tables, returned as text (ANSI colours when ``color``).

    ``width`` None (output that is not a terminal: a CI log, a file, a pipe) keeps every
    column whole, however wide the table gets: ids are never cut or folded.
    """
    return _render(analysis, redact, width or UNWRAPPED, color, fold=width is not None)


def _column(
    table: Table, name: str, fold: bool, *, max_width: int, min_width: int | None = None
) -> None:
    """A text column: folded within its widths on a terminal, whole otherwise."""
    if fold:
        table.add_column(name, overflow="fold", min_width=min_width, max_width=max_width)
    else:
        table.add_column(name, no_wrap=True)


def _render(analysis: Analysis, redact: Redact, width: int, color: bool, *, fold: bool) -> str:
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    console.print(
        Group(
            _headline(analysis, redact),
            _components_table(analysis),
            *_reasons(analysis.score, redact),
            *_failed_items(analysis.score, redact, fold),
            _worst_table(analysis, redact, fold),
            _comparison(analysis.comparison, redact, fold),
            _trend(analysis, redact, fold),
        )
    )
    return buffer.getvalue()


def render_summary(
    score: Score,
    comparison: Comparison | None = None,
    *,
    redact: Redact,
    deploy_id: str | None = None,
) -> str:
    """A few plain lines for the end of a pytest run: score, components, band, verdict,
    failing operations and regressions."""
    parts = score.components
    who = f" for {short_id(deploy_id, redact)}" if deploy_id else ""
    lines = [
        f"deploycheck score{who}: {score.score:.1f}/100, {score.band.value} "
        f"({score.band.advice}), verdict {score.verdict.value.upper()}",
        f"  availability {format_points(parts.availability)} \u00b7 "
        f"performance {format_points(parts.performance)} \u00b7 "
        f"stability {format_points(parts.stability)}",
    ]
    lines.extend(f"  {clean(reason, redact)}" for reason in score.reasons)
    lines.extend(
        f"  failed: {clean(item.node_id, redact)} [{clean(item.rule, redact)}] "
        f"{clean(item.message, redact, limit=160)}"
        for item in score.failed_items
    )
    for op in score.operations:
        if op.probes and not op.ok:
            why = f": {clean(op.failures[0], redact, limit=120)}" if op.failures else ""
            lines.append(
                f"  failing: {clean(op.label, redact)} "
                f"({op.failed_probes}/{op.probes} probes failed{why})"
            )
    if comparison is not None:
        previous = short_id(comparison.previous_id, redact)
        lines.append(f"  against {previous}: score {format_delta(comparison.score_delta)}")
        lines.extend(
            f"  regression: {clean(op.label, redact)} median {format_ms(op.previous_p50_ms)} -> "
            f"{format_ms(op.current_p50_ms)} ({format_change(op.median_change)}, "
            f"p={format_p_value(op.p_value)})"
            for op in comparison.regressions
        )
    return "\n".join(lines)


def _headline(analysis: Analysis, redact: Redact) -> RenderableType:
    score, deployment = analysis.score, analysis.deployment
    text = Text()
    text.append("Deployment ", style="bold")
    text.append(clean(deployment.id, redact, limit=80), style="bold")
    details = [
        f"{label} {clean(value, redact, limit=60)}"
        for label, value in (
            ("commit", deployment.commit[:12] if deployment.commit else None),
            ("branch", deployment.branch),
            ("environment", deployment.environment),
        )
        if value
    ]
    details.append(deployment.created_at.strftime("%Y-%m-%d %H:%M UTC"))
    text.append(f"  ({', '.join(details)})\n", style="dim")
    text.append("Score ")
    text.append(f"{score.score:.1f}/100", style=_BAND_STYLE[score.band])
    text.append(f"  {score.band.value} ({score.band.advice})  ")
    verdict_style = _VERDICT_STYLE[score.verdict]
    text.append(f" {score.verdict.value.upper()} ", style=verdict_style)
    return text


def _components_table(analysis: Analysis) -> RenderableType:
    weights = analysis.settings.weights
    table = Table(title="This deployment", title_justify="left", expand=False)
    for name in ("Component", "Points", "Weight"):
        table.add_column(name, justify="left" if name == "Component" else "right")
    parts = analysis.score.components
    for name, value, weight in (
        ("availability", parts.availability, weights.availability),
        ("performance", parts.performance, weights.performance),
        ("stability", parts.stability, weights.stability),
    ):
        table.add_row(name, format_points(value), f"{weight:g}")
    table.add_row(Text("score", style="bold"), f"{analysis.score.score:.1f}", "")
    return table


def _reasons(score: Score, redact: Redact) -> list[RenderableType]:
    return [Text(f"\u2022 {clean(reason, redact)}", style="yellow") for reason in score.reasons]


def _failed_items(score: Score, redact: Redact, fold: bool) -> list[RenderableType]:
    if not score.failed_items:
        return []
    table = Table(title="Failed items", title_justify="left")
    _column(table, "Item", fold, min_width=24, max_width=60)
    _column(table, "Rule", fold, max_width=30)
    _column(table, "Message", fold, min_width=24, max_width=80)
    for item in score.failed_items:
        table.add_row(
            clean(item.node_id, redact), clean(item.rule, redact), clean(item.message, redact)
        )
    return [table]


def _worst_table(analysis: Analysis, redact: Redact, fold: bool) -> RenderableType:
    if not analysis.worst:
        return Text("Worst operations: none; every operation answered within its target.")
    table = Table(title="Worst operations", title_justify="left")
    _column(table, "Operation", fold, min_width=24, max_width=40)
    for name in ("Failed", "p50", "p95", "Target / max", "Perf.", "Stab."):
        table.add_column(name, justify="right", no_wrap=True)
    _column(table, "First failure", fold, min_width=16, max_width=36)
    for op in analysis.worst:
        failed = Text(f"{op.failed_probes}/{op.probes}", style="red" if op.failed_probes else "")
        table.add_row(
            Text(clean(op.label, redact)),
            failed,
            format_ms(op.p50_ms),
            format_ms(op.p95_ms),
            f"{format_ms(op.thresholds.target_ms)} / {format_ms(op.thresholds.max_ms)}",
            format_points(op.performance),
            format_points(op.stability),
            Text(clean(op.failures[0], redact, limit=120)) if op.failures else "",
        )
    return table


def _comparison(comparison: Comparison | None, redact: Redact, fold: bool) -> RenderableType:
    if comparison is None:
        return Text("Against the previous deployment: none recorded yet.")
    header = Text()
    header.append("Against the previous deployment ", style="bold")
    header.append(short_id(comparison.previous_id, redact), style="bold")
    header.append(
        f": score {format_delta(comparison.score_delta)}, "
        f"availability {format_delta(comparison.availability_delta)}, "
        f"performance {format_delta(comparison.performance_delta)}, "
        f"stability {format_delta(comparison.stability_delta)}"
    )
    shown = [op for op in comparison.operations if op.change is not Change.UNCHANGED]
    unchanged = len(comparison.operations) - len(shown)
    if not shown:
        counted = {
            0: "No operation was probed in either deployment.",
            1: "Its one operation is unchanged.",
        }
        return Group(header, Text(counted.get(unchanged, f"All {unchanged} operations unchanged.")))
    table = Table(title_justify="left")
    _column(table, "Operation", fold, max_width=40)
    for name in ("p50 before", "p50 now", "Change", "p-value"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    for op in shown:
        table.add_row(
            Text(clean(op.label, redact)),
            format_ms(op.previous_p50_ms),
            format_ms(op.current_p50_ms),
            format_change(op.median_change),
            format_p_value(op.p_value),
            Text(op.change.value, style=_CHANGE_STYLE[op.change]),
        )
    noun = "operation" if unchanged == 1 else "operations"
    footer = Text(f"{unchanged} other {noun} unchanged.", style="dim") if unchanged else ""
    return Group(header, table, footer)


def _trend(analysis: Analysis, redact: Redact, fold: bool) -> RenderableType:
    trend = analysis.trend
    title = f"Trend over the last {len(trend.points)} deployments: {trend.direction.value}"
    if trend.slope is not None:
        title += f" ({trend.slope:+.1f} points per deployment)"
    if trend.direction is Direction.UNKNOWN:
        title += " (3 deployments are needed for a direction)"
    table = Table(title=title, title_justify="left")
    _column(table, "Deployment", fold, max_width=24)
    table.add_column("When", no_wrap=True)
    for name in ("Score", "Avail.", "Perf.", "Stab."):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Band", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    for point in reversed(trend.points):
        table.add_row(
            Text(short_id(point.deploy_id, redact)),
            point.created_at.strftime("%Y-%m-%d %H:%M"),
            Text(f"{point.score:.1f}", style=_BAND_STYLE[point.band]),
            format_points(point.components.availability),
            format_points(point.components.performance),
            format_points(point.components.stability),
            point.band.value,
            point.verdict.value,
        )
    return Group(
        table, Text("Score, oldest to newest: " + sparkline([p.score for p in trend.points]))
    )


def sparkline(values: list[float]) -> str:
    """One block character per value, scaled from the lowest value to the highest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low < 0.05:
        return _SPARKS[3] * len(values)
    return "".join(_SPARKS[round((v - low) / (high - low) * 7)] for v in values)

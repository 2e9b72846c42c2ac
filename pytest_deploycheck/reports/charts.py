"""Chart geometry for the HTML report, computed here so templates only draw SVG shapes.

Two charts: the score over the trend window, and per operation the p50/p95 latency of this
deployment against the previous one. Coordinates are SVG user units; all text is cleaned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_deploycheck.score.analysis import Analysis, TrendPoint

from .formatting import Redact, clean, format_ms, short_id

__all__ = [
    "Bar",
    "LatencyChart",
    "LatencyRow",
    "Tick",
    "TrendChart",
    "TrendDot",
    "latency_chart",
    "nice_ceiling",
    "trend_chart",
]


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis tick: its position along the axis and its label."""

    at: float
    label: str


@dataclass(frozen=True, slots=True)
class TrendDot:
    """One deployment on the score line."""

    x: float
    y: float
    score: float
    band: str
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class TrendChart:
    """The score line over the last deployments (oldest left)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    line: str  # the polyline's points attribute
    dots: tuple[TrendDot, ...]
    y_ticks: tuple[Tick, ...]
    bands: tuple[tuple[float, float, str], ...]  # y, height, band name of the background


@dataclass(frozen=True, slots=True)
class Bar:
    """A horizontal bar: p95 length with the p50 part drawn darker."""

    y: float
    p50_width: float
    p95_width: float
    series: str  # "previous" or "current"
    title: str


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """One operation: its label, its bars and where its target sits."""

    y: float
    label: str
    full_label: str
    bars: tuple[Bar, ...]
    target_x: float | None


@dataclass(frozen=True, slots=True)
class LatencyChart:
    """Latency per operation, previous deployment against this one."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    rows: tuple[LatencyRow, ...]
    x_ticks: tuple[Tick, ...]
    has_previous: bool


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (1 for 0 or less)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        if value <= step * magnitude * (1 + 1e-9):
            return step * magnitude
    return 10.0 * magnitude


def trend_chart(points: Sequence[TrendPoint], redact: Redact) -> TrendChart | None:
    """The score line; None without any deployment."""
    if not points:
        return None
    left, top, plot_width, plot_height = 44, 16, 660, 200
    step = plot_width / max(1, len(points) - 1)

    def y_of(score: float) -> float:
        return round(top + plot_height * (1 - score / 100), 2)

    dots = []
    for index, point in enumerate(points):
        x = round(left + (index * step if len(points) > 1 else plot_width / 2), 2)
        label = short_id(point.deploy_id, redact)
        if re.fullmatch(r"[0-9a-f]{12}", label):
            label = label[:7]  # git's short hash
        dots.append(
            TrendDot(
                x=x,
                y=y_of(point.score),
                score=point.score,
                band=point.band.value,
                # About 70 units between dots: 9 characters of 11px text fit without overlap.
                label=label if len(label) <= 9 else label[:8] + "\N{HORIZONTAL ELLIPSIS}",
                title=f"{clean(point.deploy_id, redact, limit=80)}: {point.score:.1f} "
                f"({point.band.value}, {point.verdict.value}) "
                f"{point.created_at.strftime('%Y-%m-%d %H:%M')}",
            )
        )
    bands = tuple(
        (y_of(high), round(plot_height * (high - low) / 100, 2), name)
        for low, high, name in (
            (90, 100, "excellent"),
            (70, 90, "good"),
            (50, 70, "fair"),
            (0, 50, "poor"),
        )
    )
    return TrendChart(
        width=left + plot_width + 24,
        height=top + plot_height + 44,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        line=" ".join(f"{dot.x},{dot.y}" for dot in dots),
        dots=tuple(dots),
        y_ticks=tuple(Tick(y_of(v), str(v)) for v in (0, 25, 50, 75, 100)),
        bands=bands,
    )


def latency_chart(analysis: Analysis, redact: Redact) -> LatencyChart | None:
    """p50/p95 per operation, previous (when there is one) above current; None when nothing
    has a latency."""
    comparison = analysis.comparison
    thresholds = {op.label: op.thresholds.target_ms for op in analysis.score.operations}
    rows_data: list[tuple[str, list[tuple[str, float | None, float | None]]]] = []
    if comparison is not None:
        for change in comparison.operations:
            rows_data.append(
                (
                    change.label,
                    [
                        ("previous", change.previous_p50_ms, change.previous_p95_ms),
                        ("current", change.current_p50_ms, change.current_p95_ms),
                    ],
                )
            )
    else:
        for op in analysis.score.operations:
            rows_data.append((op.label, [("current", op.p50_ms, op.p95_ms)]))
    values = [p95 for _, bars in rows_data for _, _, p95 in bars if p95 is not None]
    if not values:
        return None
    scale_max = nice_ceiling(max(values))
    left, top, plot_width = 270, 24, 520
    bar_height, gap = 9, 14
    row_height = bar_height * (2 if comparison is not None else 1) + gap

    def width_of(value: float | None) -> float:
        return 0.0 if value is None else round(plot_width * min(value, scale_max) / scale_max, 2)

    rows = []
    for index, (label, bars) in enumerate(rows_data):
        y = top + index * row_height
        drawn = tuple(
            Bar(
                y=y + position * bar_height,
                p50_width=width_of(p50),
                p95_width=width_of(p95),
                series=series,
                title=f"{series}: p50 {format_ms(p50)}, p95 {format_ms(p95)}",
            )
            for position, (series, p50, p95) in enumerate(bars)
        )
        full = clean(label, redact, limit=200)
        target = thresholds.get(label)
        rows.append(
            LatencyRow(
                y=y,
                # 36 characters of 11px monospace fit the 262 units left of the bars.
                label=full if len(full) <= 36 else full[:35] + "\N{HORIZONTAL ELLIPSIS}",
                full_label=full,
                bars=drawn,
                target_x=None
                if target is None or target > scale_max
                else round(left + width_of(target), 2),
            )
        )
    ticks = tuple(
        Tick(round(left + plot_width * i / 4, 2), format_ms(scale_max * i / 4) if i else "0")
        for i in range(5)
    )
    return LatencyChart(
        width=left + plot_width + 30,
        height=top + len(rows) * row_height + 30,
        left=left,
        top=top,
        plot_width=plot_width,
        rows=tuple(rows),
        x_ticks=ticks,
        has_previous=comparison is not None,
    )

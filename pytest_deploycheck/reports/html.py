"""The HTML report: one self-contained file from Jinja2 templates, charts as inline SVG.

Autoescaping is on and every string the template sees was cleaned and redacted first, so
nothing a server returned can become markup. A Content-Security-Policy forbids scripts and
any network load, so the file reads the same offline, and without JavaScript.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from html import escape

import jinja2

from pytest_deploycheck import __version__
from pytest_deploycheck.score.analysis import Analysis

from .charts import latency_chart, trend_chart
from .formatting import (
    Redact,
    format_change,
    format_delta,
    format_ms,
    format_p_value,
    format_points,
    short_id,
)
from .jsondoc import analysis_to_dict

__all__ = ["escape_results_row", "render_html", "render_summary_fragment"]


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_deploycheck.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        ms=format_ms,
        points=format_points,
        delta=format_delta,
        change=format_change,
        p_value=format_p_value,
    )
    return environment


def render_html(analysis: Analysis, *, redact: Redact, generated_at: datetime | None = None) -> str:
    """The three analyses as one HTML document."""
    report = analysis_to_dict(analysis, redact=redact)
    operations = {op["label"]: op for op in report["operations"]}
    changed = []
    unchanged = 0
    if report["comparison"] is not None:
        for op in report["comparison"]["operations"]:
            if op["change"] == "unchanged":
                unchanged += 1
            else:
                changed.append(op)
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        short_id=short_id(analysis.deployment.id, redact),
        previous_short_id=(
            short_id(analysis.comparison.previous_id, redact) if analysis.comparison else None
        ),
        worst=[operations[label] for label in report["worst_operations"]],
        failing=[op for op in report["operations"] if op["failures"]],
        changed=changed,
        unchanged=unchanged,
        trend_points=list(reversed(report["trend"]["points"])),
        trend_chart=trend_chart(analysis.trend.points, redact),
        latency_chart=latency_chart(analysis, redact),
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )


def render_summary_fragment(analysis: Analysis, *, redact: Redact) -> str:
    """The deployment section for pytest-html: score, components, verdict, regressions."""
    report = analysis_to_dict(analysis, redact=redact)
    comparison = report["comparison"]
    regressions = []
    if comparison is not None:
        names = set(comparison["regressions"])
        regressions = [op for op in comparison["operations"] if op["label"] in names]
    template = _environment().get_template("summary.html.j2")
    return template.render(
        report=report,
        short_id=short_id(analysis.deployment.id, redact),
        previous_short_id=(
            short_id(analysis.comparison.previous_id, redact) if analysis.comparison else None
        ),
        regressions=regressions,
    )


def escape_results_row(cells: list[str], test_id: str) -> None:
    """Escape ``test_id`` in the cells of one row of pytest-html's results table, in place.

    pytest-html 4 writes the test id into its cell as HTML and its page inserts the cell
    with ``innerHTML``, so a node id carrying markup (an operation path, a smoke flow name,
    a parameter) would run in the reader's browser. Only raw occurrences are replaced: a
    cell that already holds the escaped id (a fixed pytest-html) stays as it is.
    """
    safe = escape(test_id, quote=True)
    if safe == test_id:
        return
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and test_id in cell:
            cells[index] = cell.replace(test_id, safe)

"""The report renderers: terminal, pytest summary, Markdown, JSON and HTML."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pytest_deploycheck.reports import (
    JSON_SCHEMA_VERSION,
    analysis_to_dict,
    render_html,
    render_json,
    render_markdown,
    render_summary,
    render_terminal,
)
from pytest_deploycheck.reports.charts import latency_chart, nice_ceiling, trend_chart
from pytest_deploycheck.reports.formatting import clean, format_ms, format_p_value
from pytest_deploycheck.reports.html import render_summary_fragment
from pytest_deploycheck.score.analysis import Analysis, analyse, score_deployment
from pytest_deploycheck.score.history import Deployment
from pytest_deploycheck.score.results import FailedItem, RunResult
from pytest_deploycheck.score.scoring import Verdict

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
SECRET = "s3cr3t-token-value"
HOSTILE = f"<script>alert(1)</script> \x1b[31m[bold red]boom[/] | **x** `y` token={SECRET}"


def redact(text: str) -> str:
    return text.replace(SECRET, "***")


FAILED_NODE = "deployment-config.json::phase3::contract[POST /appointments]"


def build_analysis(
    deployments: int = 10, *, regression: bool = True, failed_item: bool = True
) -> Analysis:
    """``deployments`` scored deployments, newest last; the newest has a slower GET /b, a
    failing POST with a hostile failure message, a failed contract item, and a hostile
    label."""
    scored = []
    for index in range(deployments):
        newest = index == deployments - 1
        deploy_id = f"{index:02d}" + "a1b2c3d4e5f6a7b8c9d0" + "e1f2a3b4c5d6e7f8a9b0"[:18]
        run = RunResult(deploy_id, "phase3", T0, T0, health_ok=True)
        for probe in range(20):
            jitter = (probe % 5) * 2.0
            run.record("GET /providers", True, 80 + jitter + index)
            slow = 400.0 if newest and regression else 200.0
            run.record("GET /b", True, slow + jitter)
            run.record("GET /<img src=x onerror=alert(1)>", True, 50 + jitter)
            ok = not (newest and probe < 3)
            run.record("POST /appointments", ok, 150 + jitter, None if ok else HOSTILE)
        if newest and failed_item:
            run.fail_item(FailedItem(FAILED_NODE, "contract", "contract-status", HOSTILE))
        deployment = Deployment(
            deploy_id,
            T0 + timedelta(hours=index),
            commit=deploy_id,
            branch=f"main{SECRET}",
            environment="production",
        )
        scored.append(score_deployment(deployment, run))
    return analyse(list(reversed(scored)))


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return build_analysis()


# -- terminal --------------------------------------------------------------------------------


def test_the_terminal_report_shows_the_three_analyses(analysis: Analysis) -> None:
    text = render_terminal(analysis, redact=redact, width=120)
    score = analysis.score
    assert f"Score {score.score:.1f}/100" in text
    assert score.band.value in text
    assert score.verdict.value.upper() in text
    assert "This deployment" in text
    assert "Worst operations" in text
    assert re.search(r"POST /appointments\s+│\s+3/20", text)
    assert "Against the previous deployment" in text
    assert re.search(r"GET /b .*20\d ms.*40\d ms.*\+9\d%.*regression", text)
    assert f"Trend over the last 10 deployments: {analysis.trend.direction.value}" in text
    assert text.count("production") == 1


def test_the_terminal_report_cannot_be_driven_by_server_text(analysis: Analysis) -> None:
    text = render_terminal(analysis, redact=redact, width=200)
    assert "\x1b" not in text  # no colour asked, and the server's escape sequence is gone
    assert "boom[/]" in text  # rich markup in data is shown, not interpreted
    assert SECRET not in text
    assert "main***" in text
    coloured = render_terminal(analysis, redact=redact, width=200, color=True)
    assert "\x1b[" in coloured
    assert "boom[/]" in re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert SECRET not in coloured


def test_off_a_terminal_every_column_stays_whole(analysis: Analysis) -> None:
    narrow = render_terminal(analysis, redact=redact, width=80)
    whole = render_terminal(analysis, redact=redact, width=None)

    worst = whole[whole.index("Worst operations") :]
    header = next(line for line in worst.splitlines() if "Operation" in line)
    for column in ("Failed", "p50", "p95", "Target / max", "Perf.", "Stab.", "First failure"):
        assert column in header
    # each operation on one line, its id and its first failure never cut
    for op in analysis.worst:
        row = next(line for line in worst.splitlines() if f" {op.label} " in line)
        assert f"{op.failed_probes}/{op.probes}" in row
        if op.failures:
            assert clean(op.failures[0], redact, limit=120) in row
    # on an 80-column terminal the same table folds, as rich does
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert max(len(line) for line in whole.splitlines()) > 80


def test_the_terminal_report_without_history_says_so() -> None:
    single = build_analysis(1)
    text = render_terminal(single, redact=redact)
    assert "Against the previous deployment: none recorded yet." in text
    assert "3 deployments are needed for a direction" in text


def test_the_pytest_summary_is_a_few_plain_lines(analysis: Analysis) -> None:
    summary = render_summary(
        analysis.score, analysis.comparison, redact=redact, deploy_id=analysis.deployment.id
    )
    lines = summary.splitlines()
    assert len(lines) <= 8
    assert lines[0].startswith(f"deploycheck score for {analysis.deployment.id[:12]}: ")
    assert f"{analysis.score.score:.1f}/100" in lines[0]
    assert "availability" in lines[1]
    assert "performance" in lines[1]
    assert "stability" in lines[1]
    assert any(
        line.startswith("  failing: POST /appointments (3/20 probes failed: ") for line in lines
    )
    assert any(
        re.match(r"  regression: GET /b median 20\d ms -> 40\d ms \(\+9\d%, p=<0\.0001\)$", line)
        for line in lines
    )
    assert "[bold red]boom[/]" in summary
    assert "\x1b" not in summary
    assert SECRET not in summary


# -- Markdown ----------------------------------------------------------------------------------


def test_markdown_fits_a_github_step_summary(analysis: Analysis) -> None:
    text = render_markdown(analysis, redact=redact)
    assert text.startswith("## ")
    assert "| Component | Points | Weight |" in text
    assert "### Against the previous deployment" in text
    assert "### Trend over the last 10 deployments" in text
    assert "<details><summary>Failures</summary>" in text
    # Table rows keep their column count whatever the data holds.
    for line in text.splitlines():
        if line.startswith("| Deployment |"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 8


def test_markdown_escapes_what_came_from_outside(analysis: Analysis) -> None:
    text = render_markdown(analysis, redact=redact)
    assert "<script>" not in text
    assert "<img" not in text
    assert "&lt;script&gt;" in text
    assert r"\*\*x\*\*" in text
    assert r"\| " in text
    assert SECRET not in text
    assert "\x1b" not in text


def test_a_run_with_failed_items_names_them_under_the_verdict_in_every_report() -> None:
    warned = build_analysis(3, regression=False)
    assert warned.score.verdict is Verdict.WARN
    assert warned.score.reasons[0] == "1 other gate item(s) failed (contract)"
    summary = render_summary(warned.score, warned.comparison, redact=redact)
    assert "verdict WARN" in summary.splitlines()[0]
    assert f"  failed: {FAILED_NODE} [contract-status] <script>" in summary
    terminal = render_terminal(warned, redact=redact, width=200)
    assert " WARN " in terminal
    assert "Failed items" in terminal
    assert FAILED_NODE in terminal
    markdown = render_markdown(warned, redact=redact)
    assert markdown.startswith("## \u26a0\ufe0f Deployment ")
    assert "warn" in markdown.splitlines()[0]
    assert "### Failed items" in markdown
    assert "contract\\-status" in markdown
    document = analysis_to_dict(warned, redact=redact)
    assert document["score"]["verdict"] == "warn"
    assert document["failed_items"] == [
        {
            "node_id": FAILED_NODE,
            "family": "contract",
            "rule": "contract-status",
            "message": clean(HOSTILE, redact),
        }
    ]
    page = render_html(warned, redact=redact)
    assert "Failed items" in page
    assert "verdict-warn" in page
    assert "<script>alert" not in page
    fragment = render_summary_fragment(warned, redact=redact)
    assert FAILED_NODE in fragment
    assert "darkorange" in fragment
    for text in (summary, terminal, markdown, json.dumps(document), page, fragment):
        assert SECRET not in text


def test_a_regression_fails_the_verdict_in_the_headline(analysis: Analysis) -> None:
    assert analysis.score.verdict is Verdict.FAIL
    assert analysis.score.reasons[0] == (
        "latency regression against the previous deployment: GET /b"
    )
    assert analysis.trend.points[-1].verdict is Verdict.FAIL  # the trend agrees
    passed = build_analysis(3, regression=False, failed_item=False)
    assert passed.score.verdict is Verdict.PASS  # 3 of 20 POSTs failed, no item did
    assert passed.score.band.advice == "production-ready"


# -- JSON ------------------------------------------------------------------------------------------


def report_schema() -> dict[str, Any]:
    source = resources.files("pytest_deploycheck.reports") / "report.schema.json"
    schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return schema


def test_the_json_report_matches_its_published_schema(analysis: Analysis) -> None:
    document = json.loads(render_json(analysis, redact=redact))
    Draft202012Validator.check_schema(report_schema())
    errors = list(Draft202012Validator(report_schema()).iter_errors(document))
    assert errors == []
    assert document["schema_version"] == JSON_SCHEMA_VERSION == 2
    assert document["comparison"]["regressions"] == ["GET /b"]
    assert document["score"]["score"] == analysis.score.score
    assert [p["deploy_id"] for p in document["trend"]["points"]] == [
        p.deploy_id for p in analysis.trend.points
    ]
    assert SECRET not in json.dumps(document)


def test_the_json_report_is_stable(analysis: Analysis) -> None:
    first = render_json(analysis, redact=redact)
    assert first == render_json(analysis, redact=redact)
    assert list(json.loads(first)) == [
        "schema_version",
        "deployment",
        "score",
        "failed_items",
        "operations",
        "worst_operations",
        "comparison",
        "trend",
    ]


def test_the_json_report_of_a_first_deployment_validates_too() -> None:
    document = analysis_to_dict(build_analysis(1), redact=redact)
    assert document["comparison"] is None
    assert document["trend"]["direction"] == "unknown"
    assert list(Draft202012Validator(report_schema()).iter_errors(document)) == []


# -- HTML ------------------------------------------------------------------------------------------


class TagChecker(HTMLParser):
    """Collects tags, attributes and text; checks that elements are closed in order."""

    VOID = frozenset(
        {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse_html(text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    return checker


def test_the_html_report_is_one_well_formed_self_contained_file(analysis: Analysis) -> None:
    page = render_html(analysis, redact=redact, generated_at=T0)
    checker = parse_html(page)
    assert checker.problems == []
    assert checker.stack == []
    # No scripts, no external resources: nothing loads from anywhere, not even a link.
    assert "script" not in checker.tags
    assert not [name for name, _ in checker.attributes if name in {"src", "href", "srcset"}]
    assert "url(" not in page
    assert "@import" not in page
    assert "http://" not in page.replace('http-equiv="Content-Security-Policy"', "")
    assert "https://" not in page
    assert "default-src 'none'" in page
    assert checker.tags.count("svg") == 2
    assert "Generated 2025-06-01 08:00 UTC" in page


def test_the_html_report_escapes_everything_a_server_returned(analysis: Analysis) -> None:
    page = render_html(analysis, redact=redact)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "GET /&lt;img src=x onerror=alert(1)&gt;" in page
    assert SECRET not in page
    assert "\x1b" not in page


def test_the_html_charts_show_the_trend_and_the_latencies(analysis: Analysis) -> None:
    page = render_html(analysis, redact=redact)
    points = re.search(r'<polyline points="([^"]+)"', page)
    assert points is not None
    assert len(points.group(1).split()) == 10
    assert "previous p50 / p95" in page
    assert page.count("<title>GET /b: previous: p50") == 1
    assert re.search(r"<title>GET /b: current: p50 40\d ms, p95 40\d ms</title>", page)


def test_the_template_is_package_data() -> None:
    template = resources.files("pytest_deploycheck.reports") / "templates" / "report.html.j2"
    assert template.is_file()
    assert "autoescape" not in template.read_text(encoding="utf-8")  # set by the environment


# -- charts and formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (0.7, 1), (1, 1), (1.5, 2), (2.2, 2.5), (3, 5), (7, 10), (420, 500), (1001, 2000)],
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_chart_geometry(analysis: Analysis) -> None:
    trend = trend_chart(analysis.trend.points, redact)
    assert trend is not None
    xs = [dot.x for dot in trend.dots]
    assert xs == sorted(xs)
    best = max(trend.dots, key=lambda dot: dot.score)
    assert best.y == min(dot.y for dot in trend.dots)  # a higher score is drawn higher
    assert all(trend.top <= dot.y <= trend.top + trend.plot_height for dot in trend.dots)

    latency = latency_chart(analysis, redact)
    assert latency is not None
    assert latency.has_previous
    rows = {row.full_label: row for row in latency.rows}
    previous, current = rows["GET /b"].bars
    assert current.p95_width == pytest.approx(2 * previous.p95_width, rel=0.05)
    for row in latency.rows:
        for bar in row.bars:
            assert 0 <= bar.p50_width <= bar.p95_width <= latency.plot_width


def test_clean_removes_control_characters_and_redacts() -> None:
    assert clean(f"a\x1b[2Jb\tc\nd {SECRET}\x07", redact) == "ab c d ***\N{REPLACEMENT CHARACTER}"
    assert clean("x" * 500, redact, limit=10) == "x" * 9 + "\N{HORIZONTAL ELLIPSIS}"


def test_number_formats() -> None:
    assert [format_ms(v) for v in (None, 0.42, 12.34, 250, 1500)] == [
        "\N{EM DASH}",
        "0.42 ms",
        "12.3 ms",
        "250 ms",
        "1.50 s",
    ]
    assert [format_p_value(v) for v in (None, 0.00001, 0.0123, 0.5)] == [
        "\N{EM DASH}",
        "<0.0001",
        "0.0123",
        "0.5",
    ]


def test_sparkline_scales_from_the_lowest_to_the_highest_score() -> None:
    from pytest_deploycheck.reports.terminal import sparkline

    assert sparkline([50.0, 75.0, 100.0]) == "\u2581\u2585\u2588"
    assert sparkline([90.0, 90.0]) == "\u2584\u2584"
    assert sparkline([]) == ""

"""Renderers of the deployment report. Each returns a string; only callers print or write.

- :func:`render_terminal`: rich tables for ``deploycheck report``.
- :func:`render_summary`: a few lines for the end of a pytest run.
- :func:`render_markdown`: GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY``.
- :func:`render_json`: the stable JSON document (``schema_version``, see ``jsondoc``).
- :func:`render_html`: one self-contained HTML file with SVG charts.

Every renderer takes ``redact``: text that came from outside (server messages, deploy ids,
branch names) goes through it, and through control-character cleaning, before it is shown.
Modules here may import ``core`` and ``score`` (the analyses they render), nothing else.
"""

from __future__ import annotations

from .html import render_html
from .jsondoc import JSON_SCHEMA_VERSION, analysis_to_dict, render_json
from .markdown import render_markdown
from .terminal import render_summary, render_terminal

__all__ = [
    "JSON_SCHEMA_VERSION",
    "analysis_to_dict",
    "render_html",
    "render_json",
    "render_markdown",
    "render_summary",
    "render_terminal",
]

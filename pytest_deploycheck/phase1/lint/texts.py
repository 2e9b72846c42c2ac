"""Lint rules on the document's texts (descriptions, titles, summaries): nothing to execute."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .context import LintContext, p, pointer_of
from .registry import Issue, rule

_EVAL = re.compile(r"eval\(")
_SCRIPT = re.compile(r"<script", re.IGNORECASE)


@rule("no-eval-in-markdown", "warning", "Descriptions and titles do not contain 'eval('.")
def _no_eval(ctx: LintContext) -> Iterator[Issue]:
    for holder, key, text in ctx.texts:
        if _EVAL.search(text):
            yield Issue(
                p(pointer_of(holder), key),
                "remove 'eval(' from this text: renderers may execute it",
            )


@rule("no-script-tags-in-markdown", "warning", "Descriptions and titles contain no <script> tag.")
def _no_script(ctx: LintContext) -> Iterator[Issue]:
    for holder, key, text in ctx.texts:
        if _SCRIPT.search(text):
            yield Issue(p(pointer_of(holder), key), "remove the <script> tag from this text")

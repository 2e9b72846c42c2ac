"""The self-test's cases as text: a rich table with a verdict, and a JSON document.

They return strings; only the command line prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from io import StringIO

from .model import Case
from .run import self_test_passed

_TLS_NOTE = (
    "tls: logic only. A shipped certificate is parsed and judged with an injected clock and "
    "host; no TLS handshake, since that needs a certificate and key made at run time."
)


def _summary(cases: Sequence[Case]) -> str:
    families = len(dict.fromkeys(case.family for case in cases))
    seconds = sum(case.seconds for case in cases)
    failed = [case for case in cases if not case.passed]
    if not failed:
        return (
            f"self-test passed: {len(cases)} cases over {families} "
            f"famil{'y' if families == 1 else 'ies'}, "
            f"every check caught its faults and passed its good fixtures ({seconds:.1f}s)"
        )
    broken = list(dict.fromkeys(case.family for case in failed))
    return (
        f"self-test FAILED: {len(failed)} of {len(cases)} cases ({', '.join(broken)}): a check "
        f"no longer catches its fault, or fails on its good fixture ({seconds:.1f}s)"
    )


def render_self_test(cases: Sequence[Case], *, width: int = 120, color: bool = False) -> str:
    """The table (family, fixture, expected, got, result, detail) and a verdict, as text."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="deploycheck self-test", title_justify="left", show_edge=False)
    table.add_column("family", no_wrap=True)
    table.add_column("fixture", max_width=32)
    for column in ("expected", "got", "result"):
        table.add_column(column, no_wrap=True)
    # the detail takes the room that is left, but never so little that it reads as a column
    table.add_column("detail", min_width=16, ratio=1, overflow="fold")
    for case in cases:
        result = Text("pass", style="green") if case.passed else Text("FAIL", style="bold red")
        # Text, not markup: details hold rule ids in brackets and text from the checks
        table.add_row(
            Text(case.family),
            Text(case.fixture),
            Text(case.expected),
            Text(case.got),
            result,
            Text(case.detail),
        )
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    console.print(table)
    if any(case.family == "tls" for case in cases):
        console.print(Text(_TLS_NOTE, style="dim"))
    console.print(Text(_summary(cases), style="green" if self_test_passed(cases) else "bold red"))
    return buffer.getvalue()


def render_json(cases: Sequence[Case]) -> str:
    """The cases and the verdict as a JSON document."""
    document = {
        "passed": self_test_passed(cases),
        "summary": _summary(cases),
        "cases": [case.as_dict() for case in cases],
    }
    return json.dumps(document, indent=2)

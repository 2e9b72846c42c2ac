"""Number formats and text cleaning shared by every renderer."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "Redact",
    "clean",
    "format_change",
    "format_delta",
    "format_ms",
    "format_p_value",
    "format_points",
    "short_id",
]

Redact = Callable[[str], str]

# C0 and C1 control characters and DEL: a server's text must not move a terminal's cursor,
# change its colours or break a Markdown table. Tabs and newlines become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def clean(text: str, redact: Redact, limit: int = 300) -> str:
    """``text`` from outside (a server, the environment) made safe to show on one line:
    redacted, escape sequences dropped, control characters replaced, cut at ``limit``."""
    text = _ANSI.sub("", redact(text))
    text = _CONTROL.sub(
        lambda m: " " if m.group() in "\t\n\r" else "\N{REPLACEMENT CHARACTER}", text
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def format_points(value: float | None) -> str:
    """A 0-100 component: ``97.5``, or an em dash when it was not measured."""
    return "\N{EM DASH}" if value is None else f"{value:.1f}"


def format_delta(value: float | None) -> str:
    """A signed change of points: ``+2.5``, ``-10.0``, ``±0.0``."""
    if value is None:
        return "\N{EM DASH}"
    if round(value, 1) == 0:
        return "\N{PLUS-MINUS SIGN}0.0"
    return f"{value:+.1f}"


def format_ms(value: float | None) -> str:
    """A latency: ``0.42 ms``, ``12.3 ms``, ``250 ms``, ``1.50 s``."""
    if value is None:
        return "\N{EM DASH}"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 1:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def format_change(fraction: float | None) -> str:
    """A relative change: ``+25%``, ``-3.2%``."""
    if fraction is None:
        return "\N{EM DASH}"
    percent = fraction * 100
    return f"{percent:+.0f}%" if abs(percent) >= 10 else f"{percent:+.1f}%"


def format_p_value(value: float | None) -> str:
    """A p-value: ``0.003``, ``<0.0001``."""
    if value is None:
        return "\N{EM DASH}"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}".rstrip("0").rstrip(".")


def short_id(deploy_id: str, redact: Redact) -> str:
    """A deploy id fit for a column: commit hashes cut to 12 characters."""
    text = clean(deploy_id, redact, limit=40)
    return text[:12] if re.fullmatch(r"[0-9a-f]{13,64}", text) else text

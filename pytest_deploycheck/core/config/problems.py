"""Problems: one thing wrong with the config, at a key path, and how a key path is written."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MAX_KEY_SHOWN", "KeyPath", "Problem", "format_path", "printable"]

KeyPath = tuple[str | int, ...]


_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


# A key longer than this is shown shortened: a message must not echo a megabyte of input.
MAX_KEY_SHOWN = 40


def format_path(path: Sequence[str | int]) -> str:
    """``("target", "local", "command", 0)`` -> ``target.local.command[0]``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
            continue
        key = step if len(step) <= MAX_KEY_SHOWN else step[: MAX_KEY_SHOWN - 3] + "..."
        if _PLAIN_KEY.match(key):
            text += f".{key}" if text else key
        else:
            text += f"[{printable(json.dumps(key, ensure_ascii=False))}]"
    return text or "(top level)"


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udc80``: they cannot be encoded, so
    printing one would fail with a traceback instead of showing the problem."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the config, at a key path."""

    path: KeyPath
    message: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"

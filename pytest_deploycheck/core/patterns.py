"""The regular expressions of OpenAPI schemas, read as JSON Schema reads them.

JSON Schema 2020-12 says a ``pattern`` (and a ``patternProperties`` key, and a string of
``format: regex``) is an ECMA-262 regular expression, and that it should be read with the
``u`` (unicode) flag. Python's ``re`` is another dialect: it rejects valid ECMA syntax
(``\\p{L}`` before 3.13, ``(?<name>...)``) and accepts invalid ones (``\\Z``, ``(?i)``), and its
``\\d`` and ``\\w`` match non-ASCII digits and letters. So every place that judges a spec's
pattern (validity, examples, the values the probes build) compiles it here, with the
``regress`` engine (a binding of Rust's ECMA-262 ``regress``) in that one mode, and says so
in what it reports: ``PATTERN_DIALECT``.
"""

from __future__ import annotations

from functools import lru_cache

import regress

__all__ = ["PATTERN_DIALECT", "PatternError", "compile_pattern", "pattern_problem", "search"]

PATTERN_DIALECT = "ECMA-262, u flag"
"""How patterns are read, as findings name it."""

_FLAGS = "u"


class PatternError(ValueError):
    """A pattern that is not a valid ECMA-262 regular expression (with the ``u`` flag)."""


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> regress.Regex | str:
    try:
        return regress.Regex(pattern, _FLAGS)
    except regress.RegressError as exc:
        return str(exc) or "invalid syntax"
    except UnicodeError:  # a lone surrogate (JSON can escape one: "\\ud800")
        return "it holds a lone surrogate, which is not a character"


def compile_pattern(pattern: str) -> regress.Regex:
    """``pattern`` compiled as ECMA-262 with the ``u`` flag; PatternError says why it is not."""
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        raise PatternError(compiled)
    return compiled


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid ECMA-262 regular expression (``u`` flag), or None."""
    compiled = _compiled(pattern)
    return compiled if isinstance(compiled, str) else None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``, as JSON Schema's ``pattern`` means.

    An invalid pattern raises PatternError.
    """
    compiled = compile_pattern(pattern)
    try:
        return compiled.find(text) is not None
    except UnicodeError:  # a lone surrogate in the text: read it as an unknown character
        readable = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return compiled.find(readable) is not None

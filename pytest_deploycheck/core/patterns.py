"""The regular expressions of OpenAPI schemas, read as JSON Schema reads them.

JSON Schema 2020-12 says a ``pattern`` (and a ``patternProperties`` key, and a string of
``format: regex``) is an ECMA-262 regular expression, and that it should be read with the
``u`` (unicode) flag. Python's ``re`` is another dialect: it rejects valid ECMA syntax
(``\\p{L}`` before 3.13, ``(?<name>...)``) and accepts invalid ones (``\\Z``, ``(?i)``), and its
``\\d`` and ``\\w`` match non-ASCII digits and letters. So every place that judges a spec's
pattern (validity, examples, the values the probes build) asks this module, which reads
patterns in that one mode and says so in what it reports: ``PATTERN_DIALECT``.

Whether a pattern is valid is decided by ``regress``, a binding of Rust's ECMA-262 engine.
Matching goes through ``jsonschema_rs`` where it can compile the pattern: it translates
ECMA-262's classes (an ASCII ``\\d``) to Rust's linear-time engine, and falls back to
backtracking only for lookaround and backreferences, with a limit. ``regress`` backtracks
without one, and public specs hold patterns such as ``([\\w .-]*)*`` that would take it
forever on a value that does not match; it matches only what ``jsonschema_rs`` cannot compile
(named backreferences, ``[^]``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import jsonschema_rs
import regress

__all__ = ["PATTERN_DIALECT", "PatternError", "pattern_problem", "search"]

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


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid ECMA-262 regular expression (``u`` flag), or None."""
    compiled = _compiled(pattern)
    return compiled if isinstance(compiled, str) else None


@lru_cache(maxsize=4096)
def _matcher(pattern: str) -> Callable[[str], bool]:
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        raise PatternError(compiled)
    try:
        validator = jsonschema_rs.validator_for({"pattern": pattern})
    except ValueError:  # valid ECMA-262 that jsonschema_rs does not translate
        return lambda text: _regress_search(compiled, text)

    def matches(text: str) -> bool:
        text = _readable(text)
        if validator.is_valid(text):
            return True
        # past its backtracking limit the engine cannot tell: not a reason to reject
        return all(
            isinstance(error.kind, jsonschema_rs.ValidationErrorKind.BacktrackLimitExceeded)
            for error in validator.iter_errors(text)
        )

    return matches


def _regress_search(compiled: regress.Regex, text: str) -> bool:
    return compiled.find(_readable(text)) is not None


def _readable(text: str) -> str:
    """``text`` as both engines can read it: a lone surrogate becomes an unknown character."""
    try:
        text.encode("utf-8")
    except UnicodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``, as JSON Schema's ``pattern`` means.

    An invalid pattern raises PatternError.
    """
    return _matcher(pattern)(text)

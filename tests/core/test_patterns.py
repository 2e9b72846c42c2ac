"""A spec's regular expressions: valid and matched as ECMA-262 with the u flag."""

from __future__ import annotations

import pytest

from pytest_deploycheck.core.patterns import PATTERN_DIALECT, PatternError, pattern_problem, search


def test_the_dialect_is_named_as_findings_say_it() -> None:
    assert PATTERN_DIALECT == "ECMA-262, u flag"


@pytest.mark.parametrize(
    "pattern",
    [
        "^\\p{Lu}[\\p{L}\\s'-]*$",  # unicode properties, which Python 3.11's re rejects
        "^(?<year>\\d{4})-\\k<year>$",  # ECMA's named groups and backreferences
        "^[a-z0-9\\-]+$",
        "[^]",  # any character, newlines included
        "(?<=@)\\w+",
    ],
)
def test_valid_ecma_patterns_have_no_problem(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("^[\\w-.]+$", "Invalid character range"),  # valid without the u flag
        ("^\\-?\\d+$", "Invalid character escape"),  # valid without the u flag
        ("(?i)abc", "Invalid group modifier"),  # valid in Python
        ("abc\\Z", "Invalid character escape"),  # valid in Python
        ("[a-", "Unbalanced bracket"),
        ("\ud800", "it holds a lone surrogate, which is not a character"),
    ],
)
def test_invalid_patterns_say_why(pattern: str, problem: str) -> None:
    assert pattern_problem(pattern) == problem
    with pytest.raises(PatternError, match=problem):
        search(pattern, "abc")


def test_matching_is_a_search_with_ecma_classes() -> None:
    assert search("b", "abc")  # JSON Schema's pattern is not anchored
    assert search("^\\d+$", "123")
    assert not search("^\\d+$", "١٢٣")  # ECMA's \d is ASCII; Python's is not
    assert not search("^\\w+$", "é")
    assert search("^\\p{Lu}{2}$", "ÉA")
    assert not search("^a.b$", "a\nb")  # "." stops at a line terminator
    # what the linear engine cannot compile is matched by regress
    assert search("^(?<y>\\d{4})-\\k<y>$", "2020-2020")
    assert not search("^(?<y>\\d{4})-\\k<y>$", "2020-2021")
    assert search("b", "\ud800b")  # a lone surrogate in the value is an unknown character


def test_a_pattern_with_nested_quantifiers_is_matched_in_bounded_time() -> None:
    # From a public spec: a backtracking engine (regress alone) would take exponential time,
    # years here, on a value that does not match it: lint would hang on that spec.
    url = "^(https?:\\/\\/)?([\\da-z\\.-]+)\\.([a-z\\.]{2,6})([\\/\\w \\.-]*)*\\/?$"
    assert not search(url, "https://www.example.com/" + "a" * 60 + ":")
    assert search(url, "https://www.example.com/path")
    # a backreference needs backtracking; past its limit a value is not rejected
    assert search("^(a|a)*(a|a)*(a|a)*\\1$", "a" * 30 + "b")

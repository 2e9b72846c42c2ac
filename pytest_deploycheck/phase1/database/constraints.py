"""The database side: what a migrated column's DEFAULT and CHECK clauses allow.

Literal defaults and ``CHECK (col IN (...))`` lists are read from the table's tokens and
compared as SQLite compares values (booleans are integers, 1 equals 1.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pytest_deploycheck.phase1.migrations import (
    Table,
    Token,
    check_clauses,
    significant_tokens,
)


def _literal(tokens: Sequence[Token]) -> tuple[bool, Any]:
    """``(True, value)`` when the tokens spell one SQL literal, else ``(False, None)``."""
    while len(tokens) >= 2 and tokens[0].text == "(" and tokens[-1].text == ")":
        tokens = tokens[1:-1]
    sign = 1
    if len(tokens) == 2 and tokens[0].text in ("-", "+"):
        sign = -1 if tokens[0].text == "-" else 1
        tokens = tokens[1:]
    if len(tokens) != 1:
        return False, None
    token = tokens[0]
    if token.kind == "string":
        return sign == 1, token.text[1:-1].replace("''", "'")
    if token.kind == "number":
        text = token.text
        if text.lower().startswith("0x"):
            return True, sign * int(text, 16)
        number = float(text)
        return True, sign * (int(number) if re.fullmatch(r"\d+", text) else number)
    if token.kind == "word" and token.upper in ("TRUE", "FALSE", "NULL"):
        return True, {"TRUE": 1, "FALSE": 0, "NULL": None}[token.upper]
    return False, None


def default_value(text: str | None) -> tuple[bool, Any]:
    """A column's DEFAULT as a Python value, when it is a literal (not CURRENT_TIMESTAMP)."""
    return (False, None) if text is None else _literal(significant_tokens(text))


def _in_lists(tokens: Sequence[Token]) -> Iterator[tuple[str, list[Any]]]:
    """Every ``column IN (literal, ...)`` of a CHECK clause, NOT IN and expressions left out."""
    for index, token in enumerate(tokens):
        if not (token.kind == "word" and token.upper == "IN") or index == 0:
            continue
        column = tokens[index - 1]
        if column.kind not in ("word", "ident") or column.upper == "NOT":
            continue
        if index + 1 >= len(tokens) or tokens[index + 1].text != "(":
            continue
        values: list[Any] = []
        element: list[Token] = []
        for inner in tokens[index + 2 :]:
            if inner.text in (",", ")"):
                ok, value = _literal(element)
                if not ok:
                    break
                if value is not None:
                    values.append(value)
                element = []
                if inner.text == ")":
                    yield column.name.lower(), values
                    break
            else:
                element.append(inner)


def check_enums(table: Table) -> dict[str, tuple[Any, ...]]:
    """The values a ``CHECK (col IN (...))`` allows, by lower-case column name."""
    allowed: dict[str, tuple[Any, ...]] = {}
    for clause in check_clauses(table.sql):
        for column, values in _in_lists(clause):
            if column in allowed:
                keep = {canon(v) for v in values}
                allowed[column] = tuple(v for v in allowed[column] if canon(v) in keep)
            else:
                allowed[column] = tuple(values)
    return allowed


def canon(value: Any) -> tuple[str, Any]:
    """A value as SQLite compares it: booleans are integers, 1 equals 1.0."""
    if isinstance(value, bool):
        return ("n", float(value))
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    return ("x", repr(value))

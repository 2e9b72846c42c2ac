"""SQL text: tokens, statements and allow comments, split as SQLite would."""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<blob>[xX]'[0-9a-fA-F]*')
  | (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<ident>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z)|\[[^\]]*(?:\]|\Z))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)
  | (?P<param>[?:@$][A-Za-z0-9_]*)
  | (?P<op>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One SQLite token: ``kind`` is space, comment, string, ident, word, number, op..."""

    kind: str
    text: str
    start: int

    @property
    def name(self) -> str:
        """The identifier a word or quoted identifier stands for, without its quotes."""
        if self.kind == "ident":
            inner = self.text[1:-1] if len(self.text) > 1 else ""
            quote = self.text[0]
            return inner if quote == "[" else inner.replace(quote * 2, quote)
        return self.text

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(sql: str) -> list[Token]:
    """Split SQL into tokens, comments and whitespace included (they are kept for lines)."""
    return [
        Token(match.lastgroup or "op", match.group(), match.start())
        for match in _TOKEN.finditer(sql)
    ]


def significant_tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` without whitespace and comments."""
    return [token for token in tokenize(sql) if token.kind not in ("space", "comment")]


_ALLOW = re.compile(
    r"^\s*deploycheck:\s*allow\s+(?P<rules>[A-Za-z0-9\-]+(?:\s*,\s*[A-Za-z0-9\-]+)*)"
    r"\s*(?:\((?P<reason>.*)\))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_DIRECTIVE = re.compile(r"^\s*deploycheck\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class AllowComment:
    """``-- deploycheck: allow migration-drop-column (reason)`` at a line of a file."""

    line: int
    rules: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a file, where it starts and ends, and what allows it."""

    sql: str
    line: int
    end_line: int
    allows: tuple[AllowComment, ...] = ()

    @property
    def keyword(self) -> str:
        """The first word, upper case: ``CREATE``, ``ALTER``, ``INSERT``, ``PRAGMA``..."""
        match = re.match(r"[A-Za-z_]+", self.sql)  # the text starts at its first token
        return match.group().upper() if match else ""

    @property
    def first_line(self) -> str:
        """The statement's first line, shortened for a message."""
        text = self.sql.strip().splitlines()[0].strip() if self.sql.strip() else ""
        return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class ParsedSql:
    """A migration file split into statements, with its file-wide allow comments.

    ``stray`` holds allow comments that apply to nothing (after the last statement) and
    ``unreadable`` the ``deploycheck:`` comments that could not be read, by line.
    """

    statements: tuple[Statement, ...]
    file_allows: tuple[AllowComment, ...] = ()
    stray: tuple[AllowComment, ...] = ()
    unreadable: tuple[tuple[int, str], ...] = ()


@dataclass
class _Comment:
    start_line: int
    end_line: int
    body: str


def parse_sql(text: str) -> ParsedSql:
    """Split a migration into statements with ``sqlite3.complete_statement``.

    The split happens at a semicolon only when SQLite agrees the text before it is complete,
    so semicolons inside strings, comments and trigger bodies do not cut a statement. A last
    statement without a semicolon still counts. Comments between statements are read for
    allow comments: on the lines directly above a statement they cover it; in the file's
    header, separated from the first statement by a blank line, they cover the file; on the
    line where the previous statement ends they belong to that statement.
    """
    line_starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def line_of(position: int) -> int:
        return bisect.bisect_right(line_starts, position)

    pieces: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer(";", text):
        if sqlite3.complete_statement(text[start : match.end()]):
            pieces.append((start, match.end()))
            start = match.end()
    if start < len(text):
        pieces.append((start, len(text)))

    raw: list[tuple[str, int, int, list[_Comment]]] = []  # sql, line, end line, comments
    pending: list[_Comment] = []
    for begin, end in pieces:
        body_start: int | None = None
        for token in tokenize(text[begin:end]):
            if token.kind == "comment":
                body = token.text[2:]
                if token.text.startswith("/*"):
                    body = body.removesuffix("*/")
                pending.append(
                    _Comment(
                        line_of(begin + token.start),
                        line_of(begin + token.start + max(len(token.text) - 1, 0)),
                        body,
                    )
                )
            elif token.kind != "space" and not (token.kind == "op" and token.text == ";"):
                body_start = begin + token.start
                break
        if body_start is None:
            continue  # only comments, whitespace or an empty statement: keep the comments
        sql = text[body_start:end].rstrip()
        raw.append((sql, line_of(body_start), line_of(body_start + max(len(sql) - 1, 0)), pending))
        pending = []

    unreadable: list[tuple[int, str]] = []

    def allows_in(comments: Iterable[_Comment]) -> list[AllowComment]:
        found = []
        for comment in comments:
            match = _ALLOW.match(comment.body)
            if match:
                rules = tuple(rule.strip().lower() for rule in match["rules"].split(","))
                found.append(
                    AllowComment(comment.start_line, rules, (match["reason"] or "").strip())
                )
            elif _DIRECTIVE.match(comment.body):
                unreadable.append((comment.start_line, comment.body.strip()))
        return found

    attached: list[list[AllowComment]] = [[] for _ in raw]
    file_allows: list[AllowComment] = []
    for index, (_sql, line, _end, comments) in enumerate(raw):
        previous_end = raw[index - 1][2] if index else None
        own: list[_Comment] = []
        for comment in comments:
            if previous_end is not None and comment.start_line == previous_end:
                attached[index - 1].extend(allows_in([comment]))
            else:
                own.append(comment)
        above: list[_Comment] = []
        next_line = line
        for comment in reversed(own):
            if comment.end_line >= next_line - 1:
                above.append(comment)
                next_line = comment.start_line
            else:
                break
        rest = own[: len(own) - len(above)]
        if index == 0:
            file_allows.extend(allows_in(rest))
        else:
            attached[index].extend(allows_in(rest))
        attached[index].extend(allows_in(reversed(above)))

    stray: list[AllowComment] = []
    if raw:
        last_end = raw[-1][2]
        for comment in pending:
            if comment.start_line == last_end:
                attached[-1].extend(allows_in([comment]))
            else:
                stray.extend(allows_in([comment]))
    else:
        file_allows.extend(allows_in(pending))

    statements = tuple(
        Statement(sql, line, end, tuple(attached[index]))
        for index, (sql, line, end, _comments) in enumerate(raw)
    )
    return ParsedSql(statements, tuple(file_allows), tuple(stray), tuple(sorted(unreadable)))

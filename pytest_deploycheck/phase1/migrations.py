"""The ``migrations`` check: D1-style numbered SQL migrations, applied, linted and locked.

A migrations folder holds ``NNNN_name.sql`` files that Cloudflare D1 (``wrangler d1
migrations apply``) runs in file-name order, each file as one batch. D1 itself checks none of
the following, so this module does, without an account and in milliseconds:

- every file in the folder is a migration, numbered from ``start`` with no gap or duplicate;
- every migration applies, statement by statement, to a fresh in-memory SQLite database with
  foreign keys on and each file in its own transaction, as on D1;
- no migration drops, renames or tightens what the deployed code relies on. This is decided
  by comparing the schema before and after each statement and each file (so D1's table
  rebuild, create-copy-drop-rename, is judged by its net effect), not by regexes.
  ``-- deploycheck: allow <rule> (reason)`` on the line before a statement accepts one
  knowingly; at the top of the file, followed by a blank line, it covers the whole file;
- no migration recorded in ``migrations.lock`` was edited, removed or preceded by a new one.

Pure functions do the work (``parse_sql``, ``check_numbering``, ``lint_migration``,
``compare_lock``); ``discover_migrations``, ``read_lock`` and ``write_lock`` touch files.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from itertools import pairwise
from pathlib import Path
from typing import Any

from pytest_deploycheck.core.errors import ConfigError, DeployCheckError
from pytest_deploycheck.core.findings import Finding, Severity, apply_severities
from pytest_deploycheck.core.units import parse_duration

__all__ = [
    "DEFAULT_FOLDER",
    "DEFAULT_LOCK_FILE",
    "DEFAULT_PATTERN",
    "DEFAULT_START",
    "DEFAULT_STATEMENT_TIMEOUT",
    "LOCK_VERSION",
    "RULES",
    "AllowComment",
    "AppliedMigration",
    "ApplyFailure",
    "Column",
    "ForeignKey",
    "Index",
    "Migration",
    "MigrationError",
    "MigrationRun",
    "MigrationSettings",
    "ParsedSql",
    "Statement",
    "Step",
    "Table",
    "Token",
    "apply_migrations",
    "check_clauses",
    "check_migrations",
    "check_numbering",
    "column_affinity",
    "column_origins",
    "compare_lock",
    "discover_migrations",
    "lint_migration",
    "lock_document",
    "normalized_checksum",
    "parse_sql",
    "read_lock",
    "read_schema",
    "significant_tokens",
    "timestamp_numbered",
    "tokenize",
    "write_lock",
]

DEFAULT_FOLDER = "migrations"
DEFAULT_PATTERN = r"^(\d+)_([A-Za-z0-9_\-]+)\.sql$"
DEFAULT_START = 1
# Numbers of this many digits or more are dates or times (20240131..., 1614782639336), not counts.
_TIMESTAMP_DIGITS = 8
DEFAULT_LOCK_FILE = "migrations.lock"
DEFAULT_STATEMENT_TIMEOUT = "30s"
_TIMEOUT_SECONDS = parse_duration(DEFAULT_STATEMENT_TIMEOUT)
LOCK_VERSION = 1

#: Every rule of the check and its default severity. ``migrations.rules`` overrides them.
RULES: Mapping[str, Severity] = {
    "migration-folder-missing": Severity.ERROR,
    "migration-filename": Severity.WARNING,
    "migration-empty": Severity.WARNING,
    "migration-encoding": Severity.ERROR,
    "migration-numbering-start": Severity.ERROR,
    "migration-numbering-gap": Severity.ERROR,
    "migration-numbering-duplicate": Severity.ERROR,
    "migration-numbering-order": Severity.ERROR,
    "migration-apply": Severity.ERROR,
    "migration-d1-unsupported": Severity.ERROR,
    "migration-foreign-keys-pragma": Severity.WARNING,
    "migration-drop-table": Severity.ERROR,
    "migration-rename-table": Severity.ERROR,
    "migration-drop-column": Severity.ERROR,
    "migration-rename-column": Severity.ERROR,
    "migration-not-null-without-default": Severity.ERROR,
    "migration-column-type": Severity.ERROR,
    "migration-constraint-tightened": Severity.ERROR,
    "migration-primary-key-changed": Severity.ERROR,
    "migration-default-dropped": Severity.ERROR,
    "migration-drop-unique": Severity.ERROR,
    "migration-drop-referenced-table": Severity.ERROR,
    "migration-unused-allow": Severity.WARNING,
    "migration-lock-missing": Severity.INFO,
    "migration-lock-invalid": Severity.ERROR,
    "migration-lock-modified": Severity.ERROR,
    "migration-lock-removed": Severity.ERROR,
    "migration-lock-order": Severity.ERROR,
    "migration-lock-new": Severity.INFO,
}

# D1 runs each migration file as one batch and rejects transaction control inside it; ATTACH
# and VACUUM are not available on D1 (and here they could write files next to the project).
_D1_UNSUPPORTED = {
    "BEGIN": "D1 runs each migration file as one transaction already; remove BEGIN",
    "COMMIT": "D1 runs each migration file as one transaction already; remove COMMIT",
    "END": "D1 runs each migration file as one transaction already; remove END",
    "ROLLBACK": "D1 does not accept ROLLBACK in a migration; remove it",
    "SAVEPOINT": "D1 does not accept SAVEPOINT in a migration; remove it",
    "RELEASE": "D1 does not accept RELEASE in a migration; remove it",
    "ATTACH": "D1 cannot ATTACH another database",
    "DETACH": "D1 cannot DETACH a database",
    "VACUUM": "D1 does not accept VACUUM in a migration",
}


class MigrationError(DeployCheckError):
    """Migration files or the lock file cannot be read or written, or locking would hide
    a problem (a locked migration edited, removed or preceded by a new one)."""


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationSettings:
    """The ``migrations`` section with its defaults applied and its paths resolved."""

    root: Path
    folder: Path
    pattern: re.Pattern[str]
    start: int = DEFAULT_START
    numbering: str = "auto"
    lock_file: Path = Path(DEFAULT_LOCK_FILE)
    ignore_files: tuple[str, ...] = ()
    foreign_keys: bool = True
    statement_timeout: float = _TIMEOUT_SECONDS
    severities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Mapping[str, Any], root: Path) -> MigrationSettings:
        """Read a validated ``migrations`` section; raise ConfigError on a bad pattern."""
        raw_pattern = str(section.get("pattern", DEFAULT_PATTERN))
        try:
            pattern = re.compile(raw_pattern)
        except re.error as exc:
            raise ConfigError(
                [
                    f"migrations.pattern: {raw_pattern!r} is not a valid regular expression "
                    f"({exc}); the default is {DEFAULT_PATTERN!r}"
                ]
            ) from None
        if pattern.groups == 0:
            raise ConfigError(
                [
                    f"migrations.pattern: {raw_pattern!r} has no group for the migration number; "
                    f"capture it in the first group or in (?P<number>...), as in "
                    f"{DEFAULT_PATTERN!r}"
                ]
            )
        return cls(
            root=root,
            folder=root / str(section.get("folder", DEFAULT_FOLDER)),
            pattern=pattern,
            start=int(section.get("start", DEFAULT_START)),
            numbering=str(section.get("numbering", "auto")),
            lock_file=root / str(section.get("lock_file", DEFAULT_LOCK_FILE)),
            ignore_files=tuple(str(item) for item in section.get("ignore_files", ())),
            foreign_keys=bool(section.get("foreign_keys", True)),
            statement_timeout=parse_duration(
                section.get("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)
            ),
            severities=dict(section.get("rules", {})),
        )

    def display(self, path: Path) -> str:
        """``migrations/0001_init.sql``: a path as users see it, relative to the project."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


# -- discovery and numbering -----------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, file name, location and content."""

    number: int
    name: str
    location: str
    content: bytes

    @property
    def text(self) -> str | None:
        """The SQL, or None when the file is not UTF-8 (which D1 requires)."""
        try:
            return self.content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None

    def at(self, line: int | None) -> str:
        """A location in this file: ``migrations/0003_x.sql:7``."""
        return self.location if line is None else f"{self.location}:{line}"


def discover_migrations(settings: MigrationSettings) -> tuple[list[Migration], list[Finding]]:
    """Read the migration files of the folder, in D1's order (by file name).

    Files that do not match the pattern are reported rather than silently ignored, so a typo
    such as ``001-init.sql`` or ``0003_x.SQL`` is noticed. Hidden files (``.gitkeep``) and
    folders are skipped; ``ignore_files`` globs skip others (``README.md``).
    """
    folder = settings.folder
    if not folder.is_dir():
        where = settings.display(folder)
        return [], [
            Finding(
                "migration-folder-missing",
                f"the migrations folder {where!r} does not exist; create it or set "
                f"migrations.folder (relative to the folder of deployment-config.json)",
                Severity.ERROR,
                where,
            )
        ]
    migrations: list[Migration] = []
    findings: list[Finding] = []
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise MigrationError(f"cannot list {settings.display(folder)}: {exc.strerror}") from None
    for path in entries:
        name = path.name
        if name.startswith(".") or not path.is_file():
            continue
        if any(fnmatch(name, glob) for glob in settings.ignore_files):
            continue
        match = settings.pattern.search(name)
        if match is None:
            findings.append(
                Finding(
                    "migration-filename",
                    f"{name!r} does not match the migration pattern "
                    f"{settings.pattern.pattern!r}, so it is not checked; rename it "
                    f"(such as 0001_create_users.sql) or list it in migrations.ignore_files",
                    Severity.WARNING,
                    settings.display(path),
                )
            )
            continue
        number_text = match.group("number") if "number" in match.re.groupindex else match[1]
        if number_text is None or not number_text.isdigit():
            findings.append(
                Finding(
                    "migration-filename",
                    f"{name!r} matches the migration pattern but its number group holds "
                    f"{number_text!r}, not digits; fix migrations.pattern",
                    Severity.WARNING,
                    settings.display(path),
                )
            )
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise MigrationError(f"cannot read {settings.display(path)}: {exc.strerror}") from None
        migrations.append(Migration(int(number_text), name, settings.display(path), content))
    return migrations, findings


def timestamp_numbered(migrations: Sequence[Migration]) -> bool:
    """Whether every number is a date or time (8 digits or more), as knex, Prisma, Rails and
    other tools name migrations: such numbers only rise, with gaps between them."""
    return bool(migrations) and all(
        len(str(migration.number)) >= _TIMESTAMP_DIGITS for migration in migrations
    )


def check_numbering(
    migrations: Sequence[Migration], start: int = DEFAULT_START, numbering: str = "auto"
) -> list[Finding]:
    """Numbers never repeat and sort like the file names; sequential numbers (D1's 0001,
    0002, ...) also start at ``start`` and rise by one. ``numbering`` "auto" takes numbers of
    8 digits or more for timestamps, which need not start anywhere or follow each other."""
    findings: list[Finding] = []
    if not migrations:
        return findings
    if numbering == "auto":
        numbering = "timestamp" if timestamp_numbered(migrations) else "sequential"
    sequential = numbering == "sequential"
    by_number = sorted(migrations, key=lambda m: (m.number, m.name))
    first = by_number[0]
    if sequential and first.number != start:
        findings.append(
            Finding(
                "migration-numbering-start",
                f"the first migration is number {first.number} ({first.name}) but numbering "
                f"starts at {start}; renumber it or set migrations.start",
                Severity.ERROR,
                first.location,
            )
        )
    for previous, current in pairwise(by_number):
        if current.number == previous.number:
            findings.append(
                Finding(
                    "migration-numbering-duplicate",
                    f"number {current.number} is used by both {previous.name} and "
                    f"{current.name}; give the later one the next free number",
                    Severity.ERROR,
                    current.location,
                )
            )
        elif sequential and current.number > previous.number + 1:
            missing = range(previous.number + 1, current.number)
            listed = ", ".join(str(n) for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
            what = f"number {listed} is" if len(missing) == 1 else f"numbers {listed} are"
            findings.append(
                Finding(
                    "migration-numbering-gap",
                    f"{what} missing between {previous.name} and {current.name}; renumber "
                    f"the files so the numbers follow each other (or set migrations.numbering "
                    f'to "timestamp" if the numbers are dates or times)',
                    Severity.ERROR,
                    current.location,
                )
            )
    # migrations arrive in file-name order, which is D1's
    for earlier, later in pairwise(migrations):
        if earlier.number > later.number:
            findings.append(
                Finding(
                    "migration-numbering-order",
                    f"D1 applies migrations in file-name order, so {earlier.name} (number "
                    f"{earlier.number}) runs before {later.name} (number {later.number}); pad "
                    f"every number to the same width (0001, 0002, ...)",
                    Severity.ERROR,
                    earlier.location,
                )
            )
            break
    return findings


# -- SQL text: tokens, statements and allow comments -----------------------------------------


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


# -- schema snapshots ------------------------------------------------------------------------


def column_affinity(declared: str, *, strict: bool = False) -> str:
    """SQLite's type affinity of a declared column type (section 3.1 of "Datatypes").

    Returns INTEGER, TEXT, BLOB (also for no declared type, and ANY in STRICT tables),
    REAL or NUMERIC.
    """
    upper = declared.upper()
    if strict and upper.strip() == "ANY":
        return "BLOB"
    if "INT" in upper:
        return "INTEGER"
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return "REAL"
    return "NUMERIC"


@dataclass(frozen=True)
class Column:
    """A column as ``PRAGMA table_xinfo`` reports it."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = 0

    @property
    def generated(self) -> bool:
        return self.hidden in (2, 3)

    def definition(self) -> tuple[str, bool, str | None, int, int]:
        """Everything but the name, to tell a changed column from a renamed one."""
        return (
            " ".join(self.type.upper().split()),
            self.notnull,
            self.default,
            self.pk,
            self.hidden,
        )


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of a table (``PRAGMA foreign_key_list``)."""

    columns: tuple[str, ...]
    table: str
    references: tuple[str | None, ...]
    on_update: str
    on_delete: str


@dataclass(frozen=True)
class Index:
    """An index of a table; origin is c (CREATE INDEX), u (UNIQUE) or pk (PRIMARY KEY)."""

    name: str
    columns: tuple[str, ...]
    unique: bool
    origin: str
    partial: bool
    where: str = ""


# (lower-case columns, WHERE clause of a partial index or "")
UniqueKey = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class Table:
    """One table or view of a schema snapshot."""

    name: str
    kind: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[str, ...] = ()
    sql: str = ""
    strict: bool = False
    without_rowid: bool = False

    def column(self, name: str) -> Column | None:
        """The column called ``name``; SQLite compares column names case-insensitively."""
        folded = name.lower()
        return next((column for column in self.columns if column.name.lower() == folded), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((column.pk, column.name) for column in self.columns if column.pk)
        return tuple(name for _pk, name in keyed)

    def unique_keys(self) -> dict[UniqueKey, str]:
        """Index name by the column set (and WHERE of a partial index) it makes unique.

        The PRIMARY KEY is left out; it has a rule of its own.
        """
        return {
            (tuple(column.lower() for column in index.columns), index.where): index.name
            for index in self.indexes
            if index.unique and index.origin != "pk"
        }

    def is_rowid_alias(self, column: Column) -> bool:
        """Whether the column is an INTEGER PRIMARY KEY, which can never hold NULL."""
        return (
            not self.without_rowid
            and self.primary_key == (column.name,)
            and column.type.strip().upper() == "INTEGER"
        )

    def never_null(self, column: Column) -> bool:
        """NOT NULL, a rowid alias, or a PRIMARY KEY column where SQLite enforces NOT NULL."""
        return (
            column.notnull
            or self.is_rowid_alias(column)
            or (column.pk > 0 and (self.strict or self.without_rowid))
        )


Schema = Mapping[str, Table]


def check_clauses(sql: str) -> list[list[Token]]:
    """The tokens inside every ``CHECK (...)`` of a CREATE TABLE statement."""
    tokens = significant_tokens(sql)
    clauses = []
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.upper == "CHECK" and index + 1 < len(tokens):
            if tokens[index + 1].text != "(":
                continue
            depth = 0
            for end in range(index + 1, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[end].text, 0)
                if depth == 0:
                    clauses.append(tokens[index + 2 : end])
                    break
    return clauses


def _normalized(tokens: Sequence[Token]) -> str:
    """SQL text in one canonical spelling: lower case outside strings, single spaces."""
    parts: list[str] = []
    for token in tokens:
        text = token.text if token.kind in ("string", "blob") else token.name.lower()
        if parts and text not in (")", ",") and parts[-1] != "(":
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


_WORD_OR_STRING = re.compile(r"'(?:[^']|'')*'|([a-z_][a-z0-9_$]*)")


def _words(text: str) -> set[str]:
    """The identifiers and keywords of normalised SQL, string literals left out."""
    return {match[1] for match in _WORD_OR_STRING.finditer(text) if match[1]}


def _rename_words(text: str, renames: Mapping[str, str]) -> str:
    return _WORD_OR_STRING.sub(
        lambda match: renames.get(match[1], match[1]) if match[1] else match[0], text
    )


def _where_clause(sql: str | None) -> str:
    if not sql:
        return ""
    tokens = significant_tokens(sql)
    for index, token in enumerate(tokens):
        if token.kind == "word" and token.upper == "WHERE":
            return _normalized(tokens[index + 1 :]).rstrip(" ;")
    return ""


def _columns(connection: sqlite3.Connection, name: str, kind: str) -> tuple[Column, ...]:
    """The columns of a table or view. A view whose source is gone for the moment (a
    migration dropping and re-creating a view another view reads) has none to read; SQLite
    allows that state, and so does this snapshot."""
    try:
        rows = connection.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall()
    except sqlite3.OperationalError:
        if kind != "view":
            raise
        return ()
    return tuple(
        Column(str(row[1]), str(row[2] or ""), bool(row[3]), row[4], int(row[5]), int(row[6]))
        for row in rows
    )


def read_schema(connection: sqlite3.Connection) -> dict[str, Table]:
    """A snapshot of the user tables and views of the main database of ``connection``."""
    sql_of = {
        str(name): str(sql or "")
        for kind, name, sql in connection.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', 'view', 'index')"
        )
        if kind in ("table", "view", "index")
    }
    tables: dict[str, Table] = {}
    for schema, name, kind, _ncol, without_rowid, strict in connection.execute(
        "PRAGMA table_list"
    ).fetchall():
        if schema != "main" or name.startswith("sqlite_") or kind == "shadow":
            continue
        columns = _columns(connection, name, kind)
        indexes = []
        for _seq, index_name, unique, origin, partial in connection.execute(
            "SELECT * FROM pragma_index_list(?)", (name,)
        ).fetchall():
            index_columns = tuple(
                str(row[2]) if row[2] is not None else "<expression>"
                for row in connection.execute("SELECT * FROM pragma_index_info(?)", (index_name,))
            )
            indexes.append(
                Index(
                    str(index_name),
                    index_columns,
                    bool(unique),
                    str(origin),
                    bool(partial),
                    _where_clause(sql_of.get(str(index_name))) if partial else "",
                )
            )
        groups: dict[int, list[tuple[Any, ...]]] = {}
        for row in connection.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)):
            groups.setdefault(int(row[0]), []).append(tuple(row))
        foreign_keys = tuple(
            ForeignKey(
                tuple(str(row[3]) for row in rows),
                str(rows[0][2]),
                tuple(row[4] for row in rows),
                str(rows[0][5]),
                str(rows[0][6]),
            )
            for _id, rows in sorted(groups.items())
        )
        sql = sql_of.get(name, "")
        checks = (
            tuple(_normalized(clause) for clause in check_clauses(sql)) if kind == "table" else ()
        )
        tables[name] = Table(
            name,
            str(kind),
            columns,
            tuple(sorted(indexes, key=lambda index: index.name)),
            foreign_keys,
            checks,
            sql,
            bool(strict),
            bool(without_rowid),
        )
    return tables


# -- applying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One executed statement with the schema before and after it.

    ``deferred`` is ``PRAGMA defer_foreign_keys`` when the statement ran: whether foreign
    key violations wait for the end of the migration's transaction.
    """

    statement: Statement
    before: Schema
    after: Schema
    deferred: bool = False


@dataclass(frozen=True)
class AppliedMigration:
    """A migration that applied, with its statements' steps and what was left out."""

    migration: Migration
    parsed: ParsedSql
    steps: tuple[Step, ...]
    before: Schema
    after: Schema
    skipped: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class ApplyFailure:
    """Why a migration did not apply: the file, the failing statement and SQLite's message."""

    migration: Migration
    statement: Statement | None
    message: str

    def describe(self) -> str:
        if self.statement is None:
            return f"{self.migration.name} {self.message}"
        return (
            f"{self.migration.name} line {self.statement.line} "
            f"({self.statement.first_line!r}): {self.message}"
        )


@dataclass
class MigrationRun:
    """The result of applying migrations: the open database and what happened on the way."""

    connection: sqlite3.Connection
    applied: list[AppliedMigration]
    failure: ApplyFailure | None = None

    @property
    def schema(self) -> Schema:
        """The schema after the last migration that applied."""
        return self.applied[-1].after if self.applied else {}


def _schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA schema_version").fetchone()[0])


def apply_migrations(
    migrations: Sequence[Migration],
    *,
    foreign_keys: bool = True,
    statement_timeout: float = _TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> MigrationRun:
    """Apply migrations in order to a fresh in-memory SQLite database, as D1 would.

    Foreign keys are on, as D1 always has them, and each file runs in one transaction, as a
    D1 batch does: a failing statement rolls its whole file back and stops the run. The
    schema is read again only when ``PRAGMA schema_version`` says a statement changed it.
    A statement still running after ``statement_timeout`` seconds is stopped and fails.
    """
    # isolation_level=None: no implicit transactions; each file gets exactly one, ours
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    deadline = math.inf

    def over_time() -> int:
        return 1 if clock() > deadline else 0  # non-zero interrupts the running statement

    connection.set_progress_handler(over_time, 10_000)
    schema: Schema = read_schema(connection)
    version = _schema_version(connection)
    run = MigrationRun(connection, [])
    for migration in migrations:
        text = migration.text
        if text is None:
            run.failure = ApplyFailure(
                migration, None, "is not UTF-8 text, which D1 requires; save it as UTF-8"
            )
            break
        parsed = parse_sql(text)
        before_file = schema
        steps: list[Step] = []
        skipped: list[Statement] = []
        connection.execute("BEGIN")
        failure: ApplyFailure | None = None
        for statement in parsed.statements:
            if statement.keyword in _D1_UNSUPPORTED:
                skipped.append(statement)
                continue
            deferred = bool(connection.execute("PRAGMA defer_foreign_keys").fetchone()[0])
            deadline = clock() + statement_timeout
            try:
                # rows a SELECT returns are not needed; close() ends the statement
                connection.execute(statement.sql).close()
            except (sqlite3.Error, sqlite3.Warning) as exc:
                message = str(exc)
                if message == "interrupted":
                    message = (
                        f"still running after {statement_timeout:g} s (an endless recursive "
                        f"query?), so it was stopped"
                    )
                failure = ApplyFailure(migration, statement, message)
                break
            finally:
                deadline = math.inf
            current = _schema_version(connection)
            after = read_schema(connection) if current != version else schema
            version = current
            steps.append(Step(statement, schema, after, deferred))
            schema = after
        if failure is None:
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                last = parsed.statements[-1] if parsed.statements else None
                failure = ApplyFailure(
                    migration, last, f"when the migration's transaction commits: {exc}"
                )
        if failure is not None:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            run.failure = failure
            break
        run.applied.append(
            AppliedMigration(migration, parsed, tuple(steps), before_file, schema, tuple(skipped))
        )
    return run


def column_origins(run: MigrationRun) -> dict[tuple[str, str], str]:
    """Where each column of the final schema was created or last altered.

    Keys are ``(table, column)`` in lower case, values ``migrations/0003_x.sql:7``. A table
    rebuilt without changing a column keeps that column's earlier origin.
    """
    origins: dict[tuple[str, str], str] = {}
    seen: dict[tuple[str, str], tuple[tuple[Any, ...], str]] = {}  # outlives dropped tables
    for applied in run.applied:
        for step in applied.steps:
            if step.before is step.after:
                continue
            where = applied.migration.at(step.statement.line)
            gone = set(step.before) - set(step.after)
            new = set(step.after) - set(step.before)
            renamed = {}
            if step.statement.keyword == "ALTER" and len(gone) == 1 and len(new) == 1:
                renamed = {next(iter(new)): next(iter(gone))}
            for name, table in step.after.items():
                old_table = step.before.get(renamed.get(name, name))
                for column in table.columns:
                    key = (name.lower(), column.name.lower())
                    definition = column.definition()
                    previous = seen.get(key)
                    old_column = old_table.column(column.name) if old_table else None
                    if previous and previous[0] == definition:
                        origin = previous[1]
                    elif old_column is not None and old_column.definition() == definition:
                        assert old_table is not None
                        origin = origins.get((old_table.name.lower(), column.name.lower()), where)
                    else:
                        origin = where
                    origins[key] = origin
                    seen[key] = (definition, origin)
            for name in gone - set(renamed.values()):
                for column in step.before[name].columns:
                    origins.pop((name.lower(), column.name.lower()), None)
    return origins


# -- lint ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Issue:
    """A finding before allow comments apply. ``lines`` are the statements it is about (the
    first one is reported); an allow comment above any of them accepts it."""

    rule: str
    message: str
    lines: tuple[int, ...]

    def finding(self, migration: Migration, severity: Severity) -> Finding:
        return Finding(self.rule, self.message, severity, migration.at(self.lines[0]))


# A table's identity survives ALTER TABLE ... RENAME: ("start", name) for the tables that
# exist when the migration starts, ("new", line) for one created by the statement at line.
_Identity = tuple[str, str | int]


@dataclass
class _Trace:
    """What the statements of one migration did, table by table."""

    identity: dict[str, _Identity]
    created: dict[_Identity, int] = field(default_factory=dict)
    gone_at: dict[str, int] = field(default_factory=dict)
    back_at: dict[str, int] = field(default_factory=dict)
    table_changed: dict[_Identity, int] = field(default_factory=dict)
    column_changed: dict[tuple[_Identity, str], int] = field(default_factory=dict)
    column_gone: dict[tuple[_Identity, str], int] = field(default_factory=dict)
    column_renames: dict[_Identity, dict[str, str]] = field(default_factory=dict)
    unique_gone: dict[tuple[_Identity, UniqueKey], int] = field(default_factory=dict)
    unique_added: dict[tuple[_Identity, UniqueKey], int] = field(default_factory=dict)
    # old name -> new name (lower case): SQLite rewrites foreign keys along with a rename
    table_renames: dict[str, str] = field(default_factory=dict)

    def _renamed(self, old: str, new: str) -> None:
        for key, value in list(self.table_renames.items()):
            if value == old:
                self.table_renames[key] = new
        self.table_renames.setdefault(old, new)

    def record(self, step: Step, holding: Collection[str]) -> list[_Issue]:
        """Follow one schema-changing statement; return the hazards of the tables it drops."""
        line = step.statement.line
        before, after = step.before, step.after
        gone = sorted(set(before) - set(after))
        new = sorted(set(after) - set(before))
        renames: dict[str, str] = {}
        if step.statement.keyword == "ALTER" and len(gone) == 1 and len(new) == 1:
            renames = {gone[0]: new[0]}
        issues: list[_Issue] = []
        for name in gone:
            self.gone_at[name] = line
            if name in renames:
                self.identity[renames[name]] = self.identity.pop(name)
                self._renamed(name.lower(), renames[name].lower())
                continue
            issues.extend(_drop_hazards(name, step, self.identity, holding))
            self.identity.pop(name, None)
        for name in new:
            self.back_at[name] = line
            if name in renames.values():
                continue
            ident: _Identity = ("new", line)
            self.identity[name] = ident
            self.created[ident] = line
            for column in after[name].columns:
                self.column_changed[(ident, column.name.lower())] = line
        pairs = [*((name, name) for name in sorted(set(before) & set(after))), *renames.items()]
        for old_name, new_name in pairs:
            old, current = before[old_name], after[new_name]
            if old == current:
                continue
            ident = self.identity[new_name]
            self.table_changed[ident] = line
            old_columns = {c.name.lower(): c for c in old.columns}
            new_columns = {c.name.lower(): c for c in current.columns}
            lost = [c for c in old.columns if c.name.lower() not in new_columns]
            added = [c for c in current.columns if c.name.lower() not in old_columns]
            if (
                step.statement.keyword == "ALTER"
                and len(lost) == 1
                and len(added) == 1
                and lost[0].definition() == added[0].definition()
                and old.columns.index(lost[0]) == current.columns.index(added[0])
            ):
                mapping = self.column_renames.setdefault(ident, {})
                was = lost[0].name.lower()
                original = next((k for k, v in mapping.items() if v == was), was)
                mapping[original] = added[0].name.lower()
            for column in lost:
                self.column_gone[(ident, column.name.lower())] = line
            for column in current.columns:
                previous = old_columns.get(column.name.lower())
                if previous is None or previous.definition() != column.definition():
                    self.column_changed[(ident, column.name.lower())] = line
            for key in set(old.unique_keys()) - set(current.unique_keys()):
                self.unique_gone[(ident, key)] = line
            for key in set(current.unique_keys()) - set(old.unique_keys()):
                self.unique_added[(ident, key)] = line
        return issues


def lint_migration(
    applied: AppliedMigration, deployed: Collection[str] | None = None
) -> list[_Issue]:
    """Destructive and backward-incompatible changes of one applied migration.

    Each statement's schemas before and after tell renames and which statement changed what;
    the schemas at the start and the end of the file tell the net effect, so a D1 table
    rebuild (create new, copy, drop old, rename new) is judged by what it changes instead of
    being reported as a dropped and a renamed table. ``deployed`` names the tables that hold
    production data (default: every table that exists when the migration starts); changes
    to other tables harm nothing.
    """
    start, end = applied.before, applied.after
    holding = {name for name in start if deployed is None or name in deployed}
    trace = _Trace({name: ("start", name) for name in start})
    issues: list[_Issue] = []
    for step in applied.steps:
        issues.extend(_statement_issues(step.statement))
        if step.before is not step.after:
            issues.extend(trace.record(step, holding))
    for name in sorted(holding):
        issues.extend(_net_changes(name, start[name], end.get(name), trace))
    for statement in applied.skipped:
        issues.append(
            _Issue(
                "migration-d1-unsupported",
                f"{_D1_UNSUPPORTED[statement.keyword]} ({statement.first_line!r}); "
                f"it was left out here",
                (statement.line,),
            )
        )
    return sorted(issues, key=lambda issue: (issue.lines[0], issue.rule))


def _statement_issues(statement: Statement) -> list[_Issue]:
    """What a statement's text alone gets wrong for D1."""
    if statement.keyword != "PRAGMA":
        return []
    words = [token.name.lower() for token in significant_tokens(statement.sql)]
    if "foreign_keys" not in words:
        return []
    return [
        _Issue(
            "migration-foreign-keys-pragma",
            "PRAGMA foreign_keys has no effect inside a D1 migration (it runs in a "
            "transaction, with foreign keys always on); use PRAGMA defer_foreign_keys = on "
            "to rebuild a table that others reference",
            (statement.line,),
        )
    ]


def _drop_hazards(
    name: str, step: Step, identity: Mapping[str, _Identity], holding: Collection[str]
) -> list[_Issue]:
    """What dropping ``name`` does to the tables that reference it, on production data.

    With foreign keys on, DROP TABLE first deletes every row, which fires the ON DELETE
    actions of the referencing tables and, unless checks are deferred, fails on referencing
    rows. This holds even when the table was renamed first (as in the rebuild that renames
    the old table away), since SQLite moves the references along with the rename.
    """

    def has_rows(table: str) -> bool:
        # a table that held data, under any name, or one that took such a table's place
        ident = identity.get(table)
        return table in holding or (
            ident is not None and ident[0] == "start" and ident[1] in holding
        )

    if not has_rows(name):
        return []
    issues = []
    for child in step.before.values():
        if child.name == name or not has_rows(child.name):
            continue
        for key in child.foreign_keys:
            if key.table.lower() != name.lower():
                continue
            columns = ", ".join(f"{child.name}.{column}" for column in key.columns)
            action = key.on_delete.upper()
            if action == "CASCADE":
                effect = f"deletes every row of {child.name} (ON DELETE CASCADE on {columns})"
            elif action in ("SET NULL", "SET DEFAULT"):
                effect = f"sets {columns} to {action.removeprefix('SET ')} in every row"
            elif action == "RESTRICT":
                effect = f"fails once {child.name} has a row (ON DELETE RESTRICT on {columns})"
            elif step.deferred:
                continue  # checked at commit, against the table that replaces it
            else:
                effect = (
                    f"fails once {child.name} has a row referencing it ({columns}); put "
                    f"PRAGMA defer_foreign_keys = on at the top of the migration"
                )
            issues.append(
                _Issue(
                    "migration-drop-referenced-table",
                    f"DROP TABLE {name} deletes its rows first (foreign keys are on in D1), "
                    f"which in production {effect}",
                    (step.statement.line,),
                )
            )
    return issues


def _table_word(table: Table) -> str:
    return "view" if table.kind == "view" else "table"


def _net_changes(name: str, old: Table, current: Table | None, trace: _Trace) -> list[_Issue]:
    """The net change of one table that held data when the migration started."""
    if current is None:
        final = next((n for n, i in trace.identity.items() if i == ("start", name)), None)
        line = (trace.gone_at.get(name, 1),)
        if final is not None:
            return [
                _Issue(
                    "migration-rename-table",
                    f"renames {_table_word(old)} {name} to {final}: the code deployed now "
                    f"uses {name} until the new version is live, and so would a rollback; add "
                    f"{final}, move the code over, and drop {name} in a later release",
                    line,
                )
            ]
        what = f"view {name}" if old.kind == "view" else f"table {name} and its data"
        return [
            _Issue(
                "migration-drop-table",
                f"drops {what}: the code deployed now, and a rollback, still use it; stop "
                "using it first and drop it in a later release",
                line,
            )
        ]
    if old.kind != "table" or current.kind != "table" or old == current:
        return []
    return _TableDiff(name, old, current, trace).issues()


@dataclass
class _TableDiff:
    """The net changes of a table that exists before and after a migration."""

    name: str
    old: Table
    current: Table
    trace: _Trace
    issues_found: list[_Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ident = self.trace.identity[self.name]
        self.rebuilt = self.ident != ("start", self.name)
        trace = self.trace
        if self.rebuilt:
            begun = trace.created.get(self.ident) or trace.gone_at.get(self.name, 1)
            others = {trace.gone_at.get(self.name, begun), trace.back_at.get(self.name, begun)}
            self.anchor: tuple[int, ...] = (begun, *sorted(others - {begun}))
            self.how = f" (rebuilt at line {begun})"
        else:
            self.anchor = ()
            self.how = ""
        # the new table of a rebuild starts with the old column names, so renames made
        # after it map old names just as renames of the table itself do
        self.renames: Mapping[str, str] = trace.column_renames.get(self.ident, {})

    def at(self, column: str | None = None, *, gone: bool = False) -> tuple[int, ...]:
        """The statements an issue about ``column`` points at."""
        if self.anchor:
            return self.anchor
        fallback = self.trace.table_changed.get(self.ident, 1)
        where = self.trace.column_gone if gone else self.trace.column_changed
        return (where.get((self.ident, column), fallback),) if column else (fallback,)

    def add(self, rule: str, message: str, lines: tuple[int, ...]) -> None:
        self.issues_found.append(_Issue(rule, message, lines))

    def issues(self) -> list[_Issue]:
        mapped = self._columns()
        self._new_columns(set(mapped.values()))
        self._keys(mapped)
        return self.issues_found

    def remap(self, columns: Iterable[str], mapped: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(mapped.get(c.lower(), c.lower()) for c in columns)

    def _columns(self) -> dict[str, str]:
        """Compare the old columns with what became of them; old name -> new name."""
        name, how = self.name, self.how
        mapped: dict[str, str] = {}
        for column in self.old.columns:
            key = column.name.lower()
            target = self.renames.get(key, key)
            replacement = self.current.column(target)
            if replacement is None:
                self.add(
                    "migration-drop-column",
                    f"drops column {name}.{column.name}{how}: the code deployed now still "
                    f"reads or writes it; stop using it first and drop it in a later release",
                    self.at(key, gone=True),
                )
                continue
            mapped[key] = target
            if target != key:
                self.add(
                    "migration-rename-column",
                    f"renames column {name}.{column.name} to {replacement.name}: the code "
                    f"deployed now still uses {column.name}; add the new column, copy the "
                    f"data, and drop the old one in a later release",
                    (self.trace.column_changed.get((self.ident, target), 1), *self.anchor),
                )
            old_affinity = column_affinity(column.type, strict=self.old.strict)
            new_affinity = column_affinity(replacement.type, strict=self.current.strict)
            if old_affinity != new_affinity:
                self.add(
                    "migration-column-type",
                    f"changes the type of {name}.{column.name} from {column.type or 'none'} "
                    f"({old_affinity} affinity) to {replacement.type or 'none'} "
                    f"({new_affinity} affinity){how}: existing values are converted or kept "
                    f"as they were, and the code deployed now reads them differently",
                    self.at(target),
                )
            if not column.notnull and replacement.notnull and not self.old.is_rowid_alias(column):
                self.add(
                    "migration-constraint-tightened",
                    f"makes {name}.{column.name} NOT NULL{how}: fails in production if a row "
                    f"holds NULL, and the code deployed now may still write NULL",
                    self.at(target),
                )
            if column.default is not None and replacement.default is None and replacement.notnull:
                self.add(
                    "migration-default-dropped",
                    f"removes the default ({column.default}) of NOT NULL column "
                    f"{name}.{column.name}{how}: inserts by the code deployed now that leave "
                    f"it out start to fail",
                    self.at(target),
                )
        return mapped

    def _new_columns(self, kept: set[str]) -> None:
        for column in self.current.columns:
            key = column.name.lower()
            if key in kept or not column.notnull or column.default is not None:
                continue
            if column.generated or column.pk:
                continue
            self.add(
                "migration-not-null-without-default",
                f"adds NOT NULL column {self.name}.{column.name} without a default{self.how}: "
                f"it applies to an empty table but fails on one with rows, as in production, "
                f"and inserts by the code deployed now fail; add a DEFAULT",
                self.at(key),
            )

    def _keys(self, mapped: Mapping[str, str]) -> None:
        """Primary key, unique keys, CHECK constraints and foreign keys."""
        name, how, old, current = self.name, self.how, self.old, self.current
        old_pk = self.remap(old.primary_key, mapped)
        new_pk = tuple(column.lower() for column in current.primary_key)
        if old_pk != new_pk:
            self.add(
                "migration-primary-key-changed",
                f"changes the primary key of {name} from ({', '.join(old.primary_key) or 'rowid'}"
                f") to ({', '.join(current.primary_key) or 'rowid'}){how}: the code deployed "
                f"now addresses rows differently",
                self.at(new_pk[0] if new_pk else None),
            )
        old_unique = {
            (self.remap(columns, mapped), where): (columns, where, index)
            for (columns, where), index in old.unique_keys().items()
        }
        new_unique = current.unique_keys()
        for key, (columns, where, index) in old_unique.items():
            if key not in new_unique:
                lines = self.anchor or (
                    self.trace.unique_gone.get((self.ident, (columns, where)), self.at()[0]),
                )
                self.add(
                    "migration-drop-unique",
                    f"removes the uniqueness of {name} ({', '.join(columns)}) that index "
                    f"{index} enforced{how}: duplicates the code relies on being impossible "
                    f"can now be stored",
                    lines,
                )
        existing = set(mapped.values())
        for (columns, where), index in new_unique.items():
            if (columns, where) in old_unique or not all(c in existing for c in columns):
                continue
            self.add(
                "migration-constraint-tightened",
                f"makes {name} ({', '.join(columns)}) unique"
                f"{f' where {where}' if where else ''} with index {index}{how}: fails in "
                f"production if existing rows hold duplicates",
                self.anchor or (self.trace.unique_added.get((self.ident, (columns, where)), 1),),
            )
        renamed_checks = {_rename_words(check, mapped) for check in old.checks}
        for check in current.checks:
            if check in renamed_checks:
                continue
            if not _words(check) & existing:
                continue  # only about new columns: the code deployed now never writes them
            self.add(
                "migration-constraint-tightened",
                f"adds CHECK ({check}) to {name}{how}: fails in production if an existing "
                f"row violates it, and rejects writes the code deployed now may make",
                self.at(),
            )
        renamed_tables = self.trace.table_renames
        old_keys = {
            (
                self.remap(k.columns, mapped),
                renamed_tables.get(k.table.lower(), k.table.lower()),
                _lowered(k.references),
            )
            for k in old.foreign_keys
        }
        for foreign in current.foreign_keys:
            signature = (
                tuple(c.lower() for c in foreign.columns),
                foreign.table.lower(),
                _lowered(foreign.references),
            )
            if signature in old_keys or not all(c in existing for c in signature[0]):
                continue
            self.add(
                "migration-constraint-tightened",
                f"adds FOREIGN KEY ({', '.join(foreign.columns)}) REFERENCES {foreign.table} "
                f"to {name}{how}: fails in production if an existing row references nothing",
                self.at(signature[0][0]),
            )


def _lowered(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(str(name).lower() for name in names)


def _apply_allows(
    applied: AppliedMigration, issues: Sequence[_Issue]
) -> tuple[list[_Issue], list[Finding]]:
    """Drop the issues an allow comment accepts; report the allow comments nothing used."""
    parsed = applied.parsed
    by_line = {statement.line: statement for statement in parsed.statements}
    used: set[tuple[int, str]] = set()
    kept: list[_Issue] = []
    for issue in issues:
        accepted = False
        for allow in parsed.file_allows:
            if issue.rule in allow.rules:
                used.add((allow.line, issue.rule))
                accepted = True
        for line in issue.lines:
            statement = by_line.get(line)
            for allow in statement.allows if statement else ():
                if issue.rule in allow.rules:
                    used.add((allow.line, issue.rule))
                    accepted = True
        if not accepted:
            kept.append(issue)
    unused: list[Finding] = []
    migration = applied.migration
    every = [*parsed.file_allows, *(a for s in parsed.statements for a in s.allows)]
    for allow in sorted(every, key=lambda a: a.line):
        for rule in allow.rules:
            if rule not in RULES:
                message = (
                    f"allow comment names {rule!r}, which is not a rule of this check "
                    f"(rules look like migration-drop-column)"
                )
            elif (allow.line, rule) not in used:
                covers = "the file" if allow in parsed.file_allows else "the statement below it"
                message = (
                    f"allow comment for {rule} accepts nothing: {covers} does not trigger "
                    f"{rule}; remove the comment"
                )
            else:
                continue
            unused.append(
                Finding(
                    "migration-unused-allow", message, Severity.WARNING, migration.at(allow.line)
                )
            )
    for allow in parsed.stray:
        unused.append(
            Finding(
                "migration-unused-allow",
                f"allow comment for {', '.join(allow.rules)} is not followed by a statement; "
                f"put it on the line before the statement it accepts",
                Severity.WARNING,
                migration.at(allow.line),
            )
        )
    for line, body in parsed.unreadable:
        unused.append(
            Finding(
                "migration-unused-allow",
                f"cannot read {body!r}; write -- deploycheck: allow <rule> (reason)",
                Severity.WARNING,
                migration.at(line),
            )
        )
    return kept, unused


# -- lock file -------------------------------------------------------------------------------


def normalized_checksum(content: bytes) -> str:
    """SHA-256 of a migration with the BOM, line endings and trailing blanks normalised.

    Re-saving a file with CRLF line endings or an editor that trims trailing spaces does not
    count as an edit; any other change, comments included, does (as in Flyway).
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return hashlib.sha256(content).hexdigest()
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def read_lock(path: Path) -> dict[str, str] | None:
    """The locked checksums by file name, or None when there is no lock file.

    Raises MigrationError when the file is not a lock file this version can read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"{path.name}: cannot read the lock file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(
            f"{path.name}:{exc.lineno}: not valid JSON ({exc.msg}); restore it from version "
            f"control or write it again with `deploycheck migrations lock`"
        ) from None
    entries = data.get("migrations") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise MigrationError(
            f"{path.name}: lock format version {version!r} is not {LOCK_VERSION}; write it "
            f"again with `deploycheck migrations lock`"
        )
    if not isinstance(entries, dict) or not all(
        isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in entries.values()
    ):
        raise MigrationError(
            f"{path.name}: 'migrations' must map file names to sha256 hex digests; write it "
            f"again with `deploycheck migrations lock`"
        )
    return {str(name): str(digest) for name, digest in entries.items()}


def compare_lock(
    locked: Mapping[str, str], migrations: Sequence[Migration], lock_location: str
) -> list[Finding]:
    """Locked migrations must be unchanged and present; new ones must sort after them."""
    findings: list[Finding] = []
    current = {migration.name: migration for migration in migrations}
    for name in sorted(locked):
        migration = current.get(name)
        if migration is None:
            findings.append(
                Finding(
                    "migration-lock-removed",
                    f"{name} is locked but no longer exists: production databases have "
                    f"applied it, and a fresh one would not; restore it (to undo it, add a "
                    f"new migration)",
                    Severity.ERROR,
                    lock_location,
                )
            )
        elif normalized_checksum(migration.content) != locked[name]:
            findings.append(
                Finding(
                    "migration-lock-modified",
                    f"{name} was edited after it was locked: databases that already applied "
                    f"it will not run it again, so they differ from fresh ones; revert the "
                    f"edit and add a new migration, or re-lock if it never left your machine",
                    Severity.ERROR,
                    migration.location,
                )
            )
    last = max(locked) if locked else None
    for migration in migrations:
        if migration.name in locked:
            continue
        if last is not None and migration.name < last:
            findings.append(
                Finding(
                    "migration-lock-order",
                    f"{migration.name} is new but sorts before {last}, which is already "
                    f"locked: D1 would apply it after {last} on existing databases and before "
                    f"it on fresh ones; renumber it after {last}",
                    Severity.ERROR,
                    migration.location,
                )
            )
        else:
            findings.append(
                Finding(
                    "migration-lock-new",
                    f"{migration.name} is not yet locked; run `deploycheck migrations lock` "
                    f"once it is deployed",
                    Severity.INFO,
                    migration.location,
                )
            )
    return findings


def lock_document(migrations: Sequence[Migration]) -> str:
    """The text of a lock file for ``migrations``: stable, sorted, one entry a line."""
    document = {
        "version": LOCK_VERSION,
        "algorithm": "sha256",
        "migrations": {m.name: normalized_checksum(m.content) for m in migrations},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_lock(section: Mapping[str, Any], root: Path, *, force: bool = False) -> Path:
    """Record the checksum of every migration in the lock file and return its path.

    Refuses, unless ``force``, when the lock would hide a problem the check reports: a
    locked migration edited or removed, or a new one sorted before the locked ones.
    """
    settings = MigrationSettings.from_section(section, root)
    migrations, discovery = discover_migrations(settings)
    missing = [f for f in discovery if f.rule == "migration-folder-missing"]
    if missing:
        raise MigrationError(missing[0].message)
    if not force:
        locked = read_lock(settings.lock_file) or {}
        problems = [
            f
            for f in compare_lock(locked, migrations, settings.display(settings.lock_file))
            if f.severity is Severity.ERROR
        ]
        if problems:
            lines = "\n".join(f"  - {problem.message}" for problem in problems)
            raise MigrationError(
                f"{settings.display(settings.lock_file)}: not rewritten, because:\n{lines}\n"
                f"Fix these, or lock anyway with --force if no database has applied them."
            )
    try:
        settings.lock_file.parent.mkdir(parents=True, exist_ok=True)
        settings.lock_file.write_text(lock_document(migrations), encoding="utf-8")
    except OSError as exc:
        where = settings.display(settings.lock_file)
        raise MigrationError(f"cannot write {where}: {exc.strerror}") from None
    return settings.lock_file


# -- the check -------------------------------------------------------------------------------


def check_migrations(section: Mapping[str, Any], root: Path) -> list[Finding]:
    """Run every migration rule over the project's migrations folder.

    ``section`` is the validated ``migrations`` section (defaults not filled in) and ``root``
    the folder of deployment-config.json. Migrations recorded unchanged in the lock file are
    in production already, so they are applied but not linted: what they change has happened.
    """
    settings = MigrationSettings.from_section(section, root)
    migrations, findings = discover_migrations(settings)
    if any(finding.rule == "migration-folder-missing" for finding in findings):
        return apply_severities(findings, settings.severities)
    if not migrations:
        where = settings.display(settings.folder)
        findings.append(
            Finding("migration-empty", f"no migrations in {where!r}", Severity.WARNING, where)
        )
    findings.extend(check_numbering(migrations, settings.start, settings.numbering))
    locked, lock_findings = _lock_state(settings, migrations)
    run = apply_migrations(
        migrations,
        foreign_keys=settings.foreign_keys,
        statement_timeout=settings.statement_timeout,
    )
    try:
        findings.extend(_lint_run(run, locked))
    finally:
        run.connection.close()
    if run.failure is not None:
        failure = run.failure
        if failure.statement is None:
            findings.append(
                Finding(
                    "migration-encoding",
                    failure.describe(),
                    Severity.ERROR,
                    failure.migration.location,
                )
            )
        else:
            findings.append(
                Finding(
                    "migration-apply",
                    f"{failure.describe()}; later migrations were not applied",
                    Severity.ERROR,
                    failure.migration.at(failure.statement.line),
                )
            )
    findings.extend(lock_findings)
    return apply_severities(findings, settings.severities)


def _lock_state(
    settings: MigrationSettings, migrations: Sequence[Migration]
) -> tuple[Mapping[str, str] | None, list[Finding]]:
    """The locked checksums (None without a usable lock file) and the lock's findings."""
    location = settings.display(settings.lock_file)
    try:
        locked = read_lock(settings.lock_file)
    except MigrationError as exc:
        return None, [Finding("migration-lock-invalid", str(exc), Severity.ERROR, location)]
    if locked is None:
        return None, [
            Finding(
                "migration-lock-missing",
                f"no {location}: edits to migrations that already reached production go "
                f"unnoticed; run `deploycheck migrations lock` and commit the file",
                Severity.INFO,
                location,
            )
        ]
    return locked, compare_lock(locked, migrations, location)


def _lint_run(run: MigrationRun, locked: Mapping[str, str] | None) -> list[Finding]:
    """Lint every applied migration that is not locked unchanged, then apply allow comments.

    With a lock file, only the tables that exist after the last locked migration hold
    production data; without one, every table that exists before a migration does.
    """
    findings: list[Finding] = []
    deployed: frozenset[str] | None = None if locked is None else frozenset()
    for applied in run.applied:
        migration = applied.migration
        if not applied.parsed.statements:
            findings.append(
                Finding(
                    "migration-empty",
                    f"{migration.name} holds no SQL statement; D1 records it as applied "
                    f"anyway, so fill it in before it is deployed",
                    Severity.WARNING,
                    migration.location,
                )
            )
        if locked is not None and locked.get(migration.name) == normalized_checksum(
            migration.content
        ):
            deployed = frozenset(applied.after)
            continue
        kept, unused = _apply_allows(applied, lint_migration(applied, deployed))
        findings.extend(issue.finding(migration, RULES[issue.rule]) for issue in kept)
        findings.extend(unused)
    return findings

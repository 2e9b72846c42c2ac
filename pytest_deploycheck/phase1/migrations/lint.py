"""The destructive-change lint: what one applied migration drops, renames or tightens that
the code deployed now relies on, judged statement by statement and by each table's net change.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pytest_deploycheck.core.findings import Finding, Severity

from .applying import D1_UNSUPPORTED, AppliedMigration, Step
from .discovery import Migration
from .parsing import Statement, significant_tokens
from .schema import Table, UniqueKey, column_affinity


@dataclass(frozen=True)
class Issue:
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

    def record(self, step: Step, holding: Collection[str]) -> list[Issue]:
        """Follow one schema-changing statement; return the hazards of the tables it drops."""
        line = step.statement.line
        before, after = step.before, step.after
        gone = sorted(set(before) - set(after))
        new = sorted(set(after) - set(before))
        renames: dict[str, str] = {}
        if step.statement.keyword == "ALTER" and len(gone) == 1 and len(new) == 1:
            renames = {gone[0]: new[0]}
        issues: list[Issue] = []
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
) -> list[Issue]:
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
    issues: list[Issue] = []
    for step in applied.steps:
        issues.extend(_statement_issues(step.statement))
        if step.before is not step.after:
            issues.extend(trace.record(step, holding))
    for name in sorted(holding):
        issues.extend(_net_changes(name, start[name], end.get(name), trace))
    for statement in applied.skipped:
        issues.append(
            Issue(
                "migration-d1-unsupported",
                f"{D1_UNSUPPORTED[statement.keyword]} ({statement.first_line!r}); "
                f"it was left out here",
                (statement.line,),
            )
        )
    return sorted(issues, key=lambda issue: (issue.lines[0], issue.rule))


def _statement_issues(statement: Statement) -> list[Issue]:
    """What a statement's text alone gets wrong for D1."""
    if statement.keyword != "PRAGMA":
        return []
    words = [token.name.lower() for token in significant_tokens(statement.sql)]
    if "foreign_keys" not in words:
        return []
    return [
        Issue(
            "migration-foreign-keys-pragma",
            "PRAGMA foreign_keys has no effect inside a D1 migration (it runs in a "
            "transaction, with foreign keys always on); use PRAGMA defer_foreign_keys = on "
            "to rebuild a table that others reference",
            (statement.line,),
        )
    ]


def _drop_hazards(
    name: str, step: Step, identity: Mapping[str, _Identity], holding: Collection[str]
) -> list[Issue]:
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
                Issue(
                    "migration-drop-referenced-table",
                    f"DROP TABLE {name} deletes its rows first (foreign keys are on in D1), "
                    f"which in production {effect}",
                    (step.statement.line,),
                )
            )
    return issues


def _table_word(table: Table) -> str:
    return "view" if table.kind == "view" else "table"


def _net_changes(name: str, old: Table, current: Table | None, trace: _Trace) -> list[Issue]:
    """The net change of one table that held data when the migration started."""
    if current is None:
        final = next((n for n, i in trace.identity.items() if i == ("start", name)), None)
        line = (trace.gone_at.get(name, 1),)
        if final is not None:
            return [
                Issue(
                    "migration-rename-table",
                    f"renames {_table_word(old)} {name} to {final}: the code deployed now "
                    f"uses {name} until the new version is live, and so would a rollback; add "
                    f"{final}, move the code over, and drop {name} in a later release",
                    line,
                )
            ]
        what = f"view {name}" if old.kind == "view" else f"table {name} and its data"
        return [
            Issue(
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
    issues_found: list[Issue] = field(default_factory=list)

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
        self.issues_found.append(Issue(rule, message, lines))

    def issues(self) -> list[Issue]:
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


_WORD_OR_STRING = re.compile(r"'(?:[^']|'')*'|([a-z_][a-z0-9_$]*)")


def _words(text: str) -> set[str]:
    """The identifiers and keywords of normalised SQL, string literals left out."""
    return {match[1] for match in _WORD_OR_STRING.finditer(text) if match[1]}


def _rename_words(text: str, renames: Mapping[str, str]) -> str:
    return _WORD_OR_STRING.sub(
        lambda match: renames.get(match[1], match[1]) if match[1] else match[0], text
    )


def _lowered(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(str(name).lower() for name in names)

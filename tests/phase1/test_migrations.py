"""The migrations check: discovery, numbering, applying, lint, allow comments and the lock."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource

from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity, failures, format_findings
from pytest_deploycheck.phase1.migrations import (
    DEFAULT_FOLDER,
    DEFAULT_LOCK_FILE,
    DEFAULT_PATTERN,
    DEFAULT_START,
    DEFAULT_STATEMENT_TIMEOUT,
    RULES,
    Migration,
    MigrationError,
    MigrationSettings,
    apply_migrations,
    check_migrations,
    check_numbering,
    column_affinity,
    column_origins,
    discover_migrations,
    normalized_checksum,
    parse_sql,
    read_lock,
    read_schema,
    write_lock,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "migrations"
SCHEMAS = Path(__file__).parents[2] / "pytest_deploycheck" / "schemas" / "sections"
REFERENCE = Path(__file__).parents[2] / "examples" / "booking_api" / "migrations"

INIT = textwrap.dedent("""\
    CREATE TABLE providers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE appointments (
        id INTEGER PRIMARY KEY,
        provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        starts_at TEXT NOT NULL,
        notes TEXT
    );
    """)


def check(case: str, **section: Any) -> list[Finding]:
    return check_migrations(section, FIXTURES / case)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project folder with these migration files."""
    folder = tmp_path / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def one(findings: list[Finding], rule: str) -> Finding:
    matching = [finding for finding in findings if finding.rule == rule]
    assert len(matching) == 1, format_findings(findings)
    return matching[0]


def rules(findings: list[Finding], severity: Severity | None = None) -> list[str]:
    return sorted(f.rule for f in findings if severity is None or f.severity is severity)


# -- the fixture folders ---------------------------------------------------------------------


def test_a_good_folder_only_lacks_a_lock_file() -> None:
    findings = check("good")
    assert [(f.rule, f.severity) for f in findings] == [("migration-lock-missing", Severity.INFO)]


def test_statements_split_around_semicolons_in_strings_comments_and_triggers() -> None:
    settings_ = MigrationSettings.from_section({}, FIXTURES / "good")
    migrations, _ = discover_migrations(settings_)
    run = apply_migrations(migrations)
    try:
        assert run.failure is None
        db = run.connection
        # the last statement has no semicolon and a string with one
        assert db.execute("SELECT name FROM providers").fetchall() == [("Dr. O'Brien; GP",)]
        assert db.execute(
            "SELECT dflt_value FROM pragma_table_info('appointments') WHERE name = 'room'"
        ).fetchone() == ("'main; hall'",)
        trigger = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'trigger'").fetchone()
        assert "SELECT 1;" in trigger[0]
    finally:
        run.connection.close()


def test_a_gap_in_the_numbers_names_the_missing_number_and_the_file_after_it() -> None:
    finding = one(check("gap"), "migration-numbering-gap")
    assert finding.severity is Severity.ERROR
    assert finding.location == "migrations/0004_d.sql"
    assert "number 3 is missing between 0002_b.sql and 0004_d.sql" in finding.message


def test_a_duplicate_number_names_both_files() -> None:
    finding = one(check("duplicate"), "migration-numbering-duplicate")
    assert finding.location == "migrations/0002_c.sql"
    assert "number 2 is used by both 0002_b.sql and 0002_c.sql" in finding.message


def numbered(*names: str) -> list[Migration]:
    return [Migration(int(n.split("_")[0]), n, f"migrations/{n}", b"") for n in names]


def test_timestamp_numbers_only_have_to_rise_and_stay_unique() -> None:
    knex = numbered("20240131120000_init.sql", "20240315093000_rooms.sql")
    millis = numbered("1614782639336_views.sql", "1615000000000_more.sql", "1690000000000_x.sql")
    assert check_numbering(knex) == []
    assert check_numbering(millis) == []
    twice = numbered("20240131120000_a.sql", "20240131120000_b.sql")
    assert [f.rule for f in check_numbering(twice)] == ["migration-numbering-duplicate"]
    # told they are sequential, timestamps get one start error and a gap with the way out
    findings = check_numbering(knex, numbering="sequential")
    assert [f.rule for f in findings] == ["migration-numbering-start", "migration-numbering-gap"]
    assert 'set migrations.numbering to "timestamp"' in findings[1].message
    # told they are timestamps, small numbers may leave gaps too
    assert check_numbering(numbered("0001_a.sql", "0005_b.sql"), numbering="timestamp") == []
    # a short number among long ones keeps the sequential rules
    mixed = numbered("0001_a.sql", "20240131120000_b.sql")
    assert "migration-numbering-gap" in [f.rule for f in check_numbering(mixed)]


def test_the_numbering_setting_reaches_the_check(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_a.sql": "CREATE TABLE a (id INTEGER);", "0003_b.sql": ""})
    assert "migration-numbering-gap" in rules(check_migrations({}, root))
    assert "migration-numbering-gap" not in rules(
        check_migrations({"numbering": "timestamp"}, root)
    )
    [problem] = validate({"migrations": {"numbering": "timestamps"}})
    assert str(problem).endswith('(got "timestamps") -> did you mean "timestamp"?')


def test_misnamed_files_are_reported_not_ignored() -> None:
    findings = check("filenames")
    reported = sorted(str(f.location) for f in findings if f.rule == "migration-filename")
    assert reported == [
        "migrations/0003_upper.SQL",
        "migrations/002-typo.sql",
        "migrations/README.md",
    ]
    assert all(f.severity is Severity.WARNING for f in findings if f.rule == "migration-filename")
    quiet = check("filenames", ignore_files=["*.md"])
    assert "migrations/README.md" not in {f.location for f in quiet}


def test_broken_sql_names_file_line_statement_and_sqlite_message() -> None:
    findings = check("broken")
    finding = one(findings, "migration-apply")
    assert finding.location == "migrations/0002_broken.sql:4"
    assert "'CREATE INDEX appointments_by_note'" in finding.message
    assert "no such column: note" in finding.message
    assert "later migrations were not applied" in finding.message
    assert str(finding).startswith("migrations/0002_broken.sql:4: error [migration-apply]")


def test_a_failing_file_is_rolled_back_whole_and_stops_the_run(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "0001_a.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);",
            "0002_b.sql": "CREATE TABLE b (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
            "0003_c.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);",
        },
    )
    migrations, _ = discover_migrations(MigrationSettings.from_section({}, root))
    run = apply_migrations(migrations)
    run.connection.close()
    assert [a.migration.name for a in run.applied] == ["0001_a.sql"]
    assert set(run.schema) == {"a"}  # b was created by the failing file: rolled back
    assert run.failure is not None
    assert run.failure.statement is not None
    assert run.failure.statement.line == 2


def test_an_endless_statement_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "0001_init.sql": INIT,
            "0002_forever.sql": """\
                -- counts to infinity
                SELECT count(*) FROM (
                    WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
                    SELECT x FROM n
                );
                """,
        },
    )
    migrations, _ = discover_migrations(MigrationSettings.from_section({}, root))
    ticks = iter(range(1_000_000))  # a clock that advances one second per reading
    run = apply_migrations(migrations, statement_timeout=5, clock=lambda: float(next(ticks)))
    run.connection.close()
    assert run.failure is not None
    assert run.failure.describe() == (
        "0002_forever.sql line 2 ('SELECT count(*) FROM ('): still running after 5 s "
        "(an endless recursive query?), so it was stopped"
    )
    assert [a.migration.name for a in run.applied] == ["0001_init.sql"]


def test_dropping_a_column_is_an_error_at_its_line() -> None:
    finding = one(check("drop_column"), "migration-drop-column")
    assert finding.severity is Severity.ERROR
    assert finding.location == "migrations/0002_drop_notes.sql:3"
    assert "appointments.notes" in finding.message


def test_renames_of_columns_and_tables_are_errors_without_side_noise() -> None:
    findings = failures(check("rename"))
    assert [(f.rule, f.location) for f in findings] == [
        ("migration-rename-column", "migrations/0002_renames.sql:1"),
        ("migration-rename-table", "migrations/0002_renames.sql:2"),
    ]
    assert "notes to comment" in findings[0].message
    assert "providers to doctors" in findings[1].message


def test_a_not_null_column_without_default_is_an_error_though_it_applies() -> None:
    finding = one(check("not_null"), "migration-not-null-without-default")
    assert finding.location == "migrations/0002_room.sql:2"
    assert "appointments.room" in finding.message


def test_a_table_rebuild_is_judged_by_its_net_effect() -> None:
    findings = failures(check("rebuild"))
    # not a dropped and a renamed table: the one thing the rebuild changes
    assert [(f.rule, f.location) for f in findings] == [
        ("migration-column-type", "migrations/0002_rebuild.sql:4")
    ]
    assert "appointments.starts_at from TEXT (TEXT affinity) to INTEGER" in findings[0].message


def test_allow_comments_accept_statements_and_files_and_unused_ones_warn() -> None:
    findings = check("allow")
    # 0002 line 4 drops notes under an allow comment; 0003 drops legacy under a file one
    assert [(f.rule, f.location) for f in failures(findings)] == [
        ("migration-drop-column", "migrations/0003_drop_legacy.sql:4")
    ]
    assert "providers.email" in failures(findings)[0].message
    unused = one(findings, "migration-unused-allow")
    assert unused.severity is Severity.WARNING
    assert unused.location == "migrations/0002_cleanup.sql:4"
    assert "migration-rename-column" in unused.message


def test_an_edited_locked_migration_fails() -> None:
    findings = check("lock_edited")
    finding = one(findings, "migration-lock-modified")
    assert finding.location == "migrations/0002_index.sql"
    assert "0002_index.sql was edited after it was locked" in finding.message
    assert rules(findings, Severity.ERROR) == ["migration-lock-modified"]


def test_a_removed_locked_migration_fails() -> None:
    finding = one(check("lock_removed"), "migration-lock-removed")
    assert finding.location == "migrations.lock"
    assert "0003_room.sql is locked but no longer exists" in finding.message


def test_a_new_migration_before_the_last_locked_one_fails() -> None:
    finding = one(check("lock_order"), "migration-lock-order")
    assert finding.location == "migrations/0002_index.sql"
    assert "sorts before 0003_room.sql" in finding.message


def test_line_endings_and_trailing_blanks_do_not_count_as_edits(tmp_path: Path) -> None:
    assert check("lock_ok") == []
    shutil.copytree(FIXTURES / "lock_ok", tmp_path, dirs_exist_ok=True)
    path = tmp_path / "migrations" / "0001_init.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"  \r\n"))
    assert check_migrations({}, tmp_path) == []
    path.write_bytes(path.read_bytes().replace(b"name TEXT", b"name  TEXT"))
    assert rules(check_migrations({}, tmp_path)) == ["migration-lock-modified"]


# -- lock file -------------------------------------------------------------------------------


def test_write_lock_records_every_migration_and_then_the_check_is_quiet(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"0001_init.sql": INIT, "0002_idx.sql": "CREATE INDEX i ON appointments (starts_at);"},
    )
    path = write_lock({}, root)
    assert path == root / "migrations.lock"
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert set(document["migrations"]) == {"0001_init.sql", "0002_idx.sql"}
    assert read_lock(path) == document["migrations"]
    assert check_migrations({}, root) == []
    (root / "migrations" / "0003_more.sql").write_text("CREATE INDEX j ON appointments (notes);")
    new = one(check_migrations({}, root), "migration-lock-new")
    assert new.severity is Severity.INFO
    assert new.location == "migrations/0003_more.sql"


def test_write_lock_refuses_to_hide_an_edit_unless_forced(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_init.sql": INIT})
    write_lock({}, root)
    (root / "migrations" / "0001_init.sql").write_text(
        INIT + "CREATE INDEX i ON providers (name);\n"
    )
    with pytest.raises(MigrationError, match=r"0001_init\.sql was edited after it was locked"):
        write_lock({}, root)
    write_lock({}, root, force=True)
    assert check_migrations({}, root) == []


def test_write_lock_without_a_folder_says_which(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="'db/migrations' does not exist"):
        write_lock({"folder": "db/migrations"}, tmp_path)


def test_an_unreadable_lock_file_is_an_error_naming_the_line(tmp_path: Path) -> None:
    root = project(tmp_path, {"0001_init.sql": INIT})
    (root / "migrations.lock").write_text('{"version": 1,\n "migrations": {,}}')
    finding = one(check_migrations({}, root), "migration-lock-invalid")
    assert finding.message.startswith("migrations.lock:2: not valid JSON")
    (root / "migrations.lock").write_text('{"version": 7, "migrations": {}}')
    assert "version 7" in one(check_migrations({}, root), "migration-lock-invalid").message


def test_locked_migrations_are_not_linted_and_new_tables_hold_no_data(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "0001_init.sql": INIT,
            "0002_drop.sql": "ALTER TABLE appointments DROP COLUMN notes;",
        },
    )
    write_lock({}, root)  # both are in production: what 0002 did has happened
    (root / "migrations" / "0003_rooms.sql").write_text(
        "CREATE TABLE rooms (id INTEGER PRIMARY KEY);"
    )
    (root / "migrations" / "0004_rooms.sql").write_text(
        "ALTER TABLE rooms ADD COLUMN name TEXT NOT NULL;"
    )
    assert failures(check_migrations({}, root)) == []
    # without the lock, every table is assumed to hold data
    (root / "migrations.lock").unlink()
    assert rules(check_migrations({}, root), Severity.ERROR) == [
        "migration-drop-column",
        "migration-not-null-without-default",
    ]


def test_a_view_rebuilt_under_another_view_is_no_change(tmp_path: Path) -> None:
    """Between DROP VIEW and CREATE VIEW the view reading it has no source; SQLite allows
    that, and so must the snapshots taken after each statement."""
    root = project(
        tmp_path,
        {
            "0001_init.sql": """\
                CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price INTEGER);
                CREATE VIEW v_base AS SELECT id, name FROM items;
                CREATE VIEW v_top AS SELECT * FROM v_base;
                """,
            "0002_rebuild.sql": """\
                DROP VIEW v_base;
                CREATE VIEW v_base AS SELECT id, name, price FROM items;
                """,
        },
    )
    assert failures(check_migrations({}, root)) == []


def test_dropping_a_view_is_an_error_that_speaks_of_no_data(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "0001_init.sql": """\
                CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
                CREATE VIEW v_items AS SELECT id, name FROM items;
                """,
            "0002_drop.sql": "DROP VIEW v_items;\nDROP TABLE items;\n",
        },
    )
    drops = [f for f in check_migrations({}, root) if f.rule == "migration-drop-table"]
    assert [(f.location, f.message) for f in drops] == [
        (
            "migrations/0002_drop.sql:1",
            "drops view v_items: the code deployed now, and a rollback, still use it; stop "
            "using it first and drop it in a later release",
        ),
        (
            "migrations/0002_drop.sql:2",
            "drops table items and its data: the code deployed now, and a rollback, still use "
            "it; stop using it first and drop it in a later release",
        ),
    ]


def test_a_view_left_without_its_table_has_no_columns_and_no_crash(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "0001_init.sql": """\
                CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
                CREATE VIEW v_items AS SELECT id, name FROM items;
                """,
            "0002_drop.sql": "DROP TABLE items;\n",
        },
    )
    assert rules(check_migrations({}, root), Severity.ERROR) == ["migration-drop-table"]
    with sqlite3.connect(":memory:") as connection:
        connection.executescript(
            "CREATE TABLE items (id INTEGER PRIMARY KEY); "
            "CREATE VIEW v_items AS SELECT id FROM items; DROP TABLE items;"
        )
        assert read_schema(connection)["v_items"].columns == ()


@settings(max_examples=50)
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30), max_size=8
    ),
    crlf=st.booleans(),
    padding=st.text(" \t", max_size=3),
)
def test_checksums_ignore_line_endings_and_trailing_blanks(
    lines: list[str], crlf: bool, padding: str
) -> None:
    text = "\n".join(line.rstrip() for line in lines)
    variant = ("\r\n" if crlf else "\n").join(line.rstrip() + padding for line in lines) + "\n\n"
    assert normalized_checksum(text.encode()) == normalized_checksum(variant.encode())
    assert normalized_checksum(("\ufeff" + text).encode()) == normalized_checksum(text.encode())
    assert normalized_checksum((text + "x").encode()) != normalized_checksum(text.encode())


# -- lint rules ------------------------------------------------------------------------------


def lint(tmp_path: Path, second: str, first: str = INIT, **section: Any) -> list[Finding]:
    root = project(tmp_path, {"0001_init.sql": first, "0002_change.sql": second})
    return [f for f in check_migrations(section, root) if f.rule != "migration-lock-missing"]


def test_dropping_a_table_with_cascading_children_warns_of_the_cascade(tmp_path: Path) -> None:
    findings = lint(
        tmp_path,
        """\
        PRAGMA defer_foreign_keys = on;
        CREATE TABLE providers_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);
        INSERT INTO providers_new (id, name) SELECT id, name FROM providers;
        DROP TABLE providers;
        ALTER TABLE providers_new RENAME TO providers;
        """,
    )
    finding = one(findings, "migration-drop-referenced-table")
    assert finding.location == "migrations/0002_change.sql:4"
    assert "deletes every row of appointments (ON DELETE CASCADE" in finding.message
    assert rules(findings) == ["migration-drop-referenced-table"]


def test_dropping_a_referenced_table_fails_unless_checks_are_deferred(tmp_path: Path) -> None:
    first = INIT.replace(" ON DELETE CASCADE", "")
    rebuild = """\
        CREATE TABLE providers_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        INSERT INTO providers_new SELECT id, name FROM providers;
        DROP TABLE providers;
        ALTER TABLE providers_new RENAME TO providers;
        """
    finding = one(lint(tmp_path / "a", rebuild, first), "migration-drop-referenced-table")
    assert "PRAGMA defer_foreign_keys = on" in finding.message
    deferred = "PRAGMA defer_foreign_keys = on;\n" + textwrap.dedent(rebuild)
    assert lint(tmp_path / "b", deferred, first) == []


def test_a_rebuild_that_loses_a_unique_index_or_tightens_columns(tmp_path: Path) -> None:
    first = INIT + "CREATE UNIQUE INDEX one_per_start ON appointments (provider_id, starts_at);\n"
    findings = lint(
        tmp_path,
        """\
        PRAGMA defer_foreign_keys = on;
        CREATE TABLE appointments_new (
            id INTEGER PRIMARY KEY,
            provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            starts_at TEXT NOT NULL,
            notes TEXT NOT NULL CHECK (length(notes) < 500)
        );
        INSERT INTO appointments_new SELECT * FROM appointments;
        DROP TABLE appointments;
        ALTER TABLE appointments_new RENAME TO appointments;
        """,
        first,
    )
    assert rules(findings) == [
        "migration-constraint-tightened",
        "migration-constraint-tightened",
        "migration-drop-unique",
    ]
    assert {f.location for f in findings} == {"migrations/0002_change.sql:2"}
    assert "one_per_start" in one(findings, "migration-drop-unique").message


def test_a_unique_index_on_an_existing_table_may_fail_on_duplicates(tmp_path: Path) -> None:
    findings = lint(
        tmp_path,
        "CREATE UNIQUE INDEX u ON appointments (provider_id, starts_at)\n    WHERE notes IS NULL;",
    )
    finding = one(findings, "migration-constraint-tightened")
    assert finding.location == "migrations/0002_change.sql:1"
    assert "unique where notes is null with index u" in finding.message


def test_dropping_a_unique_index_is_an_error(tmp_path: Path) -> None:
    first = INIT + "CREATE UNIQUE INDEX one_name ON providers (name);\n"
    finding = one(lint(tmp_path, "\n\nDROP INDEX one_name;", first), "migration-drop-unique")
    assert finding.location == "migrations/0002_change.sql:3"
    assert "providers (name)" in finding.message


def test_transaction_statements_are_reported_and_left_out(tmp_path: Path) -> None:
    findings = lint(
        tmp_path, "BEGIN TRANSACTION;\nCREATE TABLE x (id INTEGER PRIMARY KEY);\nCOMMIT;"
    )
    reported = [(f.rule, f.location) for f in findings]
    assert reported == [
        ("migration-d1-unsupported", "migrations/0002_change.sql:1"),
        ("migration-d1-unsupported", "migrations/0002_change.sql:3"),
    ]


def test_pragma_foreign_keys_is_a_warning(tmp_path: Path) -> None:
    finding = one(lint(tmp_path, "PRAGMA foreign_keys = OFF;"), "migration-foreign-keys-pragma")
    assert finding.severity is Severity.WARNING
    assert "defer_foreign_keys" in finding.message


def test_foreign_keys_are_enforced_as_on_d1(tmp_path: Path) -> None:
    orphan = "INSERT INTO appointments (provider_id, starts_at) VALUES (42, '2030-01-01');"
    finding = one(lint(tmp_path / "on", orphan), "migration-apply")
    assert "FOREIGN KEY constraint failed" in finding.message
    assert lint(tmp_path / "off", orphan, foreign_keys=False) == []


def test_rules_can_be_downgraded_or_switched_off(tmp_path: Path) -> None:
    drop = "ALTER TABLE appointments DROP COLUMN notes;"
    warned = lint(tmp_path / "a", drop, rules={"migration-drop-column": "warning"})
    assert [(f.rule, f.severity) for f in warned] == [("migration-drop-column", Severity.WARNING)]
    assert lint(tmp_path / "b", drop, rules={"migration-drop-column": "off"}) == []


def test_numbers_of_different_widths_sort_differently_from_their_values(tmp_path: Path) -> None:
    root = project(
        tmp_path, {f"{n}_t{n}.sql": f"CREATE TABLE t{n} (id INTEGER);" for n in (1, 2, 10)}
    )
    finding = one(check_migrations({}, root), "migration-numbering-order")
    assert finding.location == "migrations/10_t10.sql"
    assert "10_t10.sql (number 10) runs before 1_t1.sql (number 1)" in finding.message


def test_a_custom_pattern_and_start(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"V0__init.sql": INIT, "V1__more.sql": "CREATE INDEX i ON providers (name);"}
    )
    section = {"pattern": r"^V(?P<number>\d+)__\w+\.sql$", "start": 0}
    assert check_migrations(section, root) == [
        one(check_migrations(section, root), "migration-lock-missing")
    ]
    start = one(check_migrations({**section, "start": 1}, root), "migration-numbering-start")
    assert start.location == "migrations/V0__init.sql"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("^(\\d+_.*\\.sql$", "not a valid regular expression"), (r"^\d+_\w+\.sql$", "no group")],
)
def test_a_bad_pattern_is_a_config_error(tmp_path: Path, pattern: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        check_migrations({"pattern": pattern}, tmp_path)
    assert "migrations.pattern" in str(info.value)


def test_a_missing_folder_or_a_non_utf8_file(tmp_path: Path) -> None:
    missing = one(check_migrations({"folder": "db"}, tmp_path), "migration-folder-missing")
    assert "'db' does not exist" in missing.message
    root = project(tmp_path, {"0001_init.sql": INIT})
    (root / "migrations" / "0002_latin1.sql").write_bytes("-- café\nSELECT 1;".encode("latin-1"))
    encoding = one(check_migrations({}, root), "migration-encoding")
    assert encoding.location == "migrations/0002_latin1.sql"


# -- parsing ---------------------------------------------------------------------------------


def test_allow_comments_cover_the_statement_below_the_file_or_the_line_they_end() -> None:
    parsed = parse_sql(
        textwrap.dedent("""\
        -- deploycheck: allow migration-drop-table (file-wide, set apart by a blank line)

        -- deploycheck: allow migration-drop-column, migration-rename-column (two at once)
        /* an ordinary comment in between */
        ALTER TABLE a DROP COLUMN b; -- deploycheck: allow migration-column-type (same line)
        SELECT 1;
        -- deploycheck: alow typo
        SELECT 2;
        -- deploycheck: allow migration-drop-table (after everything)
        """)
    )
    first, second, third = parsed.statements
    assert [a.rules for a in parsed.file_allows] == [("migration-drop-table",)]
    # the comments above come first; the one after the semicolon on its line is added next
    assert [a.rules for a in first.allows] == [
        ("migration-drop-column", "migration-rename-column"),
        ("migration-column-type",),
    ]
    assert (first.line, second.allows, third.line) == (5, (), 8)
    assert parsed.unreadable == ((7, "deploycheck: alow typo"),)
    assert [a.line for a in parsed.stray] == [9]


def test_a_multi_line_statement_keeps_its_first_and_last_line() -> None:
    parsed = parse_sql(
        "\n\n/* head */ CREATE TABLE t (\n  a TEXT DEFAULT ';'\n);\n\nSELECT 'x\n;y'"
    )
    table, select = parsed.statements
    assert (table.line, table.end_line, table.keyword) == (3, 5, "CREATE")
    assert table.sql.startswith("CREATE TABLE t")
    assert (select.line, select.end_line) == (7, 8)


_VALUE = st.text(st.sampled_from(list("ab;'-/*\n ")), max_size=12)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_VALUE, min_size=1, max_size=6), noise=st.lists(_VALUE, max_size=6))
def test_splitting_keeps_every_statement_whole(values: list[str], noise: list[str]) -> None:
    """Strings and comments full of semicolons and quotes never cut a statement."""
    parts = ["CREATE TABLE t (v TEXT);"]
    for index, value in enumerate(values):
        comment = noise[index] if index < len(noise) else ""
        quoted = value.replace("'", "''")
        # building SQL text is the point here: it is what a migration file holds
        insert = f"INSERT INTO t VALUES ('{quoted}');"  # noqa: S608
        inside = comment
        while "*/" in inside:  # one pass can make a new "*/" ("**//" -> "*/")
            inside = inside.replace("*/", "")
        parts.append(f"/* {inside} */ {insert}")
        parts.append(f"-- {comment.splitlines()[0] if comment.strip() else ';'}")
    parsed = parse_sql("\n".join(parts))
    assert len(parsed.statements) == len(values) + 1
    db = sqlite3.connect(":memory:")
    for statement in parsed.statements:
        db.execute(statement.sql)
    assert [row[0] for row in db.execute("SELECT v FROM t ORDER BY rowid")] == values


@pytest.mark.parametrize(
    ("declared", "affinity"),
    [
        ("INTEGER", "INTEGER"),
        ("BIGINT", "INTEGER"),
        ("VARCHAR(20)", "TEXT"),
        ("CLOB", "TEXT"),
        ("", "BLOB"),
        ("BLOB", "BLOB"),
        ("DOUBLE PRECISION", "REAL"),
        ("FLOAT", "REAL"),
        ("DATETIME", "NUMERIC"),
        ("BOOLEAN", "NUMERIC"),
        ("DECIMAL(10,2)", "NUMERIC"),
    ],
)
def test_column_affinity_follows_sqlite(declared: str, affinity: str) -> None:
    assert column_affinity(declared) == affinity
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE t (c {declared})")
    db.execute("INSERT INTO t VALUES ('12')")
    stored = db.execute("SELECT typeof(c) FROM t").fetchone()[0]
    # what SQLite does with the text '12' shows the affinity it gave the column
    assert (
        stored
        == {
            "INTEGER": "integer",
            "NUMERIC": "integer",
            "REAL": "real",
            "TEXT": "text",
            "BLOB": "text",
        }[affinity]
    )


def test_column_origins_point_at_the_migration_that_last_changed_a_column(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "rebuild", tmp_path, dirs_exist_ok=True)
    (tmp_path / "migrations" / "0003_room.sql").write_text(
        "\nALTER TABLE appointments ADD COLUMN room TEXT;"
    )
    migrations, _ = discover_migrations(MigrationSettings.from_section({}, tmp_path))
    run = apply_migrations(migrations)
    run.connection.close()
    origins = column_origins(run)
    assert origins[("appointments", "notes")] == "migrations/0001_init.sql:8"  # kept by the rebuild
    assert origins[("appointments", "starts_at")] == "migrations/0002_rebuild.sql:4"
    assert origins[("appointments", "room")] == "migrations/0003_room.sql:2"


# -- the section schema and the reference service -------------------------------------------


def section_schema(name: str) -> tuple[dict[str, Any], jsonschema.Draft202012Validator]:
    """A section's schema and a validator that resolves common.json as the loader does."""
    registry: Registry[Any] = Registry()
    for path in SCHEMAS.glob("*.json"):
        resource = Resource.from_contents(json.loads(path.read_text()))
        registry = registry.with_resource(path.name, resource)
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema, jsonschema.Draft202012Validator(schema, registry=registry)


def test_the_section_schema_matches_the_code() -> None:
    schema, validator = section_schema("migrations.json")
    properties = schema["properties"]
    assert properties["pattern"]["default"] == DEFAULT_PATTERN
    assert properties["statement_timeout"]["default"] == DEFAULT_STATEMENT_TIMEOUT
    assert properties["folder"]["default"] == DEFAULT_FOLDER
    assert properties["lock_file"]["default"] == DEFAULT_LOCK_FILE
    assert properties["start"]["default"] == DEFAULT_START
    assert properties["rules"]["propertyNames"]["enum"] == list(RULES)
    assert all("description" in p for p in properties.values())
    assert (
        list(validator.iter_errors({"folder": "db", "rules": {"migration-drop-table": "off"}}))
        == []
    )
    bad = {"rules": {"migration-drop-tabel": "off"}, "start": -1, "extra": 1}
    assert len(list(validator.iter_errors(bad))) == 3


def test_the_reference_service_migrations_pass() -> None:
    findings = check_migrations({"folder": str(REFERENCE)}, REFERENCE.parent)
    # 0002 adds a unique index to appointments, which 0001 created in the same release; until
    # it carries an allow comment (or a lock file records 0001), that is the one finding
    tolerated = {("migration-constraint-tightened", "migrations/0002_no_double_booking.sql:4")}
    assert {(f.rule, f.location) for f in failures(findings)} <= tolerated, format_findings(
        findings
    )

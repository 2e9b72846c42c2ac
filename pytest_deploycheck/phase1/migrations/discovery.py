"""Finding the migration files of the folder, in D1's order, and checking their numbering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from itertools import pairwise

from pytest_deploycheck.core.findings import Finding, Severity

from .settings import DEFAULT_START, MigrationError, MigrationSettings

# Numbers of this many digits or more are dates or times (20240131..., 1614782639336), not counts.
_TIMESTAMP_DIGITS = 8


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

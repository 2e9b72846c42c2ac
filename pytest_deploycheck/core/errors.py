"""The exceptions pytest-deploycheck raises.

Every error a user can cause derives from :class:`DeployCheckError`. The pytest layer turns
one into ``pytest.UsageError``; the command line prints its message and exits with code 2.

    DeployCheckError
    ├── ConfigError          deployment-config.json is missing, malformed or invalid
    ├── ModelSourceError     (phase1.models) a configured model cannot be imported or read
    ├── SpecError            the OpenAPI document cannot be read or a $ref does not resolve
    ├── MigrationError       (phase1.migrations) migration files or the lock file cannot be used
    ├── TargetError          the service under test cannot be started or reached
    ├── HistoryError         the history store cannot be opened, read or written
    ├── NotificationError    a notification channel is misconfigured or failed for good
    └── RollbackError        the rollback command failed or timed out

Messages say what is wrong and what to do about it, on as many lines as there are problems.

:class:`CheckSkipped` is no error: a check had nothing to check, and its item is skipped.
"""

from __future__ import annotations

__all__ = [
    "MAX_PROBLEMS_LISTED",
    "CheckSkipped",
    "ConfigError",
    "DeployCheckError",
    "HistoryError",
    "NotificationError",
    "RollbackError",
    "SpecError",
    "TargetError",
    "shorten",
]


class CheckSkipped(Exception):
    """A check had nothing to check (no served spec, a plain http target, no local service):
    its pytest item is skipped with this reason, so the summary does not count it as passed."""


class DeployCheckError(Exception):
    """Base class of every error caused by input, configuration or the environment."""


# How much of a list of problems a message shows: the first ones, then how many more.
MAX_PROBLEMS_LISTED = 50
# How long one problem's line may be: a value echoed in it is never shown whole, while our own
# lists of choices (the lint rules' ids, some 1,200 characters) are.
MAX_PROBLEM_LENGTH = 2000


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with ``...``: what a message may echo of input."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(DeployCheckError):
    """The configuration cannot be used; the message lists every problem, one per line.

    The first ``MAX_PROBLEMS_LISTED`` are listed, then ``... and N more``; ``omitted``
    counts problems found but never spelled out (they add to N).
    """

    def __init__(
        self, problems: list[str], source: str = "deployment-config.json", omitted: int = 0
    ) -> None:
        self.problems = problems
        self.source = shorten(source, 200)
        shown = [f"  - {shorten(problem, MAX_PROBLEM_LENGTH)}" for problem in problems]
        total = len(problems) + omitted
        if total > MAX_PROBLEMS_LISTED:
            shown = shown[:MAX_PROBLEMS_LISTED]
            shown.append(f"  - ... and {total - len(shown):,} more")
        noun = "problem" if total == 1 else "problems"
        lines = "\n".join(shown)
        super().__init__(f"{self.source}: {total:,} {noun}:\n{lines}")


class SpecError(DeployCheckError):
    """The OpenAPI document cannot be loaded."""


class TargetError(DeployCheckError):
    """The target service cannot be started or reached."""


class HistoryError(DeployCheckError):
    """The history store cannot be used."""


class NotificationError(DeployCheckError):
    """A notification channel is misconfigured or could not be reached."""


class RollbackError(DeployCheckError):
    """The rollback command failed, timed out or could not be started."""

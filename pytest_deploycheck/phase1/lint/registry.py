"""The rule registry: what a rule is and how one is declared.

A rule is a function of the :class:`LintContext` that yields :class:`Issue` objects, declared
with ``@rule(id, severity, description)`` in the module of its topic; the decorator adds it to
``RULES`` under its id. Structural rules (``structural=True``) are run by
``validate_document``, the others by ``lint_spec``. ``runner`` imports the rule modules in
a fixed order, which is the order of ``RULES``.

Default severities: a rule that Spectral recommends keeps Spectral's severity; a rule only
Redocly recommends keeps Redocly's, except that style rules stay warnings; the rest are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from .context import LintContext


class Issue(NamedTuple):
    """What a rule reports: where (a JSON pointer such as ``#/paths/~1a/get``) and what to do."""

    pointer: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A lint rule: a stable id, its default severity, what it checks and the check itself."""

    id: str
    severity: str
    description: str
    check: Callable[[LintContext], Iterable[Issue]]
    structural: bool = False  # run by validate_document rather than lint_spec


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str, severity: str, description: str, *, structural: bool = False
) -> Callable[[Callable[[LintContext], Iterable[Issue]]], Callable[[LintContext], Iterable[Issue]]]:
    """Declare the decorated check as the rule ``rule_id``: add it to ``RULES``."""

    def register(
        check: Callable[[LintContext], Iterable[Issue]],
    ) -> Callable[[LintContext], Iterable[Issue]]:
        RULES[rule_id] = Rule(rule_id, severity, description, check, structural)
        return check

    return register

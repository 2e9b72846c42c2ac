"""The ``openapi`` check family: structural validity and lint rules for an OpenAPI document.

``validate_document`` checks the document against the official OpenAPI 3.0 or 3.1 JSON Schema
and that every ``$ref`` resolves (``validity``, which explains failures with
``schema_errors``); ``lint_spec`` runs the rules of ``RULES``, the ground that Spectral's
``spectral:oas`` and Redocly's ``recommended`` rulesets cover, under their familiar ids; both
return findings located at ``file:line (#/json/pointer)`` and are in ``runner``. One pass over
the document (``indexer``) builds a :class:`LintContext` (``context``); each rule, declared
with ``@rule`` of ``registry``, then reads only the lists it needs. The rules live by topic:
``metadata`` (info, tags), ``servers``, ``paths``, ``operations``, ``links``, ``components``,
``schemas``, ``texts`` and ``examples``. Modules here may import ``core`` and the other
``phase1`` modules, nothing above, and each other without a cycle.
"""

from __future__ import annotations

from .context import LintContext
from .registry import RULES, Issue, Rule
from .runner import EXTENDS, LEVELS, RULE_CRASHED, check_openapi, lint_spec, validate_document

__all__ = [
    "EXTENDS",
    "LEVELS",
    "RULES",
    "RULE_CRASHED",
    "Issue",
    "LintContext",
    "Rule",
    "check_openapi",
    "lint_spec",
    "validate_document",
]

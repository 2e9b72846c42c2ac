"""Breaking changes between a base OpenAPI spec and the current one, in the spirit of oasdiff.

The rule catalogue with each rule's default level (``rules``), the ``Change`` record and the
recorder a walk keeps them in (``changes``), reading operations, parameters, media types,
responses and headers out of a document (``documents``), schema keywords (``keywords``),
schema views with ``allOf`` merged in (``views``), pairing ``oneOf``/``anyOf`` alternatives
(``pairing``), the differ in three layers, schemas (``schemas``) under request bodies and
responses (``bodies``) under the walk over operations, security and parameters
(``operations``), loading the base from a file or git (``base_spec``) and the entry points
``diff_specs``, ``changelog`` and ``check_breaking`` (``check``). Modules here may import
``core``, each other and the other phase1 modules, nothing above; names with a leading
underscore are shared between these modules only and are not re-exported.
"""

from __future__ import annotations

from .base_spec import GIT_TIMEOUT, load_base
from .changes import Change
from .check import DEFAULT_CHANGELOG, DEFAULT_FAIL_ON, changelog, check_breaking, diff_specs
from .rules import RULES, Level, Rule

__all__ = [
    "DEFAULT_CHANGELOG",
    "DEFAULT_FAIL_ON",
    "GIT_TIMEOUT",
    "RULES",
    "Change",
    "Level",
    "Rule",
    "changelog",
    "check_breaking",
    "diff_specs",
    "load_base",
]

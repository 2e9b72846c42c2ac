"""Loading ``deployment-config.json``: interpolation, validation and typed access.

``loading`` finds and reads the file and reports every problem at once (``problems``: one
thing wrong, at a key path); ``interpolation`` replaces ``${VAR}`` and ``${VAR:-default}`` from
the environment; ``operations`` checks the settings that name an operation against the
spec; ``schema`` serves the JSON Schema shipped in ``schemas/``, against which
``validation`` checks the document and words each mistake; ``secrets`` finds the values that
must never be shown; ``model`` is the loaded ``Config`` with the schema's defaults applied, and
``LocalTarget``. Modules here import each other, the rest of ``core`` and third-party
libraries, never another subpackage of ``pytest_deploycheck``.
"""

from __future__ import annotations

from .interpolation import Interpolation, Substitution, escape_literal, interpolate
from .loading import CONFIG_FILENAME, HISTORY_SECTIONS, config_from_text, find_config, load_config
from .model import Config, LocalTarget, substitute
from .operations import OPERATION_SETTINGS, named_operations, operation_problems
from .problems import Problem, format_path
from .schema import (
    SCHEMA_FILENAME,
    SCHEMA_ID,
    SECTIONS,
    retired_keys,
    schema_document,
    schema_registry,
)
from .validation import validate

__all__ = [
    "CONFIG_FILENAME",
    "HISTORY_SECTIONS",
    "OPERATION_SETTINGS",
    "SCHEMA_FILENAME",
    "SCHEMA_ID",
    "SECTIONS",
    "Config",
    "Interpolation",
    "LocalTarget",
    "Problem",
    "Substitution",
    "config_from_text",
    "escape_literal",
    "find_config",
    "format_path",
    "interpolate",
    "load_config",
    "named_operations",
    "operation_problems",
    "retired_keys",
    "schema_document",
    "schema_registry",
    "substitute",
    "validate",
]

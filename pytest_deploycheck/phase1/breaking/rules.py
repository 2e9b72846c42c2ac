"""The rule catalogue: every rule id the differ can report, with its default level.

- ERR: clients written against the base break against the head;
- WARN: clients may break, depending on how they are written;
- INFO: worth a reviewer's eye but allowed (a deprecated endpoint removed after its sunset).

Changelog rules (the non-breaking changes: new endpoints, new optional parameters, new
response properties, ...) are INFO too. ``RULES`` says which rule belongs where. A rule that
does not depend on where a schema sits is a line of ``_FIXED_RULES``; a schema rule is a line
of ``_SCHEMA_RULES`` and exists once per request and response prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Level = Literal["ERR", "WARN", "INFO"]
Side = Literal["base", "head"]
Direction = Literal["request", "response"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A kind of change: its id, its default level and whether it is a changelog entry."""

    id: str
    level: Level
    changelog: bool = False


# Rules that do not depend on where a schema sits. "CL" marks a changelog entry (INFO).
_FIXED_RULES: dict[str, str] = {
    # endpoints
    "api-path-removed-without-deprecation": "ERR",
    "api-path-removed-before-sunset": "ERR",
    "api-path-removed-with-deprecation": "INFO",
    "api-removed-without-deprecation": "ERR",
    "api-removed-before-sunset": "ERR",
    "api-removed-with-deprecation": "INFO",
    "api-path-sunset-parse": "ERR",
    "api-operation-id-changed": "WARN",
    "api-tag-removed": "INFO",
    "endpoint-added": "CL",
    "endpoint-deprecated": "CL",
    "endpoint-reactivated": "CL",
    "api-tag-added": "CL",
    # security
    "api-security-added": "ERR",
    "api-security-alternative-removed": "ERR",
    "api-security-scope-added": "ERR",
    "api-security-removed": "CL",
    # parameters
    "request-parameter-removed": "WARN",
    "new-required-request-parameter": "ERR",
    "request-parameter-became-required": "ERR",
    "new-optional-request-parameter": "CL",
    "request-parameter-became-optional": "CL",
    # request bodies
    "new-required-request-body": "ERR",
    "request-body-became-required": "ERR",
    "request-body-removed": "WARN",
    "request-body-media-type-removed": "ERR",
    "new-optional-request-body": "CL",
    "request-body-became-optional": "CL",
    "request-body-media-type-added": "CL",
    # request properties
    "new-required-request-property": "ERR",
    "request-property-became-required": "ERR",
    "request-property-removed": "WARN",
    "new-optional-request-property": "CL",
    "request-property-became-optional": "CL",
    # responses
    "response-success-status-removed": "ERR",
    "response-non-success-status-removed": "WARN",
    "response-media-type-removed": "ERR",
    "response-header-removed": "ERR",
    "response-optional-header-removed": "WARN",
    "response-header-became-optional": "ERR",
    "response-success-status-added": "CL",
    "response-non-success-status-added": "CL",
    "response-media-type-added": "CL",
    "response-header-added": "CL",
    # response properties
    "response-required-property-removed": "ERR",
    "response-optional-property-removed": "WARN",
    "response-property-became-optional": "ERR",
    "response-required-property-added": "CL",
    "response-optional-property-added": "CL",
    "response-property-became-required": "CL",
}

# Schema rules, one id per prefix: (level in a request, level in a response). Narrowing what
# a request may carry breaks senders; widening what a response may carry breaks readers.
_SCHEMA_RULES: dict[str, tuple[str, str]] = {
    "type-changed": ("ERR", "ERR"),
    "format-changed": ("WARN", "WARN"),
    "enum-value-removed": ("ERR", "CL"),
    "enum-value-added": ("CL", "WARN"),
    "became-enum": ("ERR", "CL"),
    "enum-removed": ("CL", "WARN"),
    "max-decreased": ("ERR", "CL"),
    "max-increased": ("CL", "WARN"),
    "min-increased": ("ERR", "CL"),
    "min-decreased": ("CL", "WARN"),
    "max-length-decreased": ("ERR", "CL"),
    "max-length-increased": ("CL", "WARN"),
    "min-length-increased": ("ERR", "CL"),
    "min-length-decreased": ("CL", "WARN"),
    "max-items-decreased": ("ERR", "CL"),
    "max-items-increased": ("CL", "WARN"),
    "min-items-increased": ("ERR", "CL"),
    "min-items-decreased": ("CL", "WARN"),
    "pattern-added": ("ERR", "CL"),
    "pattern-changed": ("WARN", "WARN"),
    "pattern-removed": ("CL", "WARN"),
    "default-changed": ("WARN", ""),
    "became-not-nullable": ("ERR", "CL"),
    "became-nullable": ("CL", "ERR"),
    "one-of-removed": ("ERR", "CL"),
    "one-of-added": ("CL", "WARN"),
    "any-of-removed": ("ERR", "CL"),
    "any-of-added": ("CL", "WARN"),
}
_PREFIXES: dict[Direction, tuple[str, ...]] = {
    "request": ("request-parameter", "request-body", "request-property"),
    "response": ("response-body", "response-property", "response-header"),
}


def _build_rules() -> dict[str, Rule]:
    def rule(rule_id: str, code: str) -> Rule:
        if code == "CL":
            return Rule(rule_id, "INFO", changelog=True)
        level: Level = "ERR" if code == "ERR" else "WARN" if code == "WARN" else "INFO"
        return Rule(rule_id, level)

    rules = {rule_id: rule(rule_id, code) for rule_id, code in _FIXED_RULES.items()}
    for suffix, (in_request, in_response) in _SCHEMA_RULES.items():
        for prefixes, code in (
            (_PREFIXES["request"], in_request),
            (_PREFIXES["response"], in_response),
        ):
            for prefix in prefixes if code else ():
                rules[f"{prefix}-{suffix}"] = rule(f"{prefix}-{suffix}", code)
    return dict(sorted(rules.items()))


RULES: Mapping[str, Rule] = _build_rules()
"""Every rule id this package can report, with its default level."""

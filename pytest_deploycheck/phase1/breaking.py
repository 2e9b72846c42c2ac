"""Breaking changes between two versions of an OpenAPI document, in the spirit of oasdiff.

``diff_specs(base, head)`` walks both documents operation by operation and returns
:class:`Change` records with oasdiff-like rule ids (``api-removed-without-deprecation``,
``request-parameter-became-required``, ``response-property-became-nullable``, ...):

- ERR: clients written against the base break against the head;
- WARN: clients may break, depending on how they are written;
- INFO: worth a reviewer's eye but allowed (a deprecated endpoint removed after its sunset).

``changelog(base, head)`` returns the non-breaking changes (new endpoints, new optional
parameters, new response properties, ...), all INFO. Both come from one walk; ``RULES`` says
which rule belongs where and holds each rule's default level.

Request schemas are compared with request semantics (the head accepting less is breaking),
response schemas with response semantics (the head returning more is breaking).
``oneOf``/``anyOf`` alternatives pair by ``$ref`` or ``title``, else by how alike they look,
never by position. When alternatives become one schema, a request's are each compared with
it and a response's most alike one is.
``load_base`` reads the base from a file or from git (``origin/main:specs/api.yaml``) and
``check_breaking`` turns the changes into findings for the ``breaking`` config section.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from pytest_deploycheck.core.errors import ConfigError, SpecError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.spec import Operation, Spec, load_spec, resolve_pointer

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

Level = Literal["ERR", "WARN", "INFO"]
Side = Literal["base", "head"]
Direction = Literal["request", "response"]

DEFAULT_FAIL_ON: Level = "ERR"
DEFAULT_CHANGELOG = False
GIT_TIMEOUT = 30.0
"""Seconds one ``git`` call may take before the base counts as unreadable."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A kind of change: its id, its default level and whether it is a changelog entry."""

    id: str
    level: Level
    changelog: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the base and the head spec.

    ``location`` is a JSON pointer into the head spec, or into the base one (``side``
    ``"base"``) when the thing it points at was removed.
    """

    rule: str
    level: Level
    operation: str | None
    message: str
    location: str | None = None
    side: Side = "head"

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        return f"{self.level} [{self.rule}] {where}{self.message}"


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
"""Every rule id this module can report, with its default level."""


def diff_specs(base: Spec, head: Spec, *, today: date | None = None) -> list[Change]:
    """The changes from ``base`` to ``head`` that may break clients, plus reviewer notes.

    ``today`` decides whether a deprecated operation's sunset date has passed.
    """
    changes = _Differ(base, head, today or date.today()).run()
    return [change for change in changes if not RULES[change.rule].changelog]


def changelog(base: Spec, head: Spec) -> list[Change]:
    """The non-breaking changes from ``base`` to ``head``, all INFO."""
    changes = _Differ(base, head, date.today()).run()
    return [change for change in changes if RULES[change.rule].changelog]


def check_breaking(
    head: Spec, section: Mapping[str, Any], root: Path, *, today: date | None = None
) -> list[Finding]:
    """Findings for the ``breaking`` config section: the head spec against its base.

    ERR changes are errors; WARN changes are warnings, or errors when ``fail_on`` is
    ``"WARN"``; INFO changes are info. ``rules`` sets a rule's level or turns it ``"off"``;
    a changelog rule named there is reported even when ``changelog`` is false. Raises
    SpecError when the base cannot be read and ConfigError for an unknown rule id.
    """
    overrides = _rule_overrides(section.get("rules") or {})
    ref = section.get("base")
    if not ref:
        message = (
            "no base spec to compare with, so no breaking change can be found: set "
            "breaking.base to a spec file or a git revision such as "
            "'origin/main:specs/openapi.yaml'"
        )
        return [Finding("breaking-no-base", message, Severity.INFO)]
    fail_on = str(section.get("fail_on", DEFAULT_FAIL_ON))
    with_changelog = bool(section.get("changelog", DEFAULT_CHANGELOG))
    base = load_base(str(ref), root)
    names = {"base": _display_name(base, root), "head": _display_name(head, root)}
    findings = []
    for change in _Differ(base, head, today or date.today()).run():
        level = overrides.get(change.rule, change.level)
        if level == "off":
            continue
        if RULES[change.rule].changelog and not with_changelog and change.rule not in overrides:
            continue
        message = f"{change.operation}: {change.message}" if change.operation else change.message
        location = f"{names[change.side]}{change.location}" if change.location else None
        findings.append(Finding(change.rule, message, _severity(level, fail_on), location))
    return findings


def _severity(level: str, fail_on: str) -> Severity:
    if level == "ERR" or (level == "WARN" and fail_on == "WARN"):
        return Severity.ERROR
    return Severity.WARNING if level == "WARN" else Severity.INFO


def _rule_overrides(rules: Mapping[str, Any]) -> dict[str, str]:
    problems = []
    for rule_id, level in rules.items():
        if rule_id not in RULES:
            close = difflib.get_close_matches(rule_id, list(RULES), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "see RULES in pytest_deploycheck.phase1.breaking"
            )
            problems.append(f"breaking.rules: unknown rule {rule_id!r}; {hint}")
        elif level not in ("ERR", "WARN", "INFO", "off"):
            problems.append(
                f"breaking.rules.{rule_id}: must be 'ERR', 'WARN', 'INFO' or 'off' (got {level!r})"
            )
    if problems:
        raise ConfigError(problems)
    return {str(rule_id): str(level) for rule_id, level in rules.items()}


def _display_name(spec: Spec, root: Path) -> str:
    """The spec's file relative to ``root``; a git base keeps its ``REV:PATH`` name."""
    if spec.source is None or not spec.source.is_file():
        return spec.name
    try:
        return spec.source.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return spec.name


# --- walking two documents -------------------------------------------------------------

_TEMPLATE = re.compile(r"\{[^}/]*\}")
_SCALAR_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "enum",
        "const",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "pattern",
        "default",
        "nullable",
    }
)
# (keywords, rule name, is an upper bound, value when absent)
_BOUNDS: tuple[tuple[tuple[str, ...], str, bool, float | None], ...] = (
    (("maximum", "exclusiveMaximum"), "max", True, None),
    (("minimum", "exclusiveMinimum"), "min", False, None),
    (("maxLength",), "max-length", True, None),
    (("minLength",), "min-length", False, 0),
    (("maxItems",), "max-items", True, None),
    (("minItems",), "min-items", False, 0),
)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a schema sits: which operation, which direction, which part of the message."""

    operation: str
    direction: Direction
    root_prefix: str
    root: str
    path: tuple[str, ...] = ()

    def child(self, name: str) -> _Where:
        return _Where(
            self.operation, self.direction, self.root_prefix, self.root, (*self.path, name)
        )

    @property
    def prefix(self) -> str:
        """The rule prefix: the root's, until a property name appears in the path."""
        if all(step == "[]" for step in self.path):
            return self.root_prefix
        return f"{self.direction}-property"

    def describe(self) -> str:
        steps = list(self.path)
        root = self.root
        while steps and steps[0] == "[]":
            steps.pop(0)
            root = f"the items of {root}"
        if not steps:
            return root
        dotted = "".join(step if step == "[]" else f".{step}" for step in steps).lstrip(".")
        return f"property '{dotted}' of {root}"


_ALTERNATIVES: tuple[tuple[str, str], ...] = (("oneOf", "one-of"), ("anyOf", "any-of"))
"""The keywords that list alternatives, with the suffix of their rules."""


@dataclass(frozen=True, slots=True)
class _Alternative:
    """One ``oneOf``/``anyOf`` alternative as written, with the name it is known by, if any.

    The name is its ``$ref``, else its ``title``. Unnamed alternatives are paired by how alike
    they look (:func:`_likeness`), because their position changes whenever one is inserted.
    """

    name: str | None
    index: int
    node: Any
    pointer: str

    @property
    def entry(self) -> tuple[Any, str]:
        return self.node, self.pointer


@dataclass(slots=True)
class _View:
    """A schema with its ``$ref`` followed and its ``allOf`` parts merged in.

    A ``oneOf``/``anyOf`` with a single non-null alternative is merged in too, like an
    ``allOf`` part; ``folded`` keeps that alternative, so that it still pairs by name with
    an alternative of the other version.
    """

    pointer: str
    keywords: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    items: tuple[Any, str] | None = None
    alternatives: dict[str, list[_Alternative]] = field(default_factory=dict)
    folded: dict[str, _Alternative] = field(default_factory=dict)
    null_alternative: bool = False

    @property
    def nullable(self) -> bool:
        kind = self.keywords.get("type")
        listed = isinstance(kind, list) and "null" in kind
        return self.keywords.get("nullable") is True or listed or self.null_alternative


class _Differ:
    """One walk over both documents, collecting every change in reading order."""

    def __init__(self, base: Spec, head: Spec, today: date) -> None:
        self.base = base
        self.head = head
        self.today = today
        self.changes: list[Change] = []
        self.reported: set[Change] = set()

    def emit(
        self, rule: str, message: str, operation: str | None, pointer: str, side: Side = "head"
    ) -> None:
        """Record a change, once.

        Comparing each alternative of a collapsed ``oneOf`` with the new schema meets what the
        alternatives share once per alternative; the reader needs to hear of it once.
        """
        change = Change(rule, RULES[rule].level, operation, message, pointer, side)
        if change not in self.reported:
            self.reported.add(change)
            self.changes.append(change)

    def run(self) -> list[Change]:
        base_ops = _operations_by_template(self.base)
        head_ops = _operations_by_template(self.head)
        head_paths = {_TEMPLATE.sub("{}", str(p)) for p in self.head.document.get("paths") or {}}
        for key, base_op in base_ops.items():
            head_op = head_ops.get(key)
            if head_op is None:
                self.removed(base_op, path_removed=key[1] not in head_paths)
            else:
                self.operation(base_op, head_op)
        for key, head_op in head_ops.items():
            if key not in base_ops:
                message = f"new endpoint {head_op.label}"
                self.emit("endpoint-added", message, head_op.label, head_op.pointer)
        return self.changes

    # --- endpoints ----------------------------------------------------------------------

    def removed(self, op: Operation, *, path_removed: bool) -> None:
        kind = "api-path-removed" if path_removed else "api-removed"
        what = f"the path {op.path}" if path_removed else "the operation"
        emit = self.emit
        if op.definition.get("deprecated") is not True:
            message = (
                f"{what} was removed without deprecating the operation first; mark it "
                "deprecated: true (with an x-sunset date) in an earlier release"
            )
            emit(f"{kind}-without-deprecation", message, op.label, op.pointer, "base")
            return
        raw = op.definition.get("x-sunset", op.definition.get("sunset"))
        if raw is None:
            message = f"{what} was removed; the operation was deprecated, with no sunset date"
            emit(f"{kind}-with-deprecation", message, op.label, op.pointer, "base")
            return
        try:
            sunset = _sunset_date(raw)
        except ValueError:
            message = (
                f"{what} was removed, but the x-sunset of the deprecated operation is "
                f"{raw!r}, not a date; write it as an RFC 3339 date such as '2025-12-31'"
            )
            emit("api-path-sunset-parse", message, op.label, op.pointer, "base")
            return
        if self.today < sunset:
            message = (
                f"{what} was removed before its sunset date {sunset.isoformat()} "
                f"(today is {self.today.isoformat()}); keep the operation until then"
            )
            emit(f"{kind}-before-sunset", message, op.label, op.pointer, "base")
        else:
            message = f"{what} was removed after the operation's sunset date {sunset}"
            emit(f"{kind}-with-deprecation", message, op.label, op.pointer, "base")

    def operation(self, base_op: Operation, head_op: Operation) -> None:
        label, pointer = head_op.label, head_op.pointer
        was, now = base_op.definition, head_op.definition
        if now.get("deprecated") is True and was.get("deprecated") is not True:
            sunset = now.get("x-sunset", now.get("sunset"))
            until = f" (sunset {sunset})" if sunset is not None else ""
            self.emit("endpoint-deprecated", f"{label} was deprecated{until}", label, pointer)
        elif was.get("deprecated") is True and now.get("deprecated") is not True:
            self.emit("endpoint-reactivated", f"{label} is no longer deprecated", label, pointer)
        old_id, new_id = base_op.operation_id, head_op.operation_id
        if old_id is not None and old_id != new_id:
            message = (
                f"operationId changed from {old_id!r} to {new_id!r}; generated clients "
                "rename or lose the method"
                if new_id
                else f"operationId {old_id!r} was removed; generated clients lose the method"
            )
            self.emit("api-operation-id-changed", message, label, pointer)
        old_tags, new_tags = _strings(was.get("tags")), _strings(now.get("tags"))
        for tag in old_tags:
            if tag not in new_tags:
                message = f"tag {tag!r} was removed (tags now: {_listing(new_tags)})"
                self.emit("api-tag-removed", message, label, pointer)
        for tag in new_tags:
            if tag not in old_tags:
                self.emit("api-tag-added", f"tag {tag!r} was added", label, pointer)
        self.security(base_op, head_op)
        self.parameters(base_op, head_op)
        self.request_body(base_op, head_op)
        self.responses(base_op, head_op)

    def security(self, base_op: Operation, head_op: Operation) -> None:
        label = head_op.label
        old, _ = _requirements(self.base, base_op)
        new, pointer = _requirements(self.head, head_op)
        old_anonymous = not old or any(not alternative for alternative in old)
        if not new or any(not alternative for alternative in new):
            if not old_anonymous:
                message = f"no longer requires authentication (was {_requirement_text(old)})"
                self.emit("api-security-removed", message, label, pointer)
            return
        if old_anonymous:
            message = (
                f"now requires authentication ({_requirement_text(new)}); "
                "it accepted anonymous calls before"
            )
            self.emit("api-security-added", message, label, pointer)
            return
        for alternative in old:
            # A client holding the credentials of `alternative` can satisfy any requirement
            # whose schemes are a subset of it.
            usable = [req for req in new if set(req) <= set(alternative)]
            if not usable:
                message = (
                    f"clients authenticating with {_requirement_text([alternative])} can no "
                    f"longer call it (now accepted: {_requirement_text(new)})"
                )
                self.emit("api-security-alternative-removed", message, label, pointer)
            elif not any(all(req[s] <= alternative[s] for s in req) for req in usable):
                scheme = next(s for s in usable[0] if not usable[0][s] <= alternative[s])
                added = sorted(usable[0][scheme] - alternative[scheme])
                message = (
                    f"security scheme {scheme!r} now needs scope(s) {_listing(added)} "
                    f"(was {_listing(sorted(alternative[scheme]))})"
                )
                self.emit("api-security-scope-added", message, label, pointer)

    # --- parameters and bodies -------------------------------------------------------------

    def parameters(self, base_op: Operation, head_op: Operation) -> None:
        label = head_op.label
        # Path parameters are matched by position: /users/{id} and /users/{user_id} are
        # the same endpoint, so a renamed path parameter is neither removed nor added.
        renamed = dict(zip(_path_names(base_op.path), _path_names(head_op.path), strict=False))
        old = {
            ((where, renamed.get(name, name)) if where == "path" else (where, name)): entry
            for (where, name), entry in _parameters(self.base, base_op).items()
        }
        new = _parameters(self.head, head_op)
        for key, (param, pointer) in old.items():
            subject = f"{key[0]} parameter '{param['name']}'"
            if key not in new:
                message = f"{subject} was removed; clients that still send it may be rejected"
                self.emit("request-parameter-removed", message, label, pointer, "base")
                continue
            head_param, head_pointer = new[key]
            subject = f"{key[0]} parameter '{head_param['name']}'"
            was, now = _parameter_required(param), _parameter_required(head_param)
            if now and not was:
                message = f"{subject} became required (was optional)"
                self.emit("request-parameter-became-required", message, label, head_pointer)
            elif was and not now:
                message = f"{subject} became optional (was required)"
                self.emit("request-parameter-became-optional", message, label, head_pointer)
            old_schema = _parameter_schema(param, pointer)
            new_schema = _parameter_schema(head_param, head_pointer)
            if old_schema and new_schema:
                where = _Where(label, "request", "request-parameter", subject)
                self.schema(where, old_schema, new_schema)
        for key, (param, pointer) in new.items():
            if key in old:
                continue
            subject = f"{key[0]} parameter '{param['name']}'"
            if _parameter_required(param):
                message = f"new required {subject}; clients that do not send it are rejected"
                self.emit("new-required-request-parameter", message, label, pointer)
            else:
                message = f"new optional {subject}"
                self.emit("new-optional-request-parameter", message, label, pointer)

    def request_body(self, base_op: Operation, head_op: Operation) -> None:
        label = head_op.label
        old, old_pointer = _follow(
            self.base, base_op.definition.get("requestBody"), f"{base_op.pointer}/requestBody"
        )
        new, new_pointer = _follow(
            self.head, head_op.definition.get("requestBody"), f"{head_op.pointer}/requestBody"
        )
        if not isinstance(old, Mapping):
            if isinstance(new, Mapping):
                if new.get("required") is True:
                    message = "a required request body was added; clients that send none fail"
                    self.emit("new-required-request-body", message, label, new_pointer)
                else:
                    message = "an optional request body was added"
                    self.emit("new-optional-request-body", message, label, new_pointer)
            return
        if not isinstance(new, Mapping):
            message = "the request body was removed; clients that still send one may be rejected"
            self.emit("request-body-removed", message, label, old_pointer, "base")
            return
        if new.get("required") is True and old.get("required") is not True:
            message = "the request body became required (was optional)"
            self.emit("request-body-became-required", message, label, new_pointer)
        elif old.get("required") is True and new.get("required") is not True:
            message = "the request body became optional (was required)"
            self.emit("request-body-became-optional", message, label, new_pointer)
        old_content, new_content = _content(old, old_pointer), _content(new, new_pointer)
        for media, (name, old_schema, pointer) in old_content.items():
            if media not in new_content:
                message = (
                    f"request body media type {name!r} was removed "
                    f"(still accepted: {_listing([n for n, _, _ in new_content.values()])})"
                )
                self.emit("request-body-media-type-removed", message, label, pointer, "base")
                continue
            new_name, new_schema, _ = new_content[media]
            if old_schema and new_schema:
                where = _Where(label, "request", "request-body", f"the request body ({new_name})")
                self.schema(where, old_schema, new_schema)
        for media, (name, _, pointer) in new_content.items():
            if media not in old_content:
                message = f"request body media type {name!r} was added"
                self.emit("request-body-media-type-added", message, label, pointer)

    def responses(self, base_op: Operation, head_op: Operation) -> None:
        label = head_op.label
        old = _responses(self.base, base_op)
        new = _responses(self.head, head_op)
        matched: set[str] = set()
        for status, (response, pointer) in old.items():
            target = status if status in new else f"{status[:1]}XX"
            if target not in new:
                if status.startswith("2"):
                    message = (
                        f"success status {status} was removed (statuses now: {_listing(list(new))})"
                    )
                    self.emit("response-success-status-removed", message, label, pointer, "base")
                else:
                    message = f"status {status} was removed (statuses now: {_listing(list(new))})"
                    self.emit(
                        "response-non-success-status-removed", message, label, pointer, "base"
                    )
                continue
            matched.add(target)
            self.response(label, status, (response, pointer), new[target])
        for status, (_, pointer) in new.items():
            if status in old or status in matched:
                continue
            if status.startswith("2"):
                message = f"success status {status} was added; clients may not expect it"
                self.emit("response-success-status-added", message, label, pointer)
            else:
                message = f"status {status} was added"
                self.emit("response-non-success-status-added", message, label, pointer)

    def response(
        self,
        label: str,
        status: str,
        old: tuple[Mapping[str, Any], str],
        new: tuple[Mapping[str, Any], str],
    ) -> None:
        (old_response, old_pointer), (new_response, new_pointer) = old, new
        old_content = _content(old_response, old_pointer)
        new_content = _content(new_response, new_pointer)
        for media, (name, old_schema, pointer) in old_content.items():
            if media not in new_content:
                message = (
                    f"media type {name!r} of the {status} response was removed "
                    f"(now: {_listing([n for n, _, _ in new_content.values()])})"
                )
                self.emit("response-media-type-removed", message, label, pointer, "base")
                continue
            new_name, new_schema, _ = new_content[media]
            if old_schema and new_schema:
                root = f"the {status} response ({new_name})"
                self.schema(
                    _Where(label, "response", "response-body", root), old_schema, new_schema
                )
        for media, (name, _, pointer) in new_content.items():
            if media not in old_content:
                message = f"media type {name!r} was added to the {status} response"
                self.emit("response-media-type-added", message, label, pointer)
        old_headers = _headers(self.base, old_response, old_pointer)
        new_headers = _headers(self.head, new_response, new_pointer)
        for key, (header_name, header, pointer) in old_headers.items():
            subject = f"header '{header_name}' of the {status} response"
            if key not in new_headers:
                if header.get("required") is True:
                    message = f"required {subject} was removed"
                    self.emit("response-header-removed", message, label, pointer, "base")
                else:
                    message = f"optional {subject} was removed"
                    self.emit("response-optional-header-removed", message, label, pointer, "base")
                continue
            _, new_header, new_header_pointer = new_headers[key]
            if header.get("required") is True and new_header.get("required") is not True:
                message = f"{subject} became optional (was required)"
                self.emit("response-header-became-optional", message, label, new_header_pointer)
            old_schema = _parameter_schema(header, pointer)
            new_schema = _parameter_schema(new_header, new_header_pointer)
            if old_schema and new_schema:
                where = _Where(label, "response", "response-header", subject)
                self.schema(where, old_schema, new_schema)
        for key, (header_name, _, pointer) in new_headers.items():
            if key not in old_headers:
                message = f"header '{header_name}' was added to the {status} response"
                self.emit("response-header-added", message, label, pointer)

    # --- schemas ----------------------------------------------------------------------------

    def schema(
        self,
        where: _Where,
        old: tuple[Any, str],
        new: tuple[Any, str],
        stack: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """Compare two schemas; ``stack`` holds the pairs being compared, against cycles."""
        self.compare(where, _view(self.base, *old), _view(self.head, *new), stack)

    def compare(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """Compare two views, telling apart a choice that became a single schema."""
        pair = (was.pointer, now.pointer)
        if pair in stack:
            return
        stack = stack | {pair}
        if was.alternatives and not now.alternatives:
            self.collapsed(where, was, now, stack)
        elif now.alternatives and not was.alternatives and where.direction == "request":
            self.expanded(where, was, now, stack)
        else:
            self.shape(where, was, now, stack)

    def shape(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """Compare type, values, properties, items and alternatives of two views."""
        if self.schema_type(where, was, now):
            return  # the constraints of another type would only add noise
        self.schema_values(where, was, now)
        self.schema_properties(where, was, now, stack)
        if was.items and now.items:
            self.schema(where.child("[]"), was.items, now.items, stack)
        for keyword, suffix in _ALTERNATIVES:
            old = was.alternatives.get(keyword, [])
            new = now.alternatives.get(keyword, [])
            pairs = _pair(self.base, old, self.head, new)
            for old_index, new_index in pairs:
                self.schema(where, old[old_index].entry, new[new_index].entry, stack)
            paired_old = {old_index for old_index, _ in pairs}
            paired_new = {new_index for _, new_index in pairs}
            for index, alternative in enumerate(old):
                if index not in paired_old:
                    self.alternative_removed(where, keyword, suffix, alternative)
            for index, alternative in enumerate(new):
                if index not in paired_new:
                    self.alternative_added(where, keyword, suffix, alternative)

    def collapsed(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """The base offered alternatives, the head has one schema (several merged into one).

        A request must still be accepted whatever old alternative the client sends, so each
        old alternative that looks like the head schema is compared with it. A response only
        has to fit one old alternative, so the head schema is compared with the most alike,
        and the others are no longer returned. An old alternative left out was removed.
        """
        listed = _listed(was)
        scores = [
            _resemblance(self.base, alternative, self.head, now, now.folded.get(keyword))
            for keyword, _, alternative in listed
        ]
        compared = _compared(scores, every=where.direction == "request")
        if not compared:
            self.shape(where, was, now, stack)
            return
        for index, (keyword, suffix, alternative) in enumerate(listed):
            if index in compared:
                self.compare(where, _branch(self.base, was, keyword, alternative), now, stack)
            else:
                self.alternative_removed(where, keyword, suffix, alternative)

    def expanded(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        """A request body that was one schema now offers alternatives.

        What clients sent must fit one of them: the old schema is compared with the most
        alike; the others were added. A response that gained alternatives is compared part
        with part instead: holding every new alternative to all the old schema promised would
        turn one loose schema split into precise ones into a finding per alternative.
        """
        listed = _listed(now)
        scores = [
            _resemblance(self.head, alternative, self.base, was, was.folded.get(keyword))
            for keyword, _, alternative in listed
        ]
        compared = _compared(scores, every=False)
        if not compared:
            self.shape(where, was, now, stack)
            return
        for index, (keyword, suffix, alternative) in enumerate(listed):
            if index in compared:
                self.compare(where, was, _branch(self.head, now, keyword, alternative), stack)
            else:
                self.alternative_added(where, keyword, suffix, alternative)

    def alternative_removed(
        self, where: _Where, keyword: str, suffix: str, alternative: _Alternative
    ) -> None:
        label = _alternative_label(self.base, alternative)
        message = f"{keyword} alternative {label} of {where.describe()} was removed"
        if where.direction == "request":
            message += "; clients that send that shape are rejected"
        self.schema_change(where, f"{suffix}-removed", message, alternative.pointer, "base")

    def alternative_added(
        self, where: _Where, keyword: str, suffix: str, alternative: _Alternative
    ) -> None:
        label = _alternative_label(self.head, alternative)
        message = f"{keyword} alternative {label} was added to {where.describe()}"
        self.schema_change(where, f"{suffix}-added", message, alternative.pointer)

    def schema_change(
        self, where: _Where, suffix: str, message: str, pointer: str, side: Side = "head"
    ) -> None:
        rule = f"{where.prefix}-{suffix}"
        if rule in RULES:
            self.emit(rule, message, where.operation, pointer, side)

    def schema_type(self, where: _Where, was: _View, now: _View) -> bool:
        old, new = _types(was.keywords), _types(now.keywords)
        if old is None or new is None:
            return False
        if where.direction == "request":
            broken = any(not _accepts(new, kind) for kind in old)
        else:
            broken = any(not _accepts(old, kind) for kind in new)
        if broken:
            message = (
                f"type of {where.describe()} changed from {_type_text(old)} to {_type_text(new)}"
            )
            self.schema_change(where, "type-changed", message, now.pointer)
        return broken

    def schema_values(self, where: _Where, was: _View, now: _View) -> None:
        subject, pointer = where.describe(), now.pointer
        change = self.schema_change
        old_format, new_format = was.keywords.get("format"), now.keywords.get("format")
        if old_format is not None and new_format is not None and old_format != new_format:
            message = f"format of {subject} changed from {old_format!r} to {new_format!r}"
            change(where, "format-changed", message, pointer)
        self.schema_enum(where, was, now)
        for keywords, name, upper, absent in _BOUNDS:
            old = _bound(was.keywords, keywords, upper, absent)
            new = _bound(now.keywords, keywords, upper, absent)
            if old == new:
                continue
            label = keywords[0]
            if new is None:
                loosened, text = True, f"{label} of {subject} was removed (was {_number(old)})"
            elif old is None:
                loosened, text = False, f"{label} of {subject} set to {_number(new)} (was none)"
            else:
                loosened = new > old if upper else new < old
                verb = "increased" if new > old else "decreased"
                text = f"{label} of {subject} {verb} from {_number(old)} to {_number(new)}"
            grew = loosened if upper else not loosened
            change(where, f"{name}-{'increased' if grew else 'decreased'}", text, pointer)
        old_pattern, new_pattern = was.keywords.get("pattern"), now.keywords.get("pattern")
        if old_pattern != new_pattern:
            if old_pattern is None:
                message = f"{subject} must now match the pattern {new_pattern!r}"
                change(where, "pattern-added", message, pointer)
            elif new_pattern is None:
                message = f"pattern {old_pattern!r} of {subject} was removed"
                change(where, "pattern-removed", message, pointer)
            else:
                message = f"pattern of {subject} changed from {old_pattern!r} to {new_pattern!r}"
                change(where, "pattern-changed", message, pointer)
        if where.direction == "request" and "default" in was.keywords:
            old_default, new_default = was.keywords["default"], now.keywords.get("default")
            if "default" not in now.keywords:
                message = f"default of {subject} was removed (was {_json(old_default)})"
                change(where, "default-changed", message, pointer)
            elif _json(old_default) != _json(new_default):
                message = (
                    f"default of {subject} changed from {_json(old_default)} "
                    f"to {_json(new_default)}"
                )
                change(where, "default-changed", message, pointer)
        if now.nullable and not was.nullable:
            change(where, "became-nullable", f"{subject} became nullable (was not)", pointer)
        elif was.nullable and not now.nullable:
            message = f"{subject} is no longer nullable (was nullable)"
            change(where, "became-not-nullable", message, pointer)

    def schema_enum(self, where: _Where, was: _View, now: _View) -> None:
        subject, pointer = where.describe(), now.pointer
        old, new = _enum(was.keywords), _enum(now.keywords)
        if old is None or new is None:
            if new is not None:
                message = f"{subject} is now restricted to {_values(new)} (was any value)"
                self.schema_change(where, "became-enum", message, pointer)
            elif old is not None:
                message = f"{subject} is no longer restricted to {_values(old)}"
                self.schema_change(where, "enum-removed", message, pointer)
            return
        new_keys, old_keys = {_json(v) for v in new}, {_json(v) for v in old}
        for value in old:
            if _json(value) not in new_keys:
                message = (
                    f"value {_json(value)} was removed from the enum of {subject} "
                    f"(was {_values(old)}, now {_values(new)})"
                )
                self.schema_change(where, "enum-value-removed", message, pointer)
        for value in new:
            if _json(value) not in old_keys:
                message = (
                    f"value {_json(value)} was added to the enum of {subject} "
                    f"(was {_values(old)}, now {_values(new)})"
                )
                self.schema_change(where, "enum-value-added", message, pointer)

    def schema_properties(
        self, where: _Where, was: _View, now: _View, stack: frozenset[tuple[str, str]]
    ) -> None:
        request = where.direction == "request"
        # readOnly properties are not sent, writeOnly ones are not returned.
        hidden = "readOnly" if request else "writeOnly"
        old = {n: e for n, e in was.properties.items() if not _flag(self.base, e, hidden)}
        new = {n: e for n, e in now.properties.items() if not _flag(self.head, e, hidden)}
        op = where.operation
        for name, (node, pointer) in old.items():
            child = where.child(name)
            subject = child.describe()
            if name not in new:
                if request:
                    message = f"{subject} was removed; clients that still send it may be rejected"
                    self.emit("request-property-removed", message, op, pointer, "base")
                elif name in was.required:
                    message = f"required {subject} was removed"
                    self.emit("response-required-property-removed", message, op, pointer, "base")
                else:
                    message = f"optional {subject} was removed"
                    self.emit("response-optional-property-removed", message, op, pointer, "base")
                continue
            new_node, new_pointer = new[name]
            required_before, required_now = name in was.required, name in now.required
            if required_now != required_before:
                if required_now:
                    rule = f"{where.direction}-property-became-required"
                    message = f"{subject} became required (was optional)"
                else:
                    rule = f"{where.direction}-property-became-optional"
                    message = f"{subject} became optional (was required)"
                    if not request:
                        message += "; clients may rely on it being present"
                self.emit(rule, message, op, new_pointer)
            self.schema(child, (node, pointer), (new_node, new_pointer), stack)
        for name, (_, pointer) in new.items():
            if name in old:
                continue
            subject = where.child(name).describe()
            required = name in now.required
            if request:
                rule = (
                    "new-required-request-property" if required else "new-optional-request-property"
                )
                message = f"new {'required' if required else 'optional'} {subject}"
            else:
                kind = "required" if required else "optional"
                rule = f"response-{kind}-property-added"
                message = f"new {kind} {subject}"
            self.emit(rule, message, op, pointer)


# --- reading the documents ---------------------------------------------------------------


def _operations_by_template(spec: Spec) -> dict[tuple[str, str], Operation]:
    return {(op.method, _TEMPLATE.sub("{}", op.path)): op for op in spec.operations}


def _path_names(path: str) -> list[str]:
    return [name[1:-1] for name in _TEMPLATE.findall(path)]


def _follow(spec: Spec, node: Any, pointer: str) -> tuple[Any, str]:
    """Follow ``$ref`` from ``node``; the pointer becomes that of the target."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise SpecError(f"{spec.name}: circular $ref {ref!r}")
        seen.add(ref)
        node = resolve_pointer(spec.document, ref, spec.name)
        pointer = ref
    return node, pointer


def _escape(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _view(spec: Spec, node: Any, pointer: str) -> _View:
    node, pointer = _follow(spec, node, pointer)
    view = _View(pointer)
    if isinstance(node, Mapping):
        _absorb(view, spec, node, pointer, frozenset({pointer}))
    return view


def _absorb(
    view: _View, spec: Spec, node: Mapping[str, Any], pointer: str, seen: frozenset[str]
) -> None:
    """Merge ``node`` into ``view``, then its ``allOf`` parts; what the node says wins."""
    for key, value in node.items():
        if key in _SCALAR_KEYWORDS:
            view.keywords.setdefault(key, value)
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            view.properties.setdefault(str(name), (sub, f"{pointer}/properties/{_escape(name)}"))
    required = node.get("required")
    if isinstance(required, list):
        view.required.update(name for name in required if isinstance(name, str))
    if view.items is None and isinstance(node.get("items"), Mapping):
        view.items = (node["items"], f"{pointer}/items")
    parts = node.get("allOf")
    merged = [
        (part, f"{pointer}/allOf/{index}")
        for index, part in enumerate(parts if isinstance(parts, list) else [])
    ]
    for keyword, _ in _ALTERNATIVES:
        alternatives = node.get(keyword)
        kept: list[_Alternative] = []
        for index, alternative in enumerate(alternatives if isinstance(alternatives, list) else []):
            target, _ = _follow(spec, alternative, f"{pointer}/{keyword}/{index}")
            if isinstance(target, Mapping) and target.get("type") == "null":
                view.null_alternative = True
                continue
            ref = alternative.get("$ref") if isinstance(alternative, Mapping) else None
            title = target.get("title") if isinstance(target, Mapping) else None
            name = ref if isinstance(ref, str) else title if isinstance(title, str) else None
            if name is None or all(name != other.name for other in kept):
                kept.append(_Alternative(name, index, alternative, f"{pointer}/{keyword}/{index}"))
        if len(kept) == 1:
            # `anyOf: [X, {type: "null"}]` is X made nullable (OpenAPI 3.1), not a choice.
            view.folded.setdefault(keyword, kept[0])
            merged.append(kept[0].entry)
        elif kept:
            view.alternatives.setdefault(keyword, kept)
    for part, part_pointer in merged:
        target, part_pointer = _follow(spec, part, part_pointer)
        if isinstance(target, Mapping) and part_pointer not in seen:
            _absorb(view, spec, target, part_pointer, seen | {part_pointer})


def _branch(spec: Spec, parent: _View, keyword: str, alternative: _Alternative) -> _View:
    """One way to satisfy ``parent``: what the parent says, with one of its alternatives."""
    target, pointer = _follow(spec, alternative.node, alternative.pointer)
    view = _View(
        pointer,
        keywords=dict(parent.keywords),
        properties=dict(parent.properties),
        required=set(parent.required),
        items=parent.items,
        alternatives={key: value for key, value in parent.alternatives.items() if key != keyword},
        folded=dict(parent.folded),
        null_alternative=parent.null_alternative,
    )
    if isinstance(target, Mapping):
        _absorb(view, spec, target, pointer, frozenset({pointer}))
    return view


def _listed(view: _View) -> list[tuple[str, str, _Alternative]]:
    """Every alternative of a view, with its keyword and the suffix of that keyword's rules."""
    return [
        (keyword, suffix, alternative)
        for keyword, suffix in _ALTERNATIVES
        for alternative in view.alternatives.get(keyword, [])
    ]


def _compared(scores: list[int], *, every: bool) -> set[int]:
    """Which alternatives to compare with a single schema: every alike one, or the most alike.

    ``scores`` are their resemblances to that schema; of equally alike ones the first wins.
    """
    alike = {index for index, score in enumerate(scores) if score > 0}
    if every or not alike:
        return alike
    return {max(alike, key=lambda index: (scores[index], -index))}


def _pair(
    old_spec: Spec, old: list[_Alternative], new_spec: Spec, new: list[_Alternative]
) -> list[tuple[int, int]]:
    """Pair old and new alternatives (by their index in the lists), each at most once.

    Alternatives with the same name pair first, then alternatives written the same way. The
    others pair by how alike they look, most alike first, then nearest in position; one that
    looks like no alternative of the other version stays unpaired (removed or added),
    whatever its position.
    """
    if not old or not new:
        return []
    pairs: list[tuple[int, int]] = []
    paired_old: set[int] = set()
    paired_new: set[int] = set()

    def join(i: int, j: int) -> None:
        pairs.append((i, j))
        paired_old.add(i)
        paired_new.add(j)

    new_by_name = {alternative.name: j for j, alternative in enumerate(new) if alternative.name}
    for i, alternative in enumerate(old):
        if alternative.name in new_by_name:
            join(i, new_by_name[alternative.name])
    for i, alternative in enumerate(old):
        if i in paired_old:
            continue
        unpaired = (j for j in range(len(new)) if j not in paired_new)
        same = next((j for j in unpaired if new[j].node == alternative.node), None)
        if same is not None:
            join(i, same)
    old_views = {
        i: _view(old_spec, *alternative.entry)
        for i, alternative in enumerate(old)
        if i not in paired_old
    }
    new_views = {
        j: _view(new_spec, *alternative.entry)
        for j, alternative in enumerate(new)
        if j not in paired_new
    }
    candidates = []
    for i, was in old_views.items():
        for j, now in new_views.items():
            score = _likeness(old_spec, was, new_spec, now)
            if score:
                candidates.append((-score, abs(i - j), i, j))
    for _, _, i, j in sorted(candidates):
        if i not in paired_old and j not in paired_new:
            join(i, j)
    return sorted(pairs)


_SAME_NAME = 1_000_000
"""The resemblance of an alternative to a schema that merged in the alternative of its name."""


def _resemblance(
    spec: Spec,
    alternative: _Alternative,
    other_spec: Spec,
    other: _View,
    folded: _Alternative | None,
) -> int:
    """How much an alternative of one version resembles the single schema of the other.

    Highest when ``other`` merged in a lone alternative of the same name (a ``oneOf`` cut
    down to one), else the :func:`_likeness` of the two, 0 when they cannot be the same.
    """
    if alternative.name is not None and folded is not None and folded.name == alternative.name:
        return _SAME_NAME
    return _likeness(spec, _view(spec, *alternative.entry), other_spec, other) or 0


def _likeness(
    one_spec: Spec, one: _View, other_spec: Spec, other: _View, depth: int = 2
) -> int | None:
    """How alike two schemas look, to pair alternatives: None when they cannot be the same.

    Clashing types, disjoint ``enum``/``const`` values, no property name in common, or a
    property whose ``enum``/``const`` values differ (a discriminator such as
    ``type: {enum: [a]}`` against ``{enum: [b]}``) make them different alternatives. Each
    shared type, value, property name, required name and discriminator adds to the score;
    0 means nothing to go by.
    """
    score = 0
    one_types, other_types = _types(one.keywords), _types(other.keywords)
    if one_types and other_types:
        if not _types_meet(one_types, other_types):
            return None
        score += 1
    shared_values = _shared_values(one, other)
    if shared_values is not None:
        if not shared_values:
            return None
        score += shared_values
    one_names = set(one.properties) | one.required
    other_names = set(other.properties) | other.required
    if one_names and other_names:
        if not one_names & other_names:
            return None
        score += len(one_names & other_names) + len(one.required & other.required)
    for name in set(one.properties) & set(other.properties):
        shared = _shared_values(
            _view(one_spec, *one.properties[name]), _view(other_spec, *other.properties[name])
        )
        if shared is not None:
            if not shared:
                return None
            score += 2
    if depth and one.items and other.items:
        one_items, other_items = _view(one_spec, *one.items), _view(other_spec, *other.items)
        inner = _likeness(one_spec, one_items, other_spec, other_items, depth - 1)
        if inner is None:
            return None
        score += inner
    return score


def _types_meet(one: frozenset[str], other: frozenset[str]) -> bool:
    """Whether some value can have a type of both sets (an integer is a number too)."""
    return any(_accepts(other, kind) for kind in one) or any(_accepts(one, kind) for kind in other)


def _shared_values(one: _View, other: _View) -> int | None:
    """How many ``enum``/``const`` values two views share; None unless both restrict them."""
    one_values, other_values = _enum(one.keywords), _enum(other.keywords)
    if one_values is None or other_values is None:
        return None
    return len({_json(value) for value in one_values} & {_json(value) for value in other_values})


def _alternative_label(spec: Spec, alternative: _Alternative) -> str:
    """The name of an alternative, or its position and a sketch of what it holds."""
    if alternative.name is not None:
        return repr(alternative.name)
    view = _view(spec, *alternative.entry)
    types = _types(view.keywords)
    parts = [f"type {_type_text(types)}"] if types else []
    values = _enum(view.keywords)
    if values is not None:
        parts.append(f"values {_values(values[:5])}{'...' if len(values) > 5 else ''}")
    names = sorted(view.properties)
    if names:
        parts.append(f"properties {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}")
    return f"#{alternative.index} ({'; '.join(parts)})" if parts else f"#{alternative.index}"


def _flag(spec: Spec, entry: tuple[Any, str], keyword: str) -> bool:
    """Whether a property schema says ``keyword: true``, beside its ``$ref`` or behind it."""
    raw, pointer = entry
    if isinstance(raw, Mapping) and raw.get(keyword) is True:
        return True
    target, _ = _follow(spec, raw, pointer)
    return isinstance(target, Mapping) and target.get(keyword) is True


def _types(keywords: Mapping[str, Any]) -> frozenset[str] | None:
    raw = keywords.get("type")
    if isinstance(raw, str):
        names = {raw}
    elif isinstance(raw, list):
        names = {kind for kind in raw if isinstance(kind, str)}
    else:
        return None
    if len(names) > 1:
        names.discard("null")  # nullability is compared on its own
    return frozenset(names) or None


def _accepts(types: frozenset[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _type_text(types: frozenset[str]) -> str:
    return " or ".join(repr(kind) for kind in sorted(types))


def _enum(keywords: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(keywords.get("enum"), list):
        return list(keywords["enum"])
    if "const" in keywords:
        return [keywords["const"]]
    return None


def _bound(
    keywords: Mapping[str, Any], names: tuple[str, ...], upper: bool, absent: float | None
) -> float | None:
    # A boolean exclusiveMaximum (OpenAPI 3.0) only qualifies maximum; skip it.
    values = [
        float(keywords[name])
        for name in names
        if isinstance(keywords.get(name), int | float) and not isinstance(keywords[name], bool)
    ]
    if not values:
        return absent
    return min(values) if upper else max(values)


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if value == int(value) else str(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _values(values: Iterable[Any]) -> str:
    return "[" + ", ".join(_json(value) for value in values) + "]"


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _listing(items: Iterable[str]) -> str:
    text = ", ".join(str(item) for item in items)
    return text or "none"


def _sunset_date(value: object) -> date:
    """The date in an ``x-sunset`` value: a YAML date or an RFC 3339 date or timestamp."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return datetime.fromisoformat(value).date()
    raise ValueError(f"not a date: {value!r}")


def _requirements(spec: Spec, op: Operation) -> tuple[list[dict[str, frozenset[str]]], str]:
    """The security alternatives of an operation (its own, else the document's)."""
    if "security" in op.definition:
        raw, pointer = op.definition["security"], f"{op.pointer}/security"
    else:
        raw, pointer = spec.document.get("security"), "#/security"
    alternatives = []
    for requirement in raw if isinstance(raw, list) else []:
        if isinstance(requirement, Mapping):
            alternatives.append(
                {
                    str(scheme): frozenset(str(s) for s in scopes or [])
                    for scheme, scopes in requirement.items()
                }
            )
    return alternatives, pointer


def _requirement_text(alternatives: list[dict[str, frozenset[str]]]) -> str:
    def one(requirement: dict[str, frozenset[str]]) -> str:
        return " and ".join(
            f"{scheme} [{', '.join(sorted(scopes))}]" if scopes else scheme
            for scheme, scopes in requirement.items()
        )

    return " or ".join(one(requirement) for requirement in alternatives) or "none"


def _parameters(spec: Spec, op: Operation) -> dict[tuple[str, str], tuple[Mapping[str, Any], str]]:
    """Parameters by (location, name), with the JSON pointer of each, the operation's winning."""
    item_pointer = op.pointer.rsplit("/", 1)[0]
    item, item_pointer = _follow(
        spec, (spec.document.get("paths") or {}).get(op.path), item_pointer
    )
    merged: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    for owner, pointer in ((item, item_pointer), (op.definition, op.pointer)):
        listed = owner.get("parameters") if isinstance(owner, Mapping) else None
        for index, raw in enumerate(listed if isinstance(listed, list) else []):
            param, param_pointer = _follow(spec, raw, f"{pointer}/parameters/{index}")
            if not isinstance(param, Mapping):
                continue
            name, where = param.get("name"), param.get("in")
            if isinstance(name, str) and isinstance(where, str):
                # Header names are case-insensitive.
                merged[(where, name.lower() if where == "header" else name)] = (
                    param,
                    param_pointer,
                )
    return merged


def _parameter_required(param: Mapping[str, Any]) -> bool:
    return param.get("in") == "path" or param.get("required") is True


def _parameter_schema(param: Mapping[str, Any], pointer: str) -> tuple[Any, str] | None:
    """The schema of a parameter or header: ``schema``, else that of its one media type."""
    if isinstance(param.get("schema"), Mapping):
        return param["schema"], f"{pointer}/schema"
    content = param.get("content")
    if isinstance(content, Mapping):
        for media, body in content.items():
            if isinstance(body, Mapping) and isinstance(body.get("schema"), Mapping):
                return body["schema"], f"{pointer}/content/{_escape(media)}/schema"
    return None


def _content(owner: Mapping[str, Any], pointer: str) -> dict[str, tuple[str, Any, str]]:
    """Media types by normalised name: (name as written, (schema, pointer) or None, pointer)."""
    found: dict[str, tuple[str, Any, str]] = {}
    content = owner.get("content")
    for name, body in content.items() if isinstance(content, Mapping) else ():
        media_pointer = f"{pointer}/content/{_escape(name)}"
        schema = body.get("schema") if isinstance(body, Mapping) else None
        entry = (schema, f"{media_pointer}/schema") if isinstance(schema, Mapping) else None
        normalised = str(name).split(";", 1)[0].strip().lower()
        found[normalised] = (str(name), entry, media_pointer)
    return found


def _responses(spec: Spec, op: Operation) -> dict[str, tuple[Mapping[str, Any], str]]:
    raw = op.definition.get("responses")
    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    for status, response in raw.items() if isinstance(raw, Mapping) else ():
        key = str(status).upper() if str(status).lower() != "default" else "default"
        target, pointer = _follow(spec, response, f"{op.pointer}/responses/{_escape(status)}")
        if isinstance(target, Mapping):
            found[key] = (target, pointer)
    return found


def _headers(
    spec: Spec, response: Mapping[str, Any], pointer: str
) -> dict[str, tuple[str, Mapping[str, Any], str]]:
    headers = response.get("headers")
    found: dict[str, tuple[str, Mapping[str, Any], str]] = {}
    for name, raw in headers.items() if isinstance(headers, Mapping) else ():
        header, header_pointer = _follow(spec, raw, f"{pointer}/headers/{_escape(name)}")
        if isinstance(header, Mapping):
            found[str(name).lower()] = (str(name), header, header_pointer)
    return found


# --- loading the base --------------------------------------------------------------------


def load_base(ref: str, root: Path) -> Spec:
    """The base spec: a file relative to ``root``, or ``REV:PATH`` read from git.

    ``PATH`` is relative to ``root`` (the folder of the config file), like every path in the
    config; a leading ``/`` makes it relative to the repository's top. Relative ``$ref`` to
    other files are read from the same revision.
    """
    if (root / ref).is_file():
        return load_spec(root / ref)
    revision, colon, path = ref.partition(":")
    drive = len(revision) == 1 and revision.isalpha() and path[:1] in ("\\", "/")
    if not colon or drive:
        raise SpecError(
            f"breaking.base: {ref!r} is neither a file under {root} nor a git revision; give "
            "a spec file relative to the config's folder, or REV:PATH such as "
            "'origin/main:specs/openapi.yaml'"
        )
    if not revision or not path:
        raise SpecError(
            f"breaking.base: {ref!r} needs both a revision and a path, REV:PATH, such as "
            "'HEAD~1:specs/openapi.yaml'"
        )
    if revision.startswith("-"):
        raise SpecError(f"breaking.base: {ref!r}: a git revision cannot start with '-'")
    return _GitRevision(ref, revision, root).load(path)


class _GitRevision:
    """Files of one git revision, read with ``git`` (never through a shell)."""

    def __init__(self, ref: str, revision: str, root: Path) -> None:
        self.ref = ref
        self.revision = revision
        self.root = root
        self.documents: dict[str, Any] = {}

    def git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        if not self.root.is_dir():
            raise SpecError(f"breaking.base {self.ref!r}: the folder {self.root} does not exist")
        try:
            return subprocess.run(
                ["git", *args], cwd=self.root, capture_output=True, timeout=GIT_TIMEOUT, check=False
            )
        except FileNotFoundError:
            raise SpecError(
                f"breaking.base {self.ref!r} is a git revision, but git is not installed or "
                "not on PATH; install git or give the base as a file"
            ) from None
        except subprocess.TimeoutExpired:
            raise SpecError(
                f"breaking.base {self.ref!r}: git {' '.join(args)} took more than "
                f"{GIT_TIMEOUT:g}s; check the repository in {self.root}"
            ) from None

    def load(self, path: str) -> Spec:
        prefix = self.prefix()
        self.verify_revision()
        relative = path.lstrip("/") if path.startswith("/") else posixpath.join(prefix, path)
        repo_path = posixpath.normpath(relative)
        if repo_path == ".." or repo_path.startswith("../"):
            raise SpecError(f"breaking.base {self.ref!r}: {path!r} leads out of the repository")
        document = self.read(repo_path, missing=lambda: self.missing(path, repo_path, prefix))
        if not isinstance(document, dict):
            raise SpecError(
                f"{self.revision}:{repo_path}: an OpenAPI document must be a mapping at the "
                "top level"
            )
        document = self.inline(document, repo_path, (repo_path,))
        return Spec(document=document, source=Path(f"{self.revision}:{repo_path}"))

    def prefix(self) -> str:
        result = self.git("rev-parse", "--show-prefix")
        if result.returncode != 0:
            detail = _first_line(result.stderr)
            raise SpecError(
                f"breaking.base {self.ref!r} is a git revision, but {self.root} is not inside a "
                f"git repository ({detail}); run in a clone, or give the base as a file"
            )
        return result.stdout.decode("utf-8", "replace").strip()

    def verify_revision(self) -> None:
        result = self.git("rev-parse", "--verify", "--quiet", f"{self.revision}^{{commit}}")
        if result.returncode == 0:
            return
        remotes = self.git("remote").stdout.decode("utf-8", "replace").split()
        remote, slash, branch = self.revision.partition("/")
        if slash and remote in remotes:
            hint = (
                f"fetch the base branch: git fetch {remote} {branch} (in GitHub Actions, "
                "use actions/checkout with fetch-depth: 0)"
            )
        elif "~" in self.revision or "^" in self.revision:
            hint = (
                "the clone may be too shallow for that ancestor: git fetch --deepen=50 "
                "(in GitHub Actions, use actions/checkout with fetch-depth: 0)"
            )
        else:
            hint = (
                "check the name with git branch -a and git tag, or fetch it: "
                f"git fetch origin {self.revision}"
            )
        raise SpecError(
            f"breaking.base {self.ref!r}: git revision {self.revision!r} does not exist in "
            f"this repository; {hint}"
        )

    def missing(self, path: str, repo_path: str, prefix: str) -> SpecError:
        listing = self.git("ls-tree", "-r", "--name-only", self.revision)
        names = listing.stdout.decode("utf-8", "replace").splitlines()
        close = difflib.get_close_matches(repo_path, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = f"the config's folder {prefix.rstrip('/')!r}" if prefix else "the repository's top"
        return SpecError(
            f"breaking.base {self.ref!r}: {repo_path!r} does not exist at revision "
            f"{self.revision!r}{hint} (paths are relative to {where})"
        )

    def read(self, repo_path: str, missing: Callable[[], SpecError]) -> Any:
        if repo_path in self.documents:
            return self.documents[repo_path]
        spec = f"{self.revision}:{repo_path}"
        kind = self.git("cat-file", "-t", spec)
        if kind.returncode != 0:
            raise missing()
        if kind.stdout.strip() != b"blob":
            raise SpecError(f"breaking.base {self.ref!r}: {spec!r} is a folder, not a spec file")
        shown = self.git("show", spec)
        if shown.returncode != 0:
            raise SpecError(
                f"breaking.base {self.ref!r}: git show {spec} failed: {_first_line(shown.stderr)}"
            )
        try:
            text = shown.stdout.decode("utf-8-sig")  # without a byte order mark
        except UnicodeDecodeError:
            raise SpecError(f"{spec}: the spec is not UTF-8 text") from None
        document = _parse(text, spec, json_text=repo_path.endswith(".json"))
        self.documents[repo_path] = document
        return document

    def inline(self, node: Any, current: str, stack: tuple[str, ...]) -> Any:
        """Replace ``other.yaml#/x`` references by their content at the same revision."""
        if isinstance(node, list):
            return [self.inline(item, current, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref.startswith("#"):
            return {key: self.inline(value, current, stack) for key, value in node.items()}
        where = f"{self.revision}:{current}"
        if "://" in ref:
            raise SpecError(f"{where}: remote $ref {ref!r} is not supported; download it")
        file_part, _, fragment = ref.partition("#")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(current), file_part))
        if target in stack:
            raise SpecError(f"{where}: $ref {ref!r} makes a cycle between files")

        def missing() -> SpecError:
            return SpecError(
                f"{where}: $ref {ref!r} points at {target!r}, which does not exist at "
                f"revision {self.revision!r}"
            )

        content = self.inline(self.read(target, missing), target, (*stack, target))
        if fragment:
            content = resolve_pointer(content, "#" + fragment, f"{self.revision}:{target}")
        return content


def _first_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else "no message"


def _parse(text: str, name: str, *, json_text: bool) -> Any:
    try:
        if json_text:
            return json.loads(text)
        # S506: the loader is CSafeLoader or SafeLoader, both safe; ruff cannot see that.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except json.JSONDecodeError as exc:
        raise SpecError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{where}: invalid YAML: {problem}") from None

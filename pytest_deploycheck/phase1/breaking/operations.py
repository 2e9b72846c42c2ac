"""Walking the operations of both documents: endpoints, tags, security and parameters.

Endpoints removed (with their deprecation and sunset), added, deprecated or reactivated, the
operationId and tags, the security requirements and the parameters; each kept operation's
request body and responses go to ``_BodyDiffer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pytest_deploycheck.core.spec import Operation, Spec

from .bodies import _BodyDiffer
from .changes import Change, _listing
from .documents import (
    _TEMPLATE,
    _operations_by_template,
    _parameter_required,
    _parameter_schema,
    _parameters,
    _path_names,
)
from .schemas import _Where


class _Differ(_BodyDiffer):
    """One walk over both documents, collecting every change in reading order."""

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

    # --- parameters ------------------------------------------------------------------------

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


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


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

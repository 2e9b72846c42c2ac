"""Comparing the request body and the responses of an operation.

Media types, statuses and headers, and the schemas in them, which go to ``_SchemaDiffer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_deploycheck.core.spec import Operation

from .changes import _listing
from .documents import _content, _follow, _headers, _parameter_schema, _responses
from .schemas import _SchemaDiffer, _Where


class _BodyDiffer(_SchemaDiffer):
    """The part of the walk that compares request bodies and responses."""

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

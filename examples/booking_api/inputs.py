"""Reading requests: JSON bodies into strict models, query and path parameters into values.

Each reader collects every problem before raising one 422 ``ApiProblem``, so a client learns
about all its mistakes at once. Query parameters are parsed here rather than by FastAPI,
because FastAPI would coerce ``limit=1.0`` or a UUID without dashes, which the spec rejects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams

from .models import ValidationIssue, check_format
from .problems import ApiProblem
from .schedule import parse_day, parse_instant

__all__ = ["QueryReader", "read_json_body", "read_uuid"]

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")

# JSON Schema counts 20.0 as an integer, so the wire form "20.0" is one too.
_INTEGER = re.compile(r"-?[0-9]+(\.0+)?")
_check_uuid = check_format("uuid")
_check_date_time = check_format("date-time")


def _pointer(location: tuple[int | str, ...]) -> str:
    """A JSON Pointer (RFC 6901) to the field at ``location``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in location)


def _message(error_message: str) -> str:
    return error_message.removeprefix("Value error, ")


def read_json_body(model: type[Model], content_type: str | None, body: bytes) -> Model:
    """Validate a JSON request body; 415 when it is not JSON, 422 with every invalid field."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        sent = f"not {media_type}" if media_type else "and set Content-Type"
        raise ApiProblem(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            f"send the body as application/json, {sent}",
        )
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            location = tuple(error["loc"])
            if error["type"] == "json_invalid":
                detail = f"the body is not valid JSON: {error['ctx']['error']}"
            elif error["type"] == "model_type":
                detail = "the body must be a JSON object"
            else:
                detail = _message(error["msg"])
            issues.append(ValidationIssue(location="body", field=_pointer(location), detail=detail))
        raise ApiProblem.invalid(issues) from None


def read_uuid(name: str, value: str) -> str:
    """A path parameter that must be a UUID, in lower case."""
    try:
        return _check_uuid(value).lower()
    except ValueError:
        issue = ValidationIssue(location="path", field=name, detail=f"{value!r} is not a UUID")
        raise ApiProblem.invalid([issue]) from None


class QueryReader:
    """Typed access to query parameters that records every problem, raised by ``finish``."""

    def __init__(self, params: QueryParams) -> None:
        self._params = params
        self._issues: list[ValidationIssue] = []

    def _raw(self, name: str) -> str | None:
        values = self._params.getlist(name)
        if len(values) > 1:
            self._fail(name, "must be given once")
            return None
        return values[0] if values else None

    def _fail(self, name: str, detail: str) -> None:
        self._issues.append(ValidationIssue(location="query", field=name, detail=detail))

    def _parse(self, name: str, parse: Callable[[str], T]) -> T | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            return parse(raw)
        except ValueError as exc:
            self._fail(name, str(exc))
            return None

    def text(self, name: str, *, min_length: int, max_length: int) -> str | None:
        value = self._raw(name)
        if value is not None and not min_length <= len(value) <= max_length:
            self._fail(name, f"must be {min_length} to {max_length} characters long")
            return None
        return value

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        if not _INTEGER.fullmatch(raw):
            self._fail(name, f"must be a whole number (got {raw!r})")
            return default
        value = int(raw.split(".")[0])
        if not minimum <= value <= maximum:
            self._fail(name, f"must be from {minimum} to {maximum} (got {value})")
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        raw = self._raw(name)
        if raw is not None and raw not in choices:
            self._fail(name, f"must be one of {', '.join(choices)} (got {raw!r})")
            return None
        return raw

    def uuid(self, name: str) -> str | None:
        return self._parse(name, lambda raw: _check_uuid(raw).lower())

    def instant(self, name: str) -> int | None:
        """An RFC 3339 date-time as microseconds since the epoch."""
        return self._parse(name, lambda raw: parse_instant(_check_date_time(raw)))

    def day(self, name: str) -> str | None:
        """A required ``YYYY-MM-DD``; returned as sent once known to be valid."""
        if not self._params.getlist(name):
            self._fail(name, "is required, e.g. 2030-01-07")
            return None
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            parse_day(raw)
        except ValueError as exc:
            self._fail(name, str(exc))
            return None
        return raw

    def finish(self) -> None:
        """Raise the 422 problem listing every invalid parameter, if any."""
        if self._issues:
            raise ApiProblem.invalid(self._issues)

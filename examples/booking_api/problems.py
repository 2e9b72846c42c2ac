"""RFC 9457 problem documents: every error the service sends, and the handlers that send them.

Errors raised by the endpoints (``ApiProblem``), by routing (Starlette's 404 and 405), by
FastAPI's own validation and by bugs (500) all leave as ``application/problem+json`` bodies of
the spec's ``Problem`` schema.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from .models import Problem, ValidationIssue

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiProblem",
    "install_problem_handlers",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://booking.example/problems/"

logger = logging.getLogger(__name__)


class ApiProblem(Exception):
    """An error answer: status, problem kind (the last part of its ``type`` URI) and detail."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        errors: Sequence[ValidationIssue] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)

    @classmethod
    def not_found(cls, what: str, identifier: str) -> ApiProblem:
        return cls(404, "not-found", "Not Found", f"no {what} has id {identifier}")

    @classmethod
    def invalid(cls, errors: Sequence[ValidationIssue]) -> ApiProblem:
        noun = "problem" if len(errors) == 1 else "problems"
        summary = "; ".join(f"{issue.location} {issue.field!r}: {issue.detail}" for issue in errors)
        return cls(422, "validation", "Invalid request", f"{len(errors)} {noun}: {summary}", errors)

    def to_problem(self) -> Problem:
        problem = Problem(
            type=_TYPE_BASE + self.kind, title=self.title, status=self.status, detail=self.detail
        )
        if self.errors:
            problem.errors = self.errors
        return problem


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    """The JSON response of a problem document; ``errors`` only when there are some."""
    return JSONResponse(
        problem.model_dump(mode="json", exclude_unset=True),
        status_code=problem.status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _plain_problem(status: int, detail: str) -> Problem:
    """``about:blank``: the HTTP status says it all (RFC 9457 section 4.2.1)."""
    return Problem(
        type="about:blank", title=HTTPStatus(status).phrase, status=status, detail=detail
    )


async def _on_api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.to_problem())


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code if exc.status_code >= 400 else 500
    headers = dict(exc.headers or {})
    detail = exc.detail
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
        detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
    elif status == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no resource at {request.url.path}; GET /openapi.json lists the paths"
    return problem_response(_plain_problem(status, str(detail)), headers)


async def _on_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # The endpoints read their own input, so this only runs if a route declares FastAPI params.
    issues = []
    for error in exc.errors():
        where, *rest = error.get("loc") or ("body",)
        location: Literal["body", "path", "query"] = "body"
        field = "".join(f"/{part}" for part in rest)
        if where in ("path", "query"):
            location = "path" if where == "path" else "query"
            field = str(rest[0]) if rest else ""
        issues.append(ValidationIssue(location=location, field=field, detail=str(error["msg"])))
    return problem_response(ApiProblem.invalid(issues).to_problem())


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        _plain_problem(500, "an unexpected error happened; the service log has the details")
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response of ``app`` a problem document."""
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(Exception, _on_unexpected)

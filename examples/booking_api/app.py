"""The FastAPI application: routes, fault switches and the served spec.

``create_app`` builds an app from ``Settings`` (by default, from the environment). The module
attribute ``app``, for ``uvicorn examples.booking_api.app:app``, is built on first access, so
importing ``create_app`` has no side effects; ``uvicorn --factory
examples.booking_api.app:create_app`` works too.
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, cast

import yaml
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from . import __version__
from .db import Database, DatabaseError, discover_migrations
from .faults import FaultError, FaultMiddleware, FaultSwitches
from .inputs import QueryReader, read_json_body, read_uuid
from .models import AppointmentCreate, AppointmentStatus, Health, ProviderCreate, Reschedule
from .problems import ApiProblem, install_problem_handlers
from .schedule import format_utc
from .seed import seed
from .service import BookingService, utc_now
from .settings import Settings, SettingsError

__all__ = ["DRIFT_REMOVED_OPERATION", "create_app", "drift", "load_document"]

# The operation the ``drift`` fault switch leaves out of the served spec.
DRIFT_REMOVED_OPERATION = ("/appointments/{appointment_id}/cancel", "post")
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_STATUSES = tuple(status.value for status in AppointmentStatus)


def load_document(path: Path) -> dict[str, Any]:
    """The OpenAPI document at ``path`` as JSON-compatible data; SettingsError if unusable."""
    try:
        # libyaml's loader, where present, is ten times faster than the pure Python one.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
        # Through JSON once: a YAML date fails now rather than on every request, and integer
        # keys (an unquoted 200:) become the strings OpenAPI wants.
        document = json.loads(json.dumps(document))
    except OSError as exc:
        raise SettingsError(
            f"cannot read the spec {str(path)!r} ({exc.strerror}); set BOOKING_SPEC to its path"
        ) from None
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise SettingsError(f"the spec {str(path)!r} is not JSON-compatible YAML: {exc}") from None
    if not isinstance(document, dict):
        raise SettingsError(f"the spec {str(path)!r} must be a mapping at the top level")
    return document


def drift(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` without ``DRIFT_REMOVED_OPERATION`` nor the links to it."""
    drifted = copy.deepcopy(document)
    path, method = DRIFT_REMOVED_OPERATION
    paths = drifted.get("paths", {})
    removed = paths.get(path, {}).pop(method, {})
    if path in paths and not any(name in paths[path] for name in _HTTP_METHODS):
        del paths[path]
    removed_id = removed.get("operationId")
    for item in paths.values():
        for name in _HTTP_METHODS:
            for response in item.get(name, {}).get("responses", {}).values():
                links = response.get("links", {})
                for link_name in [
                    n for n, link in links.items() if link.get("operationId") == removed_id
                ]:
                    del links[link_name]
    return drifted


@dataclass
class _Context:
    """What the routes need, kept on ``app.state.booking``."""

    service: BookingService
    faults: FaultSwitches
    document: dict[str, Any]
    drifted: dict[str, Any]
    slow_seconds: float
    sleep: Callable[[float], None]

    def fault(self, name: str) -> bool:
        return name in self.faults.active()


def _context(request: Request) -> _Context:
    return cast(_Context, request.app.state.booking)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


Context = Annotated[_Context, Depends(_context)]
RawBody = Annotated[bytes, Depends(_raw_body)]

router = APIRouter()


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


@router.api_route("/health", methods=["GET", "HEAD"])
def get_health(ctx: Context) -> Response:
    database_ok = ctx.service.database_ok()
    healthy = database_ok and not ctx.fault("unhealthy")
    health = Health(
        status="ok" if healthy else "unavailable",
        database="ok" if database_ok else "unavailable",
        version=__version__,
    )
    return _json(health, 200 if healthy else 503)


@router.api_route("/openapi.json", methods=["GET", "HEAD"])
def get_openapi_document(ctx: Context) -> Response:
    return JSONResponse(ctx.drifted if ctx.fault("drift") else ctx.document)


@router.api_route("/providers", methods=["GET", "HEAD"])
def list_providers(request: Request, ctx: Context) -> Response:
    if ctx.fault("server_error"):
        raise ApiProblem(
            500, "fault", "Internal Server Error", "the server_error fault switch is on"
        )
    query = QueryReader(request.query_params)
    specialty = query.text("specialty", min_length=1, max_length=60)
    limit = query.integer("limit", default=20, minimum=1, maximum=100)
    offset = query.integer("offset", default=0, minimum=0, maximum=1_000_000)
    query.finish()
    return _json(ctx.service.list_providers(specialty, limit, offset))


@router.post("/providers")
def create_provider(request: Request, ctx: Context, body: RawBody) -> Response:
    data = read_json_body(ProviderCreate, request.headers.get("content-type"), body)
    provider = ctx.service.create_provider(data)
    return _json(provider, 201, {"Location": f"/providers/{provider.id}"})


@router.api_route("/providers/{provider_id}", methods=["GET", "HEAD"])
def get_provider(provider_id: str, ctx: Context) -> Response:
    return _json(ctx.service.get_provider(read_uuid("provider_id", provider_id)))


@router.api_route("/providers/{provider_id}/slots", methods=["GET", "HEAD"])
def list_provider_slots(provider_id: str, request: Request, ctx: Context) -> Response:
    if ctx.fault("slow"):
        ctx.sleep(ctx.slow_seconds)
    query = QueryReader(request.query_params)
    day = query.day("date")
    query.finish()
    assert day is not None  # finish() raised otherwise
    return _json(ctx.service.free_slots(read_uuid("provider_id", provider_id), day))


@router.api_route("/appointments", methods=["GET", "HEAD"])
def list_appointments(request: Request, ctx: Context) -> Response:
    query = QueryReader(request.query_params)
    provider_id = query.uuid("provider_id")
    status = query.choice("status", _STATUSES)
    starts_from = query.instant("from")
    starts_before = query.instant("to")
    limit = query.integer("limit", default=20, minimum=1, maximum=100)
    offset = query.integer("offset", default=0, minimum=0, maximum=1_000_000)
    query.finish()
    page = ctx.service.list_appointments(
        provider_id=provider_id,
        status=status,
        starts_from=starts_from,
        starts_before=starts_before,
        limit=limit,
        offset=offset,
    )
    return _json(page)


@router.post("/appointments")
def create_appointment(request: Request, ctx: Context, body: RawBody) -> Response:
    try:
        data = read_json_body(AppointmentCreate, request.headers.get("content-type"), body)
    except ApiProblem as problem:
        if problem.status == 422 and ctx.fault("accept_invalid"):
            return _accept_invalid(body)
        raise
    appointment = ctx.service.create_appointment(data)
    return _json(appointment, 201, {"Location": f"/appointments/{appointment.id}"})


def _accept_invalid(body: bytes) -> Response:
    """The ``accept_invalid`` fault: 201 and an echo of whatever was sent; nothing is stored."""
    try:
        sent = json.loads(body)
    except ValueError:
        sent = None
    fields = sent if isinstance(sent, dict) else {}
    now = format_utc(utc_now())
    echo = {
        "id": str(uuid.uuid4()),
        **{key: fields.get(key, "") for key in ("provider_id", "patient_name", "patient_email")},
        "starts_at": fields.get("starts_at", now),
        "ends_at": fields.get("starts_at", now),
        "status": "booked",
        "notes": fields.get("notes", ""),
        "created_at": now,
        "updated_at": now,
    }
    return JSONResponse(echo, status_code=201, headers={"Location": f"/appointments/{echo['id']}"})


@router.api_route("/appointments/{appointment_id}", methods=["GET", "HEAD"])
def get_appointment(appointment_id: str, ctx: Context) -> Response:
    appointment_id = read_uuid("appointment_id", appointment_id)
    if ctx.fault("lose_created"):
        raise ApiProblem.not_found("appointment", appointment_id)
    appointment = ctx.service.get_appointment(appointment_id)
    if ctx.fault("bad_body"):
        broken = appointment.model_dump(mode="json")
        broken["status"] = "confirmed"  # not in the enum
        del broken["ends_at"]  # required
        return JSONResponse(broken)
    return _json(appointment)


@router.post("/appointments/{appointment_id}/reschedule")
def reschedule_appointment(
    appointment_id: str, request: Request, ctx: Context, body: RawBody
) -> Response:
    appointment_id = read_uuid("appointment_id", appointment_id)
    data = read_json_body(Reschedule, request.headers.get("content-type"), body)
    return _json(ctx.service.reschedule(appointment_id, data.starts_at))


@router.post("/appointments/{appointment_id}/cancel")
def cancel_appointment(appointment_id: str, ctx: Context) -> Response:
    return _json(ctx.service.cancel(read_uuid("appointment_id", appointment_id)))


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    sleep: Callable[[float], None] = time.sleep,
) -> FastAPI:
    """Open and migrate the database, seed it, and return the app.

    Raises SettingsError (with the variable to fix) or DatabaseError (with the file to fix).
    """
    if settings is None:
        settings = Settings.from_env(os.environ)
    document = load_document(settings.spec)
    try:
        faults = FaultSwitches(settings.faults, settings.faults_file)
    except FaultError as exc:
        raise SettingsError(str(exc)) from None
    database = Database.open(settings.database)
    database.migrate(discover_migrations())
    if settings.seed:
        seed(database)
    app = FastAPI(
        title=document.get("info", {}).get("title", "Booking API"),
        version=__version__,
        # The spec is hand-written and served by get_openapi_document, not generated.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.booking = _Context(
        service=BookingService(database, clock=clock, new_id=new_id),
        faults=faults,
        document=document,
        drifted=drift(document),
        slow_seconds=settings.slow_ms / 1000,
        sleep=sleep,
    )
    install_problem_handlers(app)
    app.router.routes.extend(router.routes)
    app.add_middleware(FaultMiddleware, switches=faults, seed=settings.fault_seed, sleep=sleep)
    return app


@cache
def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except (SettingsError, DatabaseError) as exc:
        raise SystemExit(f"booking_api: {exc}") from None


def __getattr__(name: str) -> Any:
    # Built lazily: `uvicorn examples.booking_api.app:app` reads this attribute.
    if name == "app":
        return _app_from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

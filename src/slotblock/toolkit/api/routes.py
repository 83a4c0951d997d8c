"""The admin API under /_admin/: reset, fixtures, the request log and fault rules.

Its own router, its own auth (an admin token, never a location's token) and its own tag,
outside the official operations. `install(app, …)` wires it: the control plane on
`app.state.control`, these routes, and the middleware that injects faults and logs requests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from slotblock.api import rate_limits
from slotblock.api.dependencies import json_response
from slotblock.api.errors import error_response
from slotblock.config import Settings
from slotblock.core.errors import NotFound, Unauthenticated
from slotblock.core.faults import Action, Match
from slotblock.core.tokens import bearer_token
from slotblock.service.container import Services
from slotblock.toolkit.api.middleware import ControlMiddleware
from slotblock.toolkit.service.control_plane import ControlPlane

TAG = "Admin (slotblock control plane)"
MAX_LATENCY_MS = 60_000
BAD_ADMIN_TOKEN = "Invalid admin token"


async def control_plane(request: Request) -> ControlPlane:
    """The control plane, for a request bearing an admin token (401 otherwise; 404 while
    the admin API is off). Failed attempts count against the client's address as a
    location token's do: past `SLOTBLOCK_AUTH_FAILURE_LIMIT` it is refused (429) before its
    token is checked, so that the admin token cannot be guessed at speed."""
    control: ControlPlane = request.app.state.control
    if not await control.gate.enabled():
        raise NotFound("Cannot find that route")

    async def authenticate() -> ControlPlane:
        token = bearer_token(request.headers.get("authorization"))
        if token is None or not await control.gate.admits(token):
            raise Unauthenticated(BAD_ADMIN_TOKEN)
        return control

    return await rate_limits.failures_limited(request, authenticate)


Control = Annotated[ControlPlane, Depends(control_plane)]
router = APIRouter(prefix="/_admin", tags=[TAG])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResetBody(_Body):
    locationId: str | None = None


class FaultMatchBody(_Body):
    method: str | None = None
    path: str | None = Field(None, description="Exact path, or a glob with `*`.")
    operationId: str | None = None
    locationId: str | None = None
    tokenId: str | None = None


class FaultBody(_Body):
    match: FaultMatchBody = FaultMatchBody()
    status: Literal[409, 429, 500, 502, 503] | None = None
    retryAfter: int = Field(10, ge=0, le=86_400, description="Retry-After of a 429, seconds.")
    latencyMs: int = Field(0, ge=0, le=MAX_LATENCY_MS)
    drop: bool = False
    times: int | None = Field(None, ge=1, description="Fire for the next N matching requests.")
    probability: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, description="Seed of the probability draws (reproducible).")

    @model_validator(mode="after")
    def one_action(self) -> FaultBody:
        if self.status is None and not self.drop and not self.latencyMs:
            raise ValueError("must give status, latencyMs or drop")
        if self.status is not None and self.drop:
            raise ValueError("must not give both status and drop")
        return self


_FIXTURE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A fixture document (see the README), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/reset", operation_id="admin-reset")
async def reset(control: Control, body: Annotated[ResetBody | None, Body()] = None) -> Response:
    """Empty everything (data, the clock, fault rules, logged requests), or one location's
    data."""
    location_id = body.locationId if body else None
    await control.reset(location_id)
    return json_response({"reset": location_id or "all"})


@router.post(
    "/fixtures", operation_id="admin-load-fixtures", status_code=201, openapi_extra=_FIXTURE_BODY
)
async def load_fixtures(request: Request, control: Control) -> Response:
    """Load a fixture document, all or nothing (400 lists every problem with its path)."""
    loaded = await control.fixtures.load_text(await request.body())
    return json_response({"loaded": loaded}, 201)


@router.get("/fixtures", operation_id="admin-export-fixtures")
async def export_fixtures(
    control: Control, locationId: Annotated[str | None, Query()] = None
) -> Response:
    """The stored state (one location, or all) as a fixture document."""
    return json_response(await control.fixtures.export(locationId))


@router.get("/requests", operation_id="admin-requests")
async def requests(control: Control, limit: Annotated[int, Query(ge=1)] = 100) -> Response:
    """The last requests answered (newest first), /_admin/ and health probes excepted."""
    return json_response({"requests": [r.as_json() for r in await control.log.last(limit)]})


@router.post("/faults", operation_id="admin-add-fault", status_code=201)
async def add_fault(body: FaultBody, control: Control) -> Response:
    """Add a fault rule; it applies to the requests that follow."""
    given = body.match
    rule = await control.add_fault(
        Match(
            method=given.method,
            path=given.path,
            operation_id=given.operationId,
            location_id=given.locationId,
            token_id=given.tokenId,
        ),
        Action(
            status=body.status,
            latency_ms=body.latencyMs,
            drop=body.drop,
            retry_after_s=body.retryAfter,
        ),
        times=body.times,
        probability=body.probability,
        seed=body.seed,
    )
    return json_response(rule.as_json(), 201)


@router.get("/faults", operation_id="admin-list-faults")
async def list_faults(control: Control) -> Response:
    """The fault rules with their hit counts."""
    return json_response({"faults": [r.as_json() for r in await control.faults.listed()]})


@router.delete("/faults", operation_id="admin-delete-faults")
async def delete_faults(control: Control) -> Response:
    """Remove every fault rule."""
    return json_response({"deleted": await control.faults.remove()})


@router.delete("/faults/{faultId}", operation_id="admin-delete-fault")
async def delete_fault(faultId: str, control: Control) -> Response:
    """Remove one fault rule."""
    if not await control.faults.remove(faultId):
        return error_response(404, f"no fault rule {faultId}")
    return json_response({"deleted": 1})


def services_of(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


def install(app: FastAPI, settings: Settings) -> ControlPlane:
    """Wire the control plane into `app` (after its other middleware, so that it sees every
    request as the client sent it)."""

    def forget() -> None:
        services: Services = app.state.services  # looked up late: tests may swap it
        services.auth.forget()

    services = services_of(app)
    control = ControlPlane(
        services.store, settings, app.state.clock, forget, services.blocks.reader
    )
    app.state.control = control
    app.include_router(router)
    app.add_middleware(ControlMiddleware, control=control)
    return control

"""Liveness and readiness, without auth, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from slotblock.api.dependencies import Svc, json_response
from slotblock.core.errors import Unavailable

router = APIRouter(tags=["Health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> Response:
    """The process is up."""
    return json_response({"status": "ok"})


@router.get("/readyz", operation_id="readyz")
async def readyz(svc: Svc) -> Response:
    """The database answers (503 with Retry-After otherwise, within the store's timeouts)."""
    if await svc.store.ping():
        return json_response({"status": "ok"})
    raise Unavailable("database unavailable")

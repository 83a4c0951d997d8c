"""The control plane's webhook routes (`/_admin/webhooks`): every location's subscriptions,
and the dead-lettered deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from slotblock.api.dependencies import Svc, json_response
from slotblock.api.routes.webhooks import EVENTS_DOC, WebhookBody, delivery_json, webhook_json
from slotblock.toolkit.api.routes import TAG, Control

router = APIRouter(prefix="/_admin", tags=[TAG])


def _services(control: Control, svc: Svc) -> Svc:
    del control  # checked: the caller holds an admin token
    return svc


@router.post(
    "/webhooks",
    operation_id="admin-add-webhook",
    status_code=201,
    description=f"Subscribe a URL to a location's blocked-slot events. {EVENTS_DOC}",
)
async def admin_add(body: WebhookBody, control: Control, svc: Svc) -> Response:
    hook = await _services(control, svc).webhooks.add(body.locationId, body.url, body.events)
    return json_response(webhook_json(hook), 201)


@router.get("/webhooks", operation_id="admin-list-webhooks")
async def admin_list(
    control: Control, svc: Svc, locationId: Annotated[str | None, Query()] = None
) -> Response:
    """The subscriptions, of one location or all."""
    hooks = await _services(control, svc).webhooks.list_all(locationId)
    return json_response({"webhooks": [webhook_json(h) for h in hooks]})


@router.delete("/webhooks/{subscriptionId}", operation_id="admin-remove-webhook")
async def admin_remove(subscriptionId: str, control: Control, svc: Svc) -> Response:
    """Remove a subscription and its pending deliveries."""
    await _services(control, svc).webhooks.remove(subscriptionId)
    return json_response({"deleted": 1})


@router.get("/webhooks/dead-letters", operation_id="admin-dead-letters")
async def admin_dead_letters(
    control: Control,
    svc: Svc,
    locationId: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Deliveries given up on (past the retry horizon, or refused), newest first, each
    with its last error."""
    dead = await _services(control, svc).webhooks.dead_letters(locationId, limit)
    return json_response({"deliveries": [delivery_json(d) for d in dead]})

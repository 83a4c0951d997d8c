"""Routes of webhook subscriptions: a location's own (`/calendars/webhooks`, an extension,
for a token with calendars/events.write) and the operator's (`/_admin/webhooks`, every
location, plus the dead-lettered deliveries)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from slotblock.api.admin import TAG, Control
from slotblock.api.auth import Caller, Svc, json_response
from slotblock.api.availability_schemas import EXTENSION
from slotblock.api.blocked_slots import ERRORS
from slotblock.api.schemas import IdText
from slotblock.service.webhook_events import EVENT_TYPES
from slotblock.service.webhooks import Delivery, Webhook

EVENTS_DOC = (
    f"Event types wanted, among {', '.join(EVENT_TYPES)} (all when absent). A delivery is "
    "`{type, locationId, webhookId, subscriptionId, timestamp, scope: series|single|instance, "
    "blockedSlot: CalendarEventDTO}`, signed (Ed25519, base64) in `x-ghl-signature`."
)


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    locationId: IdText
    url: str = Field(min_length=1, max_length=2048, description="Where deliveries are POSTed.")
    events: list[str] = Field(default_factory=list, max_length=3, description=EVENTS_DOC)


def webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "locationId": hook.location_id,
        "url": hook.url,
        "events": list(hook.events),
        "dateAdded": hook.created_ms,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "webhookId": delivery.webhook_id,
        "locationId": delivery.location_id,
        "blockId": delivery.block_id,
        "type": delivery.event_type,
        "url": delivery.url,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "dateAdded": delivery.created_ms,
    }


# --- a location's own subscriptions -------------------------------------------------------

router = APIRouter(tags=["Calendar Events"])
OWN = EXTENSION.format(what="operation")


@router.post(
    "/calendars/webhooks",
    operation_id="create-blocked-slot-webhook",
    summary="Subscribe to blocked-slot events",
    description=f"{OWN} {EVENTS_DOC}",
    status_code=201,
    responses=ERRORS,
)
async def add_own(body: WebhookBody, who: Caller, svc: Svc) -> Response:
    hook = await svc.webhooks.add_own(who, body.locationId, body.url, body.events)
    return json_response(webhook_json(hook), 201)


@router.get(
    "/calendars/webhooks",
    operation_id="get-blocked-slot-webhooks",
    summary="List blocked-slot webhook subscriptions",
    description=OWN,
    responses=ERRORS,
)
async def list_own(
    locationId: Annotated[str, Query(min_length=1, max_length=64)], who: Caller, svc: Svc
) -> Response:
    hooks = await svc.webhooks.list_own(who, locationId)
    return json_response({"webhooks": [webhook_json(h) for h in hooks]})


@router.delete(
    "/calendars/webhooks/{webhookId}",
    operation_id="delete-blocked-slot-webhook",
    summary="Unsubscribe",
    description=OWN,
    responses=ERRORS,
)
async def remove_own(webhookId: str, who: Caller, svc: Svc) -> Response:
    await svc.webhooks.remove_own(who, webhookId)
    return json_response({"succeeded": True})


# --- the operator's -----------------------------------------------------------------------

admin_router = APIRouter(prefix="/_admin", tags=[TAG])


def _services(control: Control, svc: Svc) -> Svc:
    del control  # checked: the caller holds an admin token
    return svc


@admin_router.post(
    "/webhooks",
    operation_id="admin-add-webhook",
    status_code=201,
    description=f"Subscribe a URL to a location's blocked-slot events. {EVENTS_DOC}",
)
async def admin_add(body: WebhookBody, control: Control, svc: Svc) -> Response:
    hook = await _services(control, svc).webhooks.add(body.locationId, body.url, body.events)
    return json_response(webhook_json(hook), 201)


@admin_router.get("/webhooks", operation_id="admin-list-webhooks")
async def admin_list(
    control: Control, svc: Svc, locationId: Annotated[str | None, Query()] = None
) -> Response:
    """The subscriptions, of one location or all."""
    hooks = await _services(control, svc).webhooks.list_all(locationId)
    return json_response({"webhooks": [webhook_json(h) for h in hooks]})


@admin_router.delete("/webhooks/{webhookId}", operation_id="admin-remove-webhook")
async def admin_remove(webhookId: str, control: Control, svc: Svc) -> Response:
    """Remove a subscription and its pending deliveries."""
    await _services(control, svc).webhooks.remove(webhookId)
    return json_response({"deleted": 1})


@admin_router.get("/webhooks/dead-letters", operation_id="admin-dead-letters")
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

"""Routes of a location's own webhook subscriptions (`/calendars/webhooks`, an extension, for
a token with calendars/events.write), and the shapes the control plane's webhook routes share
(toolkit/api/webhooks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.api.schemas import IdText
from slotblock.service.webhook_events import EVENT_TYPES
from slotblock.service.webhooks import Delivery, Webhook

EVENTS_DOC = (
    f"Event types wanted, among {', '.join(EVENT_TYPES)} (all when absent). A delivery is "
    "`{type, locationId, webhookId, subscriptionId, timestamp, scope: series|single|instance, "
    "blockedSlot: CalendarEventDTO}`, signed (Ed25519, base64) in `x-ghl-signature`: "
    "`webhookId` names the delivery (as on the platform; the same on every retry), "
    "`subscriptionId` the subscription."
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
    """A delivery: its `id` is the `webhookId` of the body it sends; `subscriptionId` names
    the subscription (`webhookId` always names a delivery, never a subscription)."""
    return {
        "id": delivery.id,
        "subscriptionId": delivery.webhook_id,
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
    "/calendars/webhooks/{subscriptionId}",
    operation_id="delete-blocked-slot-webhook",
    summary="Unsubscribe",
    description=OWN,
    responses=ERRORS,
)
async def remove_own(subscriptionId: str, who: Caller, svc: Svc) -> Response:
    await svc.webhooks.remove_own(who, subscriptionId)
    return json_response({"succeeded": True})

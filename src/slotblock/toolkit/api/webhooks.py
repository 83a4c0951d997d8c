"""The control plane's webhook routes (`/_admin/webhooks`): every location's subscriptions,
what was sent to them (each delivery's body, signature and attempts), a test event, the
dead-lettered deliveries, and sending a finished delivery again."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from slotblock.api.dependencies import Svc, json_response
from slotblock.api.routes.webhooks import EVENTS_DOC, WebhookBody, delivery_json, webhook_json
from slotblock.api.schemas import event_json
from slotblock.service.webhook_events import EVENT_TYPES, TEST, UnknownVersion, payload
from slotblock.service.webhooks import Attempt, Delivery, DeliveryFilter, Sent
from slotblock.toolkit.api.routes import TAG, Control

EventType = Literal["BlockedSlotCreate", "BlockedSlotUpdate", "BlockedSlotDelete", "WebhookTest"]
assert set(get_args(EventType)) == {*EVENT_TYPES, TEST}  # the same names as the events
MAX_PAGE = 200

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


def _body(delivery: Delivery) -> str | None:
    """The exact body the delivery sends (the same bytes at every attempt); None for a
    payload queued by a newer release."""
    try:
        event = payload(
            delivery.event_type, delivery.event, delivery.id, delivery.webhook_id, event_json
        )
    except UnknownVersion:
        return None
    return orjson.dumps(event).decode()


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt": attempt.number,
        "time": attempt.at_ms,
        "durationMs": attempt.duration_ms,
        "status": attempt.status,
        "error": attempt.error,
        "signature": attempt.signature,
    }


def sent_json(sent: Sent) -> dict[str, Any]:
    d = sent.delivery
    return {
        **delivery_json(d),
        "state": d.state,
        "dateFinished": d.finished_ms,
        "dateRedelivered": d.redelivered_ms,
        "body": _body(d),
        "signature": sent.attempts[-1].signature if sent.attempts else None,
        "history": [_attempt_json(a) for a in sent.attempts],
    }


@router.get("/webhooks/deliveries", operation_id="admin-webhook-deliveries")
async def admin_deliveries(  # noqa: PLR0913 - one per filter
    control: Control,
    svc: Svc,
    subscriptionId: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[EventType | None, Query()] = None,  # noqa: A002 - the wire's name
    locationId: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Response:
    """What was sent, newest first: each delivery with its exact `body`, the `signature`
    (`x-ghl-signature`) of its last attempt, and `history`, its last attempts (time, duration,
    the receiver's status or the error). Filters combine; `nextBefore`, when not null, is
    the `before` of the next page."""
    wanted = DeliveryFilter(state, locationId, subscriptionId, type, before, limit)
    found = await _services(control, svc).webhooks.deliveries(wanted)
    next_before = found[-1].delivery.id if len(found) == limit else None
    return json_response({"deliveries": [sent_json(s) for s in found], "nextBefore": next_before})


@router.post(
    "/webhooks/deliveries/{deliveryId}/redeliver",
    operation_id="admin-redeliver-webhook",
    status_code=202,
)
async def admin_redeliver(deliveryId: int, control: Control, svc: Svc) -> Response:
    """Send a dead-lettered (or delivered) delivery again: the same body and `webhookId`,
    retried as a new delivery is, its retry horizon counted from now. 409 while pending."""
    again = await _services(control, svc).webhooks.redeliver(deliveryId)
    return json_response(delivery_json(again), 202)


@router.post("/webhooks/{subscriptionId}/test", operation_id="admin-test-webhook", status_code=202)
async def admin_test(subscriptionId: str, control: Control, svc: Svc) -> Response:
    """Queue a signed `WebhookTest` event for this subscription (whatever events it wants):
    `{type, locationId, webhookId, subscriptionId, timestamp}`; answers the delivery."""
    sent = await _services(control, svc).webhooks.send_test(subscriptionId)
    return json_response(delivery_json(sent), 202)

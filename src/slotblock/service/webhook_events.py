"""Webhook events of block writes: which event a write is, what the outbox keeps of it, and
the body a receiver gets (shaped like the platform's appointment webhooks).

    {"type": "BlockedSlotUpdate", "locationId": "…", "webhookId": "…", "timestamp": "…Z",
     "subscriptionId": "…", "scope": "series" | "single" | "instance",
     "blockedSlot": {CalendarEventDTO}}

The outbox keeps the block as it was after the write (before it, for a delete), so that
every retry sends the same bytes; the DTO is rendered by the API's encoder at delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from slotblock.core.instances import instance, master_event, parse_event_id
from slotblock.core.model import Block, Event, Override

CREATE, UPDATE, DELETE = "BlockedSlotCreate", "BlockedSlotUpdate", "BlockedSlotDelete"
EVENT_TYPES = (CREATE, UPDATE, DELETE)
RenderEvent = Callable[[Event, str], dict[str, Any]]


def event_record(
    before: Block | None,
    after: Block | None,
    event_id: str | None,
    now_ms: int,
    *,
    instance_deleted: bool = False,
) -> tuple[str, dict[str, Any]]:
    """(event type, what the outbox keeps) of one write."""
    original = parse_event_id(event_id)[1] if event_id else None
    if original is not None:
        kind = DELETE if instance_deleted else UPDATE
        block = before if kind == DELETE else after
        scope = "instance"
    else:
        kind = CREATE if before is None else DELETE if after is None else UPDATE
        block = after or before
        assert block is not None
        scope = "series" if block.rrule is not None else "single"
    assert block is not None
    record = {"scope": scope, "original": original, "at": now_ms, "block": snapshot(block)}
    return kind, record


def snapshot(block: Block) -> dict[str, Any]:
    return asdict(block)


def restore(data: dict[str, Any]) -> Block:
    values = dict(data)
    overrides = tuple(Override(**o) for o in values.pop("overrides"))
    return Block(**values, overrides=overrides)


def payload(
    kind: str, record: dict[str, Any], delivery_id: int, subscription_id: str, render: RenderEvent
) -> dict[str, Any]:
    """The body of one delivery."""
    block = restore(record["block"])
    original = record["original"]
    event = master_event(block) if original is None else instance(block, original)
    dto = render(event, block.timezone)
    if kind == DELETE:
        dto["deleted"] = True
    return {
        "type": kind,
        "locationId": block.location_id,
        "webhookId": str(delivery_id),
        "subscriptionId": subscription_id,
        "timestamp": datetime.fromtimestamp(record["at"] / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "scope": record["scope"],
        "blockedSlot": dto,
    }

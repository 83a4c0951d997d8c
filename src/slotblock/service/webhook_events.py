"""Webhook events of block writes: which event a write is, what the outbox keeps of it, and
the body a receiver gets (shaped like the platform's appointment webhooks).

    {"type": "BlockedSlotUpdate", "locationId": "…", "webhookId": "…", "timestamp": "…Z",
     "subscriptionId": "…", "scope": "series" | "single" | "instance",
     "blockedSlot": {CalendarEventDTO}}

The outbox keeps a versioned payload of the event as it was after the write (before it, for
a delete), so that every retry sends the same bytes; the DTO is rendered by the API's
encoder at delivery. The payload holds what the DTO shows of the one event — for an
instance, that instance, not its series' other overrides — under names of its own:

    {"v": 1, "scope": …, "at": ms, "event": {"id", "blockId", "locationId", "calendarId",
     "assignedUserId", "groupId", "start", "end", "originalStart", "timezone", "rrule",
     "created", "updated", "texts": {<text field>: value}}}

A change to the block model changes `_payload_v1`/`_event_v1` here, not the rows already
queued; a change to the payload's shape is a new version, read beside the older ones (a
release that meets a version it does not know retries it, so that a newer node delivers it).
Rows queued before version 1 (the whole block, `asdict(Block)`) are still read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slotblock.core.instances import instance, master_event, parse_event_id
from slotblock.core.model import TEXT_FIELDS, Block, Event

CREATE, UPDATE, DELETE = "BlockedSlotCreate", "BlockedSlotUpdate", "BlockedSlotDelete"
EVENT_TYPES = (CREATE, UPDATE, DELETE)
# Sent by `POST /_admin/webhooks/{id}/test` to that subscription only, whatever it wants:
# {"type": "WebhookTest", "locationId", "webhookId", "subscriptionId", "timestamp"}.
TEST = "WebhookTest"
PAYLOAD_VERSION = 1
RenderEvent = Callable[[Event, str], dict[str, Any]]


class UnknownVersion(ValueError):
    """A payload queued by a newer release (during a rolling upgrade): left for its nodes."""


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
        assert block is not None
        event, scope = instance(block, original), "instance"
    else:
        kind = CREATE if before is None else DELETE if after is None else UPDATE
        block = after or before
        assert block is not None
        event, scope = master_event(block), "series" if block.rrule is not None else "single"
    return kind, {"v": PAYLOAD_VERSION, "scope": scope, "at": now_ms, "event": _payload_v1(event)}


def _payload_v1(event: Event) -> dict[str, Any]:
    block = event.block
    return {
        "id": event.id,
        "blockId": block.id,
        "locationId": block.location_id,
        "calendarId": block.calendar_id,
        "assignedUserId": block.assigned_user_id,
        "groupId": block.group_id,
        "start": event.start_ms,
        "end": event.end_ms,
        "originalStart": event.original_start_ms,
        "timezone": block.timezone,
        "rrule": block.rrule,
        "created": block.created_ms,
        "updated": block.updated_ms,
        "texts": {name: event.text(name) for name in TEXT_FIELDS},
    }


def _event_v1(data: dict[str, Any]) -> Event:
    """The event a version-1 payload describes, as one block without overrides whose texts
    are the event's own (the encoder shows the same DTO as for the stored event)."""
    texts = data["texts"]
    fields: dict[str, Any] = {name: str(texts.get(name, "")) for name in TEXT_FIELDS}
    block = Block(
        location_id=data["locationId"],
        id=data["blockId"],
        calendar_id=data["calendarId"],
        assigned_user_id=data["assignedUserId"],
        group_id=data["groupId"],
        start_ms=data["start"],
        end_ms=data["end"],
        timezone=data["timezone"],
        rrule=data["rrule"],
        last_start_ms=None,
        overrides=(),
        created_ms=data["created"],
        updated_ms=data["updated"],
        **fields,
    )
    return Event(block, data["id"], data["start"], data["end"], data["originalStart"], {})


def _upgraded(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any version, as version 1."""
    if record.get("v") == PAYLOAD_VERSION:
        return record
    if "v" not in record:
        return _from_block_copy(record)
    raise UnknownVersion(f"outbox payload version {record['v']} is not known to this release")


def _from_block_copy(record: dict[str, Any]) -> dict[str, Any]:
    """A record queued before version 1: the whole block (`asdict(Block)` of that release,
    whose field names are spelled here), and the instance's original start."""
    block, original = record["block"], record["original"]
    start, end, fields = block["start_ms"], block["end_ms"], {}
    if original is not None:
        duration = block["end_ms"] - block["start_ms"]
        start, end = original, original + duration
        for override in block["overrides"]:
            if override["original_start_ms"] == original:
                start, end, fields = override["start_ms"], override["end_ms"], override["fields"]
    event_id = block["id"]
    if original is not None:
        event_id = f"{block['id']}_{original}_{(block['end_ms'] - block['start_ms']) // 1000}"
    event = {
        "id": event_id,
        "blockId": block["id"],
        "locationId": block["location_id"],
        "calendarId": block["calendar_id"],
        "assignedUserId": block["assigned_user_id"],
        "groupId": block.get("group_id"),
        "start": start,
        "end": end,
        "originalStart": original,
        "timezone": block["timezone"],
        "rrule": block["rrule"],
        "created": block["created_ms"],
        "updated": block["updated_ms"],
        "texts": {name: fields.get(name, block.get(name, "")) for name in TEXT_FIELDS},
    }
    return {"v": PAYLOAD_VERSION, "scope": record["scope"], "at": record["at"], "event": event}


def test_record(location_id: str, now_ms: int) -> dict[str, Any]:
    """What the outbox keeps of a test event."""
    return {"v": PAYLOAD_VERSION, "scope": "test", "at": now_ms, "locationId": location_id}


def _timestamp(at_ms: int) -> str:
    return (
        datetime.fromtimestamp(at_ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def payload(
    kind: str, record: dict[str, Any], delivery_id: int, subscription_id: str, render: RenderEvent
) -> dict[str, Any]:
    """The body of one delivery."""
    if kind == TEST:
        return {
            "type": TEST,
            "locationId": record["locationId"],
            "webhookId": str(delivery_id),
            "subscriptionId": subscription_id,
            "timestamp": _timestamp(record["at"]),
        }
    record = _upgraded(record)
    event = _event_v1(record["event"])
    dto = render(event, event.block.timezone)
    if kind == DELETE:
        dto["deleted"] = True
    return {
        "type": kind,
        "locationId": event.block.location_id,
        "webhookId": str(delivery_id),
        "subscriptionId": subscription_id,
        "timestamp": _timestamp(record["at"]),
        "scope": record["scope"],
        "blockedSlot": dto,
    }

"""Queries of webhook subscriptions and of the outbox of their deliveries.

A delivery is claimed by moving its `next_attempt_ms` to the end of a lease, in a short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so that dispatchers on several nodes
take different rows; a conditional update everywhere, so that no row is claimed twice).
A delivery waits while an earlier one of the same subscription and block is pending: the
receiver sees the changes of one block in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store.integrity import writing
from slotblock.store.tables import locations, outbox, webhooks

_GONE = "Location not found"

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class Webhook:
    location_id: str
    id: str
    url: str
    events: tuple[str, ...]
    created_ms: int


@dataclass(frozen=True)
class Delivery:
    id: int
    location_id: str
    webhook_id: str
    block_id: str
    event_type: str
    event: dict[str, Any]
    attempts: int
    created_ms: int
    url: str
    state: str = PENDING
    last_error: str | None = None


def _webhook(row: Any) -> Webhook:
    return Webhook(
        location_id=row.location_id,
        id=row.id,
        url=row.url,
        events=tuple(row.events),
        created_ms=row.created_ms,
    )


async def insert_webhook(conn: AsyncConnection, hook: Webhook) -> None:
    # Its location may be gone since it was checked (an admin reset in between): 404.
    with writing(duplicate="a subscription with that id already exists", missing=_GONE):
        await conn.execute(
            webhooks.insert().values(
                location_id=hook.location_id,
                id=hook.id,
                url=hook.url,
                events=list(hook.events),
                created_ms=hook.created_ms,
            )
        )


_ALL_WEBHOOKS = sa.select(webhooks).order_by(webhooks.c.location_id, webhooks.c.created_ms)
# Built once: every block write reads its location's subscriptions.
_LOCATION_WEBHOOKS = _ALL_WEBHOOKS.where(webhooks.c.location_id == sa.bindparam("l"))


async def list_webhooks(conn: AsyncConnection, location_id: str | None) -> list[Webhook]:
    if location_id is None:
        return [_webhook(row) for row in await conn.execute(_ALL_WEBHOOKS)]
    return [_webhook(row) for row in await conn.execute(_LOCATION_WEBHOOKS, {"l": location_id})]


async def hold_location(conn: AsyncConnection, location_id: str) -> int | None:
    """How many subscriptions the location holds, None when there is no such location. The
    location's row is held until this transaction ends (on PostgreSQL; SQLite serialises
    writers), so that two subscribes of one location count one after the other."""
    held = sa.select(locations.c.id).where(locations.c.id == location_id)
    if (await conn.execute(held.with_for_update(key_share=True))).first() is None:
        return None
    count = sa.select(sa.func.count()).where(webhooks.c.location_id == location_id)
    return int((await conn.execute(count)).scalar_one())


async def delete_webhook(conn: AsyncConnection, webhook_id: str, location_id: str | None) -> bool:
    """Remove a subscription and its pending deliveries; False when there is none."""
    where = [webhooks.c.id == webhook_id]
    if location_id is not None:
        where.append(webhooks.c.location_id == location_id)
    result = await conn.execute(webhooks.delete().where(*where))
    if result.rowcount:
        await conn.execute(
            outbox.delete().where(outbox.c.webhook_id == webhook_id, outbox.c.state == PENDING)
        )
    return bool(result.rowcount)


async def enqueue(
    conn: AsyncConnection,
    location_id: str,
    block_id: str,
    event_type: str,
    event: dict[str, Any],
    now_ms: int,
) -> int:
    """One pending delivery per subscription of the location that wants `event_type`."""
    hooks = await list_webhooks(conn, location_id)
    rows = [
        {
            "location_id": location_id,
            "webhook_id": hook.id,
            "block_id": block_id,
            "event_type": event_type,
            "event": event,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_ms": now_ms,
            "created_ms": now_ms,
        }
        for hook in hooks
        if event_type in hook.events
    ]
    if rows:
        await conn.execute(outbox.insert(), rows)
    return len(rows)


_DUE_COLUMNS = (*outbox.c, webhooks.c.url)


async def claim_due(
    conn: AsyncConnection, now_ms: int, lease_ms: int, limit: int
) -> list[Delivery]:
    """Pending deliveries that are due and first in line for their block, claimed until
    `now_ms + lease_ms`."""
    earlier = outbox.alias("earlier")
    first_in_line = ~sa.exists().where(
        earlier.c.location_id == outbox.c.location_id,
        earlier.c.webhook_id == outbox.c.webhook_id,
        earlier.c.block_id == outbox.c.block_id,
        earlier.c.state == PENDING,
        earlier.c.id < outbox.c.id,
    )
    query = (
        sa.select(outbox.c.id, outbox.c.next_attempt_ms)
        .where(outbox.c.state == PENDING, outbox.c.next_attempt_ms <= now_ms, first_in_line)
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=outbox)
    )
    seen = (await conn.execute(query)).all()
    claimed = []
    for row in seen:
        result = await conn.execute(
            outbox.update()
            .where(outbox.c.id == row.id, outbox.c.next_attempt_ms == row.next_attempt_ms)
            .values(next_attempt_ms=now_ms + lease_ms)
        )
        if result.rowcount == 1:
            claimed.append(row.id)
    return await deliveries(conn, claimed)


def _joined() -> Any:
    return outbox.join(
        webhooks,
        sa.and_(
            webhooks.c.location_id == outbox.c.location_id, webhooks.c.id == outbox.c.webhook_id
        ),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        location_id=row.location_id,
        webhook_id=row.webhook_id,
        block_id=row.block_id,
        event_type=row.event_type,
        event=row.event,
        attempts=row.attempts,
        created_ms=row.created_ms,
        url=row.url,
        state=row.state,
        last_error=row.last_error,
    )


async def deliveries(conn: AsyncConnection, ids: Sequence[int]) -> list[Delivery]:
    if not ids:
        return []
    query = sa.select(*_DUE_COLUMNS).select_from(_joined()).where(outbox.c.id.in_(ids))
    found = [_delivery(row) for row in await conn.execute(query.order_by(outbox.c.id))]
    return found


async def list_deliveries(
    conn: AsyncConnection, state: str, location_id: str | None, limit: int
) -> list[Delivery]:
    query = sa.select(*_DUE_COLUMNS).select_from(_joined()).where(outbox.c.state == state)
    if location_id is not None:
        query = query.where(outbox.c.location_id == location_id)
    rows = await conn.execute(query.order_by(outbox.c.id.desc()).limit(limit))
    return [_delivery(row) for row in rows]


async def count_waiting(conn: AsyncConnection) -> dict[str, int]:
    """How many deliveries are pending and how many dead-lettered (every location's)."""
    query = (
        sa.select(outbox.c.state, sa.func.count())
        .where(outbox.c.state.in_((PENDING, DEAD)))
        .group_by(outbox.c.state)
    )
    found = {PENDING: 0, DEAD: 0}
    found.update({state: count for state, count in await conn.execute(query)})
    return found


async def finish(
    conn: AsyncConnection, delivery_id: int, state: str, now_ms: int, error: str | None
) -> None:
    """Mark a delivery delivered or dead."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == delivery_id)
        .values(state=state, finished_ms=now_ms, last_error=error, attempts=outbox.c.attempts + 1)
    )


async def retry_later(conn: AsyncConnection, delivery_id: int, at_ms: int, error: str) -> None:
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == delivery_id)
        .values(next_attempt_ms=at_ms, last_error=error, attempts=outbox.c.attempts + 1)
    )


async def prune_finished(conn: AsyncConnection, state: str, before_ms: int, limit: int) -> int:
    """Delete at most `limit` rows in `state` (delivered or dead) finished before
    `before_ms`, oldest first; how many were deleted."""
    oldest = (
        sa.select(outbox.c.id)
        .where(outbox.c.state == state, outbox.c.finished_ms < before_ms)
        .order_by(outbox.c.finished_ms)
        .limit(limit)
    )
    result = await conn.execute(outbox.delete().where(outbox.c.id.in_(oldest.scalar_subquery())))
    return int(result.rowcount)

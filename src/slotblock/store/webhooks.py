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
from slotblock.store.tables import locations, outbox, webhook_attempts, webhooks

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
    finished_ms: int | None = None
    redelivered_ms: int | None = None

    @property
    def retried_from_ms(self) -> int:
        """Where its retry horizon starts: its creation, or its last redelivery."""
        return self.redelivered_ms or self.created_ms


@dataclass(frozen=True)
class Attempt:
    """One attempt of a delivery: when, how long, the receiver's status (None when it did
    not answer) or the error, and the signature header sent (None when unsigned)."""

    number: int
    at_ms: int
    duration_ms: int
    status: int | None
    error: str | None
    signature: str | None


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a listing shows: all of them by default, newest first, `limit` at
    most, older than the delivery `before` when it is given (the next page)."""

    state: str | None = None
    location_id: str | None = None
    subscription_id: str | None = None
    event_type: str | None = None
    before: int | None = None
    limit: int = 100


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
        pending = (outbox.c.webhook_id == webhook_id, outbox.c.state == PENDING)
        await _delete_with_attempts(conn, pending)
    return bool(result.rowcount)


async def _delete_with_attempts(conn: AsyncConnection, where: Sequence[Any]) -> int:
    """Delete the outbox rows matching `where`, then their attempts; how many rows.

    In this order: deleting a row waits for a dispatcher that is recording an attempt of it
    (its update holds the row), and the attempts' deletion then sees that attempt too —
    attempts deleted first would miss one still uncommitted and leave it behind. A row
    changed meanwhile so that it no longer matches (a redelivery) is left, as are its
    attempts."""
    deleted = await conn.execute(
        outbox.delete().where(*where).returning(outbox.c.location_id, outbox.c.id)
    )
    keys = [(row.location_id, row.id) for row in deleted]
    await forget_attempts(conn, keys)
    return len(keys)


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
        finished_ms=row.finished_ms,
        redelivered_ms=row.redelivered_ms,
    )


async def deliveries(conn: AsyncConnection, ids: Sequence[int]) -> list[Delivery]:
    if not ids:
        return []
    query = sa.select(*_DUE_COLUMNS).select_from(_joined()).where(outbox.c.id.in_(ids))
    found = [_delivery(row) for row in await conn.execute(query.order_by(outbox.c.id))]
    return found


async def list_deliveries(conn: AsyncConnection, wanted: DeliveryFilter) -> list[Delivery]:
    """The deliveries `wanted` names, newest first (of live subscriptions only)."""
    conditions = [
        column == value
        for column, value in (
            (outbox.c.state, wanted.state),
            (outbox.c.location_id, wanted.location_id),
            (outbox.c.webhook_id, wanted.subscription_id),
            (outbox.c.event_type, wanted.event_type),
        )
        if value is not None
    ]
    if wanted.before is not None:
        conditions.append(outbox.c.id < wanted.before)
    query = sa.select(*_DUE_COLUMNS).select_from(_joined()).where(*conditions)
    rows = await conn.execute(query.order_by(outbox.c.id.desc()).limit(wanted.limit))
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


async def subscription_location(conn: AsyncConnection, subscription_id: str) -> str | None:
    """The location of a subscription (None when there is none): a listing by subscription
    then reads the outbox through its (location_id, webhook_id, …) index."""
    query = sa.select(webhooks.c.location_id).where(webhooks.c.id == subscription_id)
    return (await conn.execute(query)).scalar_one_or_none()


async def attempts_of(conn: AsyncConnection, found: Sequence[Delivery]) -> dict[int, list[Attempt]]:
    """The kept attempts of each delivery, oldest first, by delivery id."""
    keys = [(d.location_id, d.id) for d in found]
    by_delivery: dict[int, list[Attempt]] = {d.id: [] for d in found}
    if not keys:
        return by_delivery
    key = sa.tuple_(webhook_attempts.c.location_id, webhook_attempts.c.delivery_id)
    query = sa.select(webhook_attempts).where(key.in_(keys))
    for row in await conn.execute(query.order_by(webhook_attempts.c.attempt)):
        by_delivery[row.delivery_id].append(
            Attempt(row.attempt, row.at_ms, row.duration_ms, row.status, row.error, row.signature)
        )
    return by_delivery


async def record_attempt(
    conn: AsyncConnection, delivery: Delivery, attempt: Attempt, kept: int
) -> None:
    # `attempt.number` comes from `finish`/`retry_later` in the same transaction.
    """Keep `attempt` of `delivery`, and only the last `kept` attempts of it."""
    await conn.execute(
        webhook_attempts.insert().values(
            location_id=delivery.location_id,
            delivery_id=delivery.id,
            attempt=attempt.number,
            at_ms=attempt.at_ms,
            duration_ms=attempt.duration_ms,
            status=attempt.status,
            error=attempt.error,
            signature=attempt.signature,
        )
    )
    await conn.execute(
        webhook_attempts.delete().where(
            webhook_attempts.c.location_id == delivery.location_id,
            webhook_attempts.c.delivery_id == delivery.id,
            webhook_attempts.c.attempt <= attempt.number - kept,
        )
    )


async def forget_attempts(conn: AsyncConnection, keys: Sequence[tuple[str, int]]) -> None:
    """Delete the attempts of these (location id, delivery id)."""
    if keys:
        key = sa.tuple_(webhook_attempts.c.location_id, webhook_attempts.c.delivery_id)
        await conn.execute(webhook_attempts.delete().where(key.in_(keys)))


async def redeliver(conn: AsyncConnection, delivery_id: int, now_ms: int) -> bool:
    """Make a finished (delivered or dead) delivery pending again, due now, its retry
    horizon counted from now; False when it is not finished."""
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id == delivery_id, outbox.c.state != PENDING)
        .values(state=PENDING, next_attempt_ms=now_ms, finished_ms=None, redelivered_ms=now_ms)
    )
    return result.rowcount == 1


async def enqueue_one(
    conn: AsyncConnection, hook: Webhook, event_type: str, event: dict[str, Any], now_ms: int
) -> Delivery:
    """One pending delivery to one subscription, whatever event types it wants (a test
    event); the delivery."""
    result = await conn.execute(
        outbox.insert()
        .values(
            location_id=hook.location_id,
            webhook_id=hook.id,
            block_id="",
            event_type=event_type,
            event=event,
            state=PENDING,
            attempts=0,
            next_attempt_ms=now_ms,
            created_ms=now_ms,
        )
        .returning(outbox.c.id)
    )
    return (await deliveries(conn, [result.scalar_one()]))[0]


async def find_webhook(conn: AsyncConnection, subscription_id: str) -> Webhook | None:
    query = sa.select(webhooks).where(webhooks.c.id == subscription_id)
    row = (await conn.execute(query)).first()
    return _webhook(row) if row is not None else None


async def finish(
    conn: AsyncConnection, delivery_id: int, state: str, now_ms: int, error: str | None
) -> int | None:
    """Mark a delivery delivered or dead; the number of its attempts, this one included
    (counted by the row's own update: an attempt's number is never taken twice), or None
    when the delivery is gone meanwhile (an unsubscribe, a reset)."""
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id == delivery_id)
        .values(state=state, finished_ms=now_ms, last_error=error, attempts=outbox.c.attempts + 1)
        .returning(outbox.c.attempts)
    )
    attempts = result.scalar_one_or_none()
    return None if attempts is None else int(attempts)


async def retry_later(
    conn: AsyncConnection, delivery_id: int, at_ms: int, error: str
) -> int | None:
    """Make a delivery due again at `at_ms`; the number of its attempts, as `finish`."""
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id == delivery_id)
        .values(next_attempt_ms=at_ms, last_error=error, attempts=outbox.c.attempts + 1)
        .returning(outbox.c.attempts)
    )
    attempts = result.scalar_one_or_none()
    return None if attempts is None else int(attempts)


async def prune_finished(conn: AsyncConnection, state: str, before_ms: int, limit: int) -> int:
    """Delete at most `limit` rows in `state` (delivered or dead) finished before
    `before_ms`, oldest first; how many were deleted."""
    oldest = (
        sa.select(outbox.c.location_id, outbox.c.id)
        .where(outbox.c.state == state, outbox.c.finished_ms < before_ms)
        .order_by(outbox.c.finished_ms)
        .limit(limit)
    )
    keys = [(row.location_id, row.id) for row in await conn.execute(oldest)]
    if not keys:
        return 0
    still = (outbox.c.state == state, outbox.c.finished_ms < before_ms)
    return await _delete_with_attempts(conn, (outbox.c.id.in_([k[1] for k in keys]), *still))

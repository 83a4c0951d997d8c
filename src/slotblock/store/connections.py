"""Queries of connected calendars (`calendar_connections`) and of their synced blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Connection
from slotblock.store.blocks import blocks_of_connection
from slotblock.store.connection_resources import forget as forget_resources
from slotblock.store.integrity import writing
from slotblock.store.tables import calendar_connections as table

__all__ = ["SyncState", "blocks_of_connection"]

_KEPT_APART = ("secret", "address", "claimed_until_ms")  # never read into a Connection
_PUBLIC = [c for c in table.c if c.name not in _KEPT_APART]


def _connection(row: Any) -> Connection:
    values = dict(row._mapping)
    return Connection(
        **{k: v for k, v in values.items() if k not in ("warnings", "has_secret")},
        has_secret=bool(values["has_secret"]),
        warnings=tuple(values["warnings"] or ()),
    )


def _select() -> sa.Select[Any]:
    return sa.select(*_PUBLIC, table.c.secret.is_not(None).label("has_secret"))


async def insert(
    conn: AsyncConnection, connection: Connection, secret: str | None, address: str
) -> None:
    """Insert a connection; `secret` and `address` (the URL) as sealed by the service."""
    values = {c.name: getattr(connection, c.name) for c in table.c if c.name not in _KEPT_APART}
    values["warnings"] = list(connection.warnings)
    with writing(duplicate="a connection with that id already exists", missing="User not found"):
        await conn.execute(table.insert().values(**values, secret=secret, address=address))


async def get(conn: AsyncConnection, location_id: str, connection_id: str) -> Connection | None:
    query = _select().where(table.c.location_id == location_id, table.c.id == connection_id)
    row = (await conn.execute(query)).one_or_none()
    return _connection(row) if row else None


async def secret_of(conn: AsyncConnection, location_id: str, connection_id: str) -> str | None:
    """The sealed secret (only the sync reads it, to open it for the request)."""
    query = sa.select(table.c.secret).where(
        table.c.location_id == location_id, table.c.id == connection_id
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def address_of(conn: AsyncConnection, location_id: str, connection_id: str) -> str | None:
    """The URL as stored (sealed, or as given when no key sealed it): the sync's only."""
    query = sa.select(table.c.address).where(
        table.c.location_id == location_id, table.c.id == connection_id
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def set_address(
    conn: AsyncConnection, location_id: str, connection_id: str, address: str
) -> None:
    await conn.execute(
        table.update()
        .where(table.c.location_id == location_id, table.c.id == connection_id)
        .values(address=address)
    )


async def list_of(conn: AsyncConnection, location_id: str | None = None) -> list[Connection]:
    query = _select().order_by(table.c.location_id, table.c.id)
    if location_id is not None:
        query = query.where(table.c.location_id == location_id)
    return [_connection(row) for row in await conn.execute(query)]


async def count_of(conn: AsyncConnection, location_id: str) -> int:
    query = sa.select(sa.func.count()).where(table.c.location_id == location_id)
    return int((await conn.execute(query)).scalar_one())


async def delete(conn: AsyncConnection, location_id: str, connection_id: str) -> bool:
    await forget_resources(conn, location_id, connection_id)
    result = await conn.execute(
        table.delete().where(table.c.location_id == location_id, table.c.id == connection_id)
    )
    return result.rowcount == 1


def _free(now_ms: int) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.claimed_until_ms.is_(None), table.c.claimed_until_ms < now_ms)


async def claim_due(
    conn: AsyncConnection, now_ms: int, lease_ms: int, limit: int
) -> list[Connection]:
    """Connections due for a sync, claimed until `now_ms + lease_ms`: another syncer (of any
    node) skips them — rows locked by one are skipped (PostgreSQL), and a claimed row is not
    taken again before its lease ends or its sync is recorded."""
    query = (
        sa.select(table.c.location_id, table.c.id)
        .where(table.c.next_sync_ms <= now_ms, _free(now_ms))
        .order_by(table.c.next_sync_ms)
        .limit(limit)
        .with_for_update(skip_locked=True, of=table)
    )
    claimed = []
    for row in (await conn.execute(query)).all():
        if await claim(conn, row.location_id, row.id, now_ms, now_ms + lease_ms):
            claimed.append((row.location_id, row.id))
    found = [await get(conn, location_id, connection_id) for location_id, connection_id in claimed]
    return [c for c in found if c is not None]


async def claim(
    conn: AsyncConnection, location_id: str, connection_id: str, now_ms: int, until_ms: int
) -> bool:
    """Lease the connection to this syncer until `until_ms`; False when another holds it."""
    result = await conn.execute(
        table.update()
        .where(table.c.location_id == location_id, table.c.id == connection_id, _free(now_ms))
        .values(claimed_until_ms=until_ms)
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class SyncState:
    """What a sync leaves on its connection."""

    next_sync_ms: int
    failures: int
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    event_count: int | None = None  # None: unchanged
    warnings: tuple[str, ...] | None = None
    etag: str | None = None
    last_modified: str | None = None
    sync_token: str | None = None
    validators: bool = False  # whether etag, last_modified and sync_token are written


async def record(
    conn: AsyncConnection, location_id: str, connection_id: str, state: SyncState
) -> None:
    values: dict[str, Any] = {
        "claimed_until_ms": None,
        "next_sync_ms": state.next_sync_ms,
        "failures": state.failures,
        "last_error": state.last_error,
    }
    if state.last_success_ms is not None:
        values["last_success_ms"] = state.last_success_ms
    if state.last_error_ms is not None:
        values["last_error_ms"] = state.last_error_ms
    if state.event_count is not None:
        values["event_count"] = state.event_count
    if state.warnings is not None:
        values["warnings"] = list(state.warnings)
    if state.validators:
        values |= {"etag": state.etag, "last_modified": state.last_modified}
        values["sync_token"] = state.sync_token
    await conn.execute(
        table.update()
        .where(table.c.location_id == location_id, table.c.id == connection_id)
        .values(**values)
    )

"""Queries of a CalDAV connection's resources (`connection_resources`): what its last sync
read of each resource of the collection (core/connection_resources.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.connection_resources import ResourceState
from slotblock.store.tables import connection_resources as table


def _where(location_id: str, connection_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.location_id == location_id, table.c.connection_id == connection_id)


def _state(row: Any) -> ResourceState:
    return ResourceState(
        href=row.href,
        etag=row.etag,
        uids={uid: tuple(ids) for uid, ids in (row.uids or {}).items()},
        events=row.events,
        warnings=tuple(row.warnings or ()),
    )


async def of_connection(
    conn: AsyncConnection, location_id: str, connection_id: str
) -> dict[str, ResourceState]:
    query = sa.select(table).where(_where(location_id, connection_id))
    return {row.href: _state(row) for row in await conn.execute(query)}


async def put(
    conn: AsyncConnection,
    location_id: str,
    connection_id: str,
    states: Iterable[ResourceState],
    removed: Iterable[str] = (),
) -> None:
    """Write `states` (replacing the rows of their hrefs) and delete the `removed` hrefs."""
    states = list(states)
    gone = {s.href for s in states} | set(removed)
    if gone:
        await conn.execute(
            table.delete().where(_where(location_id, connection_id), table.c.href.in_(gone))
        )
    await _insert(conn, location_id, connection_id, states)


async def _insert(
    conn: AsyncConnection, location_id: str, connection_id: str, states: list[ResourceState]
) -> None:
    if states:
        await conn.execute(
            table.insert(), [_row(location_id, connection_id, state) for state in states]
        )


async def replace_all(
    conn: AsyncConnection,
    location_id: str,
    connection_id: str,
    states: Mapping[str, ResourceState],
) -> None:
    await forget(conn, location_id, connection_id)
    await _insert(conn, location_id, connection_id, list(states.values()))


async def forget(conn: AsyncConnection, location_id: str, connection_id: str) -> None:
    await conn.execute(table.delete().where(_where(location_id, connection_id)))


def _row(location_id: str, connection_id: str, state: ResourceState) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "connection_id": connection_id,
        "href": state.href,
        "etag": state.etag,
        "uids": {uid: list(ids) for uid, ids in state.uids.items()},
        "events": state.events,
        "warnings": list(state.warnings),
    }

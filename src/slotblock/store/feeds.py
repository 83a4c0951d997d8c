"""Queries of iCalendar feed tokens (stored by hash only), and the one-statement look-up of a
feed by its token that every feed request makes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Feed, TargetKind
from slotblock.store.tables import calendars, data_versions, feed_tokens, groups, locations, users

_TARGETS = {"calendar": calendars, "user": users, "group": groups}


@dataclass(frozen=True)
class FeedSource:
    """A live feed as its request finds it: the feed, its location's zone, the name of its
    target (None when the target is gone) and the location's data version (PostgreSQL's
    `data_versions` row; SQLite's is read apart, by the caller)."""

    feed: Feed
    location_timezone: str
    target_name: str | None
    data_version: int


def _feed(row: Mapping[str, Any]) -> Feed:
    return Feed(
        id=row["id"],
        location_id=row["location_id"],
        target_kind=cast(TargetKind, row["target_kind"]),
        target_id=row["target_id"],
        busy_only=bool(row["busy_only"]),
        include_connected=bool(row["include_connected"]),
        name=row["name"],
        created_ms=row["created_ms"],
        revoked_ms=row["revoked_ms"],
    )


async def insert_feed(conn: AsyncConnection, feed: Feed, token_hash: str) -> None:
    await conn.execute(
        feed_tokens.insert().values(
            id=feed.id,
            location_id=feed.location_id,
            token_hash=token_hash,
            target_kind=feed.target_kind,
            target_id=feed.target_id,
            busy_only=feed.busy_only,
            include_connected=feed.include_connected,
            name=feed.name,
            created_ms=feed.created_ms,
            revoked_ms=feed.revoked_ms,
        )
    )


async def hold_location(conn: AsyncConnection, location_id: str) -> int | None:
    """How many live feeds the location has, None when there is no such location; the
    location's row is held until the transaction ends (PostgreSQL; SQLite serialises
    writers), so that two creates of one location count one after the other."""
    held = sa.select(locations.c.id).where(locations.c.id == location_id)
    if (await conn.execute(held.with_for_update(key_share=True))).first() is None:
        return None
    count = sa.select(sa.func.count()).where(
        feed_tokens.c.location_id == location_id, feed_tokens.c.revoked_ms.is_(None)
    )
    return int((await conn.execute(count)).scalar_one())


async def list_feeds(conn: AsyncConnection, location_id: str | None) -> list[Feed]:
    """The feeds of a location (of every location with None), oldest first."""
    query = sa.select(feed_tokens).order_by(feed_tokens.c.created_ms, feed_tokens.c.id)
    if location_id is not None:
        query = query.where(feed_tokens.c.location_id == location_id)
    return [_feed(dict(row._mapping)) for row in await conn.execute(query)]


async def revoke_feed(
    conn: AsyncConnection, feed_id: str, location_id: str | None, now_ms: int
) -> bool:
    """Revoke a live feed; False when there is none of that id (in that location)."""
    where = [feed_tokens.c.id == feed_id, feed_tokens.c.revoked_ms.is_(None)]
    if location_id is not None:
        where.append(feed_tokens.c.location_id == location_id)
    result = await conn.execute(feed_tokens.update().where(*where).values(revoked_ms=now_ms))
    return result.rowcount == 1


async def target_locations(conn: AsyncConnection, kind: TargetKind, target_id: str) -> list[str]:
    """The locations that hold a calendar, user or group of this id (ids are unique within
    a location only)."""
    table = _TARGETS[kind]
    rows = await conn.execute(
        sa.select(table.c.location_id).where(table.c.id == target_id).order_by(table.c.location_id)
    )
    return list(rows.scalars())


# --- the look-up of every feed request ----------------------------------------------------


def _target_name() -> sa.ColumnElement[Any]:
    """The name of the feed's target, NULL when it is gone."""
    names = [
        sa.select(table.c.name)
        .where(
            feed_tokens.c.target_kind == sa.literal_column(f"'{kind}'"),  # a constant
            table.c.location_id == feed_tokens.c.location_id,
            table.c.id == feed_tokens.c.target_id,
        )
        .scalar_subquery()
        for kind, table in _TARGETS.items()
    ]
    return sa.func.coalesce(*names)


def lookup_statement() -> sa.Select[Any]:
    """The live feed of a token hash (`:token_hash`) with its location's zone, its target's
    name and its location's data version: one indexed statement."""
    version = (
        sa.select(data_versions.c.version)
        .where(data_versions.c.location_id == feed_tokens.c.location_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            feed_tokens,
            locations.c.timezone.label("location_timezone"),
            _target_name().label("target_name"),
            sa.func.coalesce(version, sa.literal_column("0")).label("data_version"),
        )
        .join(locations, locations.c.id == feed_tokens.c.location_id)
        .where(
            feed_tokens.c.token_hash == sa.bindparam("token_hash"),
            feed_tokens.c.revoked_ms.is_(None),
        )
    )


@lru_cache(maxsize=2)
def lookup_sql(is_sqlite: bool) -> tuple[str, tuple[str, ...]]:
    """The look-up's SQL for the database driver itself, and the order of its positional
    parameters (PostgreSQL; SQLite takes them by name)."""
    dialect: Any = (
        sqlite.dialect(paramstyle="named") if is_sqlite else postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    )
    compiled = lookup_statement().compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def source_of(row: Mapping[str, Any]) -> FeedSource:
    """The look-up's row (any mapping of its column names) as a FeedSource."""
    return FeedSource(
        feed=_feed(row),
        location_timezone=row["location_timezone"],
        target_name=row["target_name"],
        data_version=int(row["data_version"]),
    )


async def find_live(conn: AsyncConnection, token_hash: str) -> FeedSource | None:
    """The look-up through SQLAlchemy (when the direct reader is off)."""
    row = (await conn.execute(lookup_statement(), {"token_hash": token_hash})).one_or_none()
    return source_of(dict(row._mapping)) if row is not None else None

"""Queries of the admin control plane: emptying the database or one location, listing what
a fixture export needs, and the admin tokens (stored by hash only)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store import oauth as oauth_store
from slotblock.store.changes import forget_tokens
from slotblock.store.tables import (
    admin_tokens,
    block_changes,
    blocks,
    calendar_connections,
    calendar_members,
    calendars,
    change_counters,
    connection_resources,
    data_versions,
    feed_tokens,
    groups,
    idempotency_keys,
    locations,
    metadata,
    oauth_grants,
    outbox,
    server_secrets,
    tokens,
    users,
    webhook_attempts,
    webhooks,
)

# Children before parents, so that foreign keys hold at every step.
_LOCATION_TABLES = (
    blocks,
    connection_resources,
    calendar_connections,
    calendar_members,
    calendars,
    groups,
    tokens,
    feed_tokens,
    users,
)
# What the changes of a location leave behind; its change counter stays, so that change
# numbers never go back (a sync token from before the reset still sees the reset's writes).
_CHANGE_TABLES = (block_changes, webhook_attempts, outbox, idempotency_keys, webhooks)


# Shorter than PostgreSQL's deadlock_timeout (1 s by default): a reset that waits for a
# writer while the writer waits for a table the reset already holds gives up first, so the
# writer is never the one aborted as a deadlock victim.
_LOCK_WAIT_MS = 100


async def lock_out_writers(conn: AsyncConnection) -> bool:
    """Hold every table against writers until this transaction ends (PostgreSQL: `LOCK
    TABLE … IN EXCLUSIVE MODE`: plain reads go on, writes and row locks wait), so that a
    reset or a load runs while no writer is half-way. False when a writer kept a table for
    longer than `_LOCK_WAIT_MS`: nothing is held then, and the transaction is usable.
    SQLite: True at once (the write transaction already excludes every other writer)."""
    if conn.dialect.name != "postgresql":
        return True
    names = ", ".join(
        conn.dialect.identifier_preparer.format_table(t) for t in metadata.sorted_tables
    )
    await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{_LOCK_WAIT_MS}ms'"))
    try:
        async with conn.begin_nested():
            await conn.execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            return False
        raise
    await conn.execute(sa.text("SET LOCAL lock_timeout TO DEFAULT"))
    return True


async def delete_everything(conn: AsyncConnection) -> None:
    """Every row of every table but the admin tokens, the change counters (whose sync
    tokens are gone), the data versions (which only ever grow: a version seen again after
    a reset would make an old cached answer current) and the server's own secrets."""
    for table in reversed(metadata.sorted_tables):
        if table not in (admin_tokens, change_counters, data_versions, server_secrets):
            await conn.execute(table.delete())
    await forget_tokens(conn)


async def delete_location(conn: AsyncConnection, location_id: str) -> bool:
    """Every row of one location; False when there was no such location."""
    for table in (*_CHANGE_TABLES, *_LOCATION_TABLES):
        await conn.execute(table.delete().where(table.c.location_id == location_id))
    await forget_tokens(conn, location_id)
    await oauth_store.delete_location(conn, location_id)
    result = await conn.execute(locations.delete().where(locations.c.id == location_id))
    return result.rowcount == 1


async def location_ids(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(sa.select(locations.c.id).order_by(locations.c.id))
    return list(rows.scalars())


async def existing_locations(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await conn.execute(sa.select(locations.c.id).where(locations.c.id.in_(ids)))
    return set(rows.scalars())


async def list_users(conn: AsyncConnection, location_id: str) -> list[tuple[str, str, str]]:
    """(id, name, email) of the location's users, by id."""
    rows = await conn.execute(
        sa.select(users.c.id, users.c.name, users.c.email)
        .where(users.c.location_id == location_id)
        .order_by(users.c.id)
    )
    return [(row.id, row.name, row.email) for row in rows]


async def block_ids(conn: AsyncConnection, location_id: str) -> list[str]:
    rows = await conn.execute(
        sa.select(blocks.c.id).where(blocks.c.location_id == location_id).order_by(blocks.c.id)
    )
    return list(rows.scalars())


async def set_block_versions(conn: AsyncConnection, location_id: str, version: int) -> None:
    """Give a location's blocks one version: loaded blocks must not share (id, version)
    with blocks some process cached before a reset."""
    await conn.execute(
        blocks.update().where(blocks.c.location_id == location_id).values(version=version)
    )


async def token_hashes(conn: AsyncConnection, location_id: str) -> dict[str, str]:
    """Token id → stored hash, for the location's tokens."""
    rows = await conn.execute(
        sa.select(tokens.c.id, tokens.c.token_hash).where(tokens.c.location_id == location_id)
    )
    return {row.id: row.token_hash for row in rows}


async def taken_tokens(
    conn: AsyncConnection, ids: Sequence[str], hashes: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Those of `ids` and of `hashes` that stored tokens already have."""
    query = sa.select(tokens.c.id, tokens.c.token_hash).where(
        sa.or_(tokens.c.id.in_(ids), tokens.c.token_hash.in_(hashes))
    )
    rows = (await conn.execute(query)).all()
    return {row.id for row in rows}, {row.token_hash for row in rows}


async def feed_hashes(conn: AsyncConnection, location_id: str) -> dict[str, str]:
    """Feed id → stored hash of its token, for the location's feeds."""
    rows = await conn.execute(
        sa.select(feed_tokens.c.id, feed_tokens.c.token_hash).where(
            feed_tokens.c.location_id == location_id
        )
    )
    return {row.id: row.token_hash for row in rows}


async def taken_feeds(
    conn: AsyncConnection, ids: Sequence[str], hashes: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Those of `ids` and of `hashes` that stored feeds already have."""
    query = sa.select(feed_tokens.c.id, feed_tokens.c.token_hash).where(
        sa.or_(feed_tokens.c.id.in_(ids), feed_tokens.c.token_hash.in_(hashes))
    )
    rows = (await conn.execute(query)).all()
    return {row.id for row in rows}, {row.token_hash for row in rows}


async def token_owner(conn: AsyncConnection, token_hash: str) -> tuple[str, str] | None:
    """(token id, location id) of the token with this hash, revoked or not: a private
    token, or an OAuth access token (its grant's id; a company's has no location: "")."""
    row = (
        await conn.execute(
            sa.select(tokens.c.id, tokens.c.location_id).where(tokens.c.token_hash == token_hash)
        )
    ).one_or_none()
    if row is not None:
        return row.id, row.location_id
    grant = (
        await conn.execute(
            sa.select(oauth_grants.c.id, oauth_grants.c.location_id).where(
                oauth_grants.c.token_hash == token_hash, oauth_grants.c.kind == "access"
            )
        )
    ).one_or_none()
    return (grant.id, grant.location_id or "") if grant else None


# --- admin tokens ------------------------------------------------------------------------


async def insert_admin_token(
    conn: AsyncConnection, token_id: str, token_hash: str, now_ms: int
) -> None:
    await conn.execute(
        admin_tokens.insert().values(id=token_id, token_hash=token_hash, created_ms=now_ms)
    )


async def has_admin_tokens(conn: AsyncConnection) -> bool:
    return (await conn.execute(sa.select(admin_tokens.c.id).limit(1))).first() is not None


async def is_admin_token(conn: AsyncConnection, token_hash: str) -> bool:
    query = sa.select(admin_tokens.c.id).where(admin_tokens.c.token_hash == token_hash)
    return (await conn.execute(query)).first() is not None

"""Queries for private-integration tokens (stored by hash only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Location, TokenInfo
from slotblock.store.tables import locations, tokens


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        location_id=row.location_id,
        name=row.name,
        scopes=tuple(row.scopes.split()),
        created_ms=row.created_ms,
        revoked_ms=row.revoked_ms,
        expires_ms=row.expires_ms,
    )


async def insert_token(conn: AsyncConnection, info: TokenInfo, token_hash: str) -> None:
    await conn.execute(
        tokens.insert().values(
            id=info.id,
            location_id=info.location_id,
            name=info.name,
            token_hash=token_hash,
            scopes=" ".join(info.scopes),
            created_ms=info.created_ms,
            revoked_ms=None,
            expires_ms=info.expires_ms,
        )
    )


async def find_active(conn: AsyncConnection, token_hash: str) -> tuple[TokenInfo, Location] | None:
    """The unrevoked token with this hash and its location, in one indexed query (whether it
    has expired is the caller's to judge, by the service's clock)."""
    query = (
        sa.select(tokens, locations.c.name.label("location_name"), locations.c.timezone)
        .join(locations, locations.c.id == tokens.c.location_id)
        .where(tokens.c.token_hash == token_hash, tokens.c.revoked_ms.is_(None))
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return _info(row), Location(row.location_id, row.location_name, row.timezone)


async def list_tokens(conn: AsyncConnection, location_id: str) -> list[TokenInfo]:
    query = (
        sa.select(tokens).where(tokens.c.location_id == location_id).order_by(tokens.c.created_ms)
    )
    return [_info(row) for row in await conn.execute(query)]


async def revoke(conn: AsyncConnection, token_id: str, now_ms: int) -> bool:
    result = await conn.execute(
        tokens.update()
        .where(tokens.c.id == token_id, tokens.c.revoked_ms.is_(None))
        .values(revoked_ms=now_ms)
    )
    return result.rowcount == 1


async def delete_expired(conn: AsyncConnection, now_ms: int) -> int:
    """Delete the tokens that expired before `now_ms`; how many."""
    result = await conn.execute(
        tokens.delete().where(tokens.c.expires_ms.is_not(None), tokens.c.expires_ms <= now_ms)
    )
    return result.rowcount

"""Migration 0014 on both backends, over tokens made before it: they keep working with no
expiry; the downgrade drops the column and its index and keeps the tokens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from slotblock.core.model import SCOPES, Location, TokenInfo
from slotblock.store import Store, directory
from slotblock.store import tokens as token_store
from slotblock.store.migrate import alembic_config

pytestmark = pytest.mark.anyio
BEFORE = "0013_connection_resources"


async def migrate(store: Store, revision: str, *, down: bool = False) -> None:
    def run(connection: sa.Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with store.begin() as conn:
        await conn.run_sync(run)


async def columns_and_indexes(store: Store) -> tuple[set[str], set[str]]:
    def read(connection: sa.Connection) -> tuple[set[str], set[str]]:
        inspector = sa.inspect(connection)
        columns = {c["name"] for c in inspector.get_columns("tokens")}
        indexes = {str(i["name"]) for i in inspector.get_indexes("tokens")}
        return columns, indexes

    async with store.read() as conn:
        return await conn.run_sync(read)


async def test_tokens_made_before_keep_working(store: Store) -> None:
    try:
        await migrate(store, BEFORE, down=True)
        columns, indexes = await columns_and_indexes(store)
        assert "expires_ms" not in columns and "ix_tokens_expires_ms" not in indexes
        async with store.begin() as conn:
            await directory.insert_location(conn, Location("loc1", "L", "UTC"), 0)
            await conn.execute(
                sa.text(
                    "INSERT INTO tokens (id, location_id, name, token_hash, scopes, created_ms)"
                    " VALUES ('t1', 'loc1', 'old', 'hash1', :scopes, 5)"
                ),
                {"scopes": " ".join(SCOPES)},
            )
        await migrate(store, "head")
        columns, indexes = await columns_and_indexes(store)
        assert "expires_ms" in columns and "ix_tokens_expires_ms" in indexes
        async with store.read() as conn:
            found = await token_store.find_active(conn, "hash1")
        assert found is not None
        assert found[0] == TokenInfo("t1", "loc1", "old", SCOPES, 5, None, None)

        await migrate(store, BEFORE, down=True)
        columns, indexes = await columns_and_indexes(store)
        assert "expires_ms" not in columns and "ix_tokens_expires_ms" not in indexes
        async with store.read() as conn:
            kept = (await conn.execute(sa.text("SELECT id, name FROM tokens"))).all()
        assert [tuple(row) for row in kept] == [("t1", "old")]
    finally:
        await migrate(store, "head")

"""store.tokens on every backend: stored by hash, found while live, revoked once."""

from __future__ import annotations

import pytest

from slotblock.core.model import SCOPES, TokenInfo
from slotblock.store import Store
from slotblock.store import tokens as token_store
from tests.store.rows import NOW, place

pytestmark = pytest.mark.anyio


async def test_tokens(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    first = TokenInfo("t1", p.location.id, "ops", SCOPES, NOW, None)
    second = TokenInfo("t2", p.location.id, "", ("calendars.readonly",), NOW + 1, None)
    async with store.begin() as conn:
        await token_store.insert_token(conn, second, "hash2")
        await token_store.insert_token(conn, first, "hash1")
        await token_store.insert_token(
            conn, TokenInfo("t3", other.location.id, "", SCOPES, NOW, None), "hash3"
        )
    async with store.read() as conn:
        assert await token_store.find_active(conn, "hash1") == (first, p.location)
        assert await token_store.find_active(conn, "nohash") is None
        assert await token_store.list_tokens(conn, p.location.id) == [first, second]
    async with store.begin() as conn:
        assert await token_store.revoke(conn, "t1", NOW + 5)
        assert not await token_store.revoke(conn, "t1", NOW + 6)  # already revoked
        assert not await token_store.revoke(conn, "nosuch", NOW + 6)
    async with store.read() as conn:
        assert await token_store.find_active(conn, "hash1") is None
        listed = await token_store.list_tokens(conn, p.location.id)
        assert [(t.id, t.revoked_ms) for t in listed] == [("t1", NOW + 5), ("t2", None)]

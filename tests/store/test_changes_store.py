"""store.changes on every backend: the change log is pruned a batch at a time (each
statement stays short, whatever the backlog), keeping what is still retained."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slotblock.store import Store
from slotblock.store import changes as change_store
from slotblock.store.tables import block_changes

pytestmark = pytest.mark.anyio


async def test_prune_deletes_every_old_change_in_batches(store: Store) -> None:
    rows = [
        {"location_id": loc, "seq": seq, "block_id": f"b{seq}", "deleted": False,
         "changed_ms": 1_000 * seq}
        for loc in ("l1", "l2") for seq in range(1, 12)
    ]  # fmt: skip
    async with store.begin() as conn:
        await conn.execute(block_changes.insert(), rows)
    async with store.begin() as conn:
        pruned = await change_store.prune_changes(conn, before_ms=8_500, batch=3)
    async with store.read() as conn:
        left = (await conn.execute(sa.select(block_changes.c.seq))).scalars().all()
    assert pruned == 16
    assert sorted(left) == [9, 9, 10, 10, 11, 11]

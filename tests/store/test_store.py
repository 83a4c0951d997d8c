"""The store on every backend: schema = migrations, index range scans, compare-and-set."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from slotblock.core.isotime import MAX_MS
from slotblock.core.model import Block, Override, Targets
from slotblock.service.container import Services
from slotblock.store import Store
from slotblock.store import blocks as block_store
from slotblock.store.tables import blocks, metadata
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


def block(t: Tenant, block_id: str, start: int, minutes: int = 60, **changes: object) -> Block:
    base = Block(
        location_id=t.location_id,
        id=block_id,
        calendar_id=t.calendar_id,
        assigned_user_id=None,
        title="",
        description="",
        notes="",
        address="",
        start_ms=start,
        end_ms=start + minutes * 60_000,
        timezone=t.timezone,
        rrule=None,
        last_start_ms=None,
        overrides=(),
        created_ms=0,
        updated_ms=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_migrations_match_the_tables(store: Store) -> None:
    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, metadata))

    async with store.read() as conn:
        assert await conn.run_sync(diff) == []


async def test_compare_and_set(store: Store, tenant: Tenant) -> None:
    async with store.begin() as conn:
        await block_store.insert_block(conn, block(tenant, "b1", 0))
    async with store.begin() as conn:
        found = await block_store.get_block(conn, tenant.location_id, "b1")
        assert found is not None
        current, version = found
        assert await block_store.replace_block(conn, replace(current, title="first"), version)
        assert not await block_store.replace_block(conn, replace(current, title="stale"), version)
    async with store.read() as conn:
        again = await block_store.get_block(conn, tenant.location_id, "b1")
        assert again is not None and again[0].title == "first" and again[1] == version + 1


async def test_bounds_cover_moved_instances_and_endless_series(
    store: Store, tenant: Tenant
) -> None:
    series = block(
        tenant,
        "s1",
        1_000_000,
        rrule="RRULE:FREQ=DAILY",
        overrides=(Override(1_000_000, 500_000, 600_000, {}),),
    )
    async with store.begin() as conn:
        await block_store.insert_block(conn, series)
        row = (await conn.execute(sa.select(blocks).where(blocks.c.id == "s1"))).one()
    assert (row.bound_start_ms, row.bound_end_ms, row.long_span) == (500_000, MAX_MS, True)


async def test_window_query_is_an_index_range_scan(
    store: Store, services: Services, tenant: Tenant
) -> None:
    day = 86_400_000
    rows = [block(tenant, f"b{i}", i * day // 4) for i in range(4000)]
    rows += [block(tenant, f"long{i}", i * day, minutes=3 * 24 * 60) for i in range(0, 1000, 3)]
    async with store.begin() as conn:
        await block_store.insert_blocks(conn, rows)
        if not store.is_sqlite:
            await conn.exec_driver_sql("ANALYZE blocks")
        else:
            await conn.exec_driver_sql("ANALYZE")
    targets = Targets(calendar_id=tenant.calendar_id)
    query = block_store.window_query(tenant.location_id, 500 * day, 507 * day, targets)
    async with store.read() as conn:
        compiled = query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN "
        plan = "\n".join(str(r[-1]) for r in await conn.exec_driver_sql(prefix + str(compiled)))
        found = await block_store.blocks_in_window(
            conn, tenant.location_id, 500 * day, 507 * day, targets
        )
    # one-hour blocks every 6 hours, and three-day blocks every third day
    assert len(found) == 7 * 4 + 3
    # both branches of the UNION are index range scans, never a scan of the table
    assert "ix_blocks_calendar_start" in plan, plan
    assert plan.count("ix_blocks_calendar_") >= 2, plan
    assert "SCAN blocks\n" not in plan + "\n" and "Seq Scan on blocks" not in plan, plan


def test_the_keys_that_do_not_lead_with_the_location_are_the_documented_ones() -> None:
    """store/tables.py and README's Deploying section name them; a new table or index that
    does not lead with `location_id` must be named there too."""
    keyed_otherwise = {
        table.name
        for table in metadata.sorted_tables
        if table.primary_key.columns.keys()[0] != "location_id"
    }
    assert keyed_otherwise == {
        "locations",
        "tokens",
        "feed_tokens",
        "admin_tokens",
        "outbox",
        "server_secrets",
        "clock",
        "control_state",
        "fault_rules",
        "request_log",
        "companies",
        "oauth_apps",
        "oauth_installs",
        "oauth_grants",
    }
    across = {
        (table.name, tuple(index.columns.keys()))
        for table in metadata.sorted_tables
        for index in table.indexes
        if index.columns.keys()[0] != "location_id"
    }
    across |= {
        (table.name, (column.name,))
        for table in metadata.sorted_tables
        for column in table.columns
        if column.unique and column.name != "location_id"
    }
    assert across == {
        ("outbox", ("state", "next_attempt_ms")),
        ("outbox", ("state", "finished_ms")),
        ("calendar_connections", ("next_sync_ms",)),
        ("block_changes", ("changed_ms",)),
        ("tokens", ("expires_ms",)),
        ("tokens", ("token_hash",)),
        ("feed_tokens", ("token_hash",)),
        ("admin_tokens", ("token_hash",)),
        ("fault_rules", ("id",)),
        ("company_locations", ("company_id",)),
        ("oauth_apps", ("client_id",)),
        ("oauth_grants", ("token_hash",)),
        ("oauth_grants", ("app_id", "target_id", "kind", "created_ms")),
    }

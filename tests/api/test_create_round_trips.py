"""Statements per create, counted on both backends: the create path's round trips.

A create (a calendar's one-off block, no webhook subscription) runs, inside its
transaction: the calendar held with its group, the block inserted, the change number
taken, the change row inserted, the location's subscriptions read. The count is the
budget: a statement added to the create path fails here (see bench/RESULTS.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.store import Store, block_create
from slotblock.store import blocks as block_store
from tests.api.calls import create
from tests.conftest import Tenant, snapshot

pytestmark = pytest.mark.anyio

START, END = "2023-04-03T04:30:00Z", "2023-04-03T05:30:00Z"

# Statements sent through the driver per create, besides BEGIN and COMMIT. On PostgreSQL
# the calendar is held and the block inserted in one statement (store.block_create).
CREATE_STATEMENTS = {"sqlite": 5, "postgresql": 4}


def _counting(store: Store) -> tuple[list[str], Any]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:60])

    return seen, count


async def _statements_of_create(client: httpx.AsyncClient, store: Store, t: Tenant) -> list[str]:
    await create(client, t, startTime=START, endTime=END)  # the token is known from here on
    seen, count = _counting(store)
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        await create(client, t, startTime=START, endTime=END)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    return seen


async def test_a_create_sends_its_budget_of_statements(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    seen = await _statements_of_create(client, store, tenant)
    work = [s for s in seen if not s.upper().startswith(("BEGIN", "COMMIT", "PRAGMA"))]
    assert len(work) == CREATE_STATEMENTS[store.engine.dialect.name], seen


async def test_a_missing_calendar_is_404_with_nothing_written(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    before = await snapshot(store)
    body = {
        "locationId": tenant.location_id,
        "calendarId": "nocalendar0000000000",
        "startTime": START,
        "endTime": END,
    }
    response = await client.post(
        "/calendars/events/block-slots", json=body, headers=tenant.headers()
    )
    assert (response.status_code, response.json()["message"]) == (404, "Calendar not found")
    assert await snapshot(store) == before


async def test_the_one_statement_holds_the_calendar_returns_its_group_and_inserts(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    created = await create(client, tenant, startTime=START, endTime=END)
    async with store.begin() as conn:
        if not block_create.one_statement(conn):
            assert conn.dialect.name == "sqlite"  # two statements there: nothing to round up
            return
        found = await block_store.get_block(conn, tenant.location_id, created["id"])
        assert found is not None
        block, _ = found
        fresh = replace(block, id="x" * 20, group_id=None)
        assert await block_create.hold_calendar_and_insert(conn, fresh) == (True, tenant.group_id)
        missing = replace(fresh, id="y" * 20, calendar_id="nocalendar0000000000")
        assert await block_create.hold_calendar_and_insert(conn, missing) == (False, None)
        stored = await block_store.get_block(conn, tenant.location_id, fresh.id)
        assert stored is not None
        assert stored[0] == replace(fresh, group_id=tenant.group_id, version=1)
        assert await block_store.get_block(conn, tenant.location_id, missing.id) is None

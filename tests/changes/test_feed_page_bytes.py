"""Pages of the changes feed are capped in bytes as well as in blocks, on both backends: one
page of three edited series was 11.6 MB. A page holds blocks until the next would pass
SLOTBLOCK_SYNC_PAGE_BYTES (its first block always, whatever its size), and paging still
shows every block exactly once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.store import Store
from tests.api.calls import create, delete, edit
from tests.changes.test_changes_feed import at, page
from tests.conftest import Tenant
from tests.hardening.helpers import client_with

pytestmark = pytest.mark.anyio
CAP = 4096
DAY_MS = 86_400_000


async def follow(
    client: httpx.AsyncClient, t: Tenant, **given: str
) -> tuple[list[dict[str, Any]], str, list[tuple[int, int]]]:
    """Every page of one sync: (items, nextSyncToken, (events' bytes, events) of each page)."""
    items: list[dict[str, Any]] = []
    pages: list[tuple[int, int]] = []
    while True:
        response = await page(client, t, **given)
        assert response.status_code == 200, response.text
        data = response.json()
        items += data["events"]
        body = response.content
        pages.append((len(body[body.index(b"[") : body.rindex(b"]") + 1]), len(data["events"])))
        if "nextSyncToken" in data:
            return items, data["nextSyncToken"], pages
        given = {"pageToken": data["nextPageToken"]}


def within_cap(pages: list[tuple[int, int]]) -> bool:
    return all(size <= CAP or count == 1 for size, count in pages)


async def test_pages_stop_at_the_byte_cap(settings: Settings, store: Store, tenant: Tenant) -> None:
    async with client_with(settings, store, sync_page_bytes=CAP) as (client, _):
        made = [
            await create(client, tenant, **at(9 + n % 10), title=f"{n} " + "x" * 1200)
            for n in range(12)
        ]
        huge = await create(client, tenant, **at(21), title="y" * 9000)  # past the cap alone
        items, token, pages = await follow(client, tenant)
        assert sorted(i["id"] for i in items) == sorted(b["id"] for b in [*made, huge])
        assert len(pages) >= 5 and within_cap(pages), pages
        assert (max(size for size, _ in pages) > 9000) and max(pages)[1] == 1
        # What changed since, tombstones included, is paged by bytes the same way.
        for block in made[:6]:
            assert (await delete(client, tenant, block["id"])).status_code == 201
        added = [await create(client, tenant, **at(9), title="z" * 1500) for _ in range(6)]
        changed, _, pages = await follow(client, tenant, syncToken=token)
        assert sorted(i["id"] for i in changed) == sorted(b["id"] for b in [*made[:6], *added])
        assert sum(1 for i in changed if i.get("deleted")) == 6
        assert len(pages) >= 3 and within_cap(pages), pages


async def test_the_default_cap_keeps_large_series_apart(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Three series with 100 edited instances each, about 0.65 MB encoded apiece: with the
    default cap (1 MiB) no page holds two of them (before, one page held all three)."""
    series = []
    for n in range(3):
        times = at(9 + n)
        made = await create(client, tenant, **times, title="s" * 2000, rrule="FREQ=DAILY")
        first = parse_iso(times["startTime"])
        for day in range(100):
            instance = f"{made['id']}_{first + day * DAY_MS}_1800"
            assert (await edit(client, tenant, instance, notes="n" * 4000)).status_code == 201
        series.append(made["id"])
    items, _, pages = await follow(client, tenant)
    assert sorted(i["id"] for i in items) == sorted(series)
    assert [count for _, count in pages] == [1, 1, 1]
    assert min(size for size, _ in pages) > 600_000

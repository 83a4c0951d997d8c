"""Outbox storage per write as a series grows: one series, one webhook subscription (no
dispatcher, so every row stays), N of its instances edited with full-size text fields.
For each write it prints the bytes of the outbox row as stored (the versioned payload),
beside the bytes the earlier format (the whole block, `asdict(Block)`, as SQLAlchemy's JSON
type writes it) would have taken for the same write; then the totals, the outbox table's
size in the database, and the median time of an instance edit early and late.

    .venv/bin/python -m bench.outbox [--instances 100] [--text-chars 10000]
                                     [--database-url postgresql://…/empty_db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import string
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.model import TEXT_FIELDS
from slotblock.service import demo
from slotblock.service.container import build_services
from slotblock.store import Store, open_store
from slotblock.store import blocks as block_store
from slotblock.store.migrate import upgrade
from slotblock.store.tables import outbox

DAY_MS = 86_400_000
FIRST_MS = 1_893_488_400_000  # 2030-01-01T09:00:00Z
REPORT_AT = (1, 10, 25, 50, 100, 200, 500)


def _legacy_bytes(block: Any, original: int | None, at: int) -> int:
    scope = "instance" if original is not None else "series"
    record = {"scope": scope, "original": original, "at": at, "block": asdict(block)}
    return len(json.dumps(record))


def _texts(letters: random.Random, chars: int) -> dict[str, str]:
    return {name: "".join(letters.choices(string.ascii_letters, k=chars)) for name in TEXT_FIELDS}


async def _last_row_bytes(store: Store) -> int:
    size = sa.func.length(sa.cast(outbox.c.event, sa.Text))
    async with store.read() as conn:
        query = sa.select(size).order_by(outbox.c.id.desc()).limit(1)
        return int((await conn.execute(query)).scalar_one())


async def _series(store: Store, block_id: str) -> Any:
    async with store.read() as conn:
        found = await block_store.get_block(conn, demo.LOCATION_ID, block_id)
    assert found is not None
    return found[0]


async def _table_bytes(store: Store) -> int:
    """The outbox table and its indexes, as stored."""
    if store.is_sqlite:
        query = (
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_master WHERE tbl_name = 'outbox')"
        )
    else:
        query = "SELECT pg_total_relation_size('outbox')"
    async with store.read() as conn:
        return int((await conn.execute(sa.text(query))).scalar_one())


async def measure(instances: int, text_chars: int, url: str) -> None:
    store = open_store(url)
    await upgrade(store)
    settings = Settings(
        database_url=url,
        webhook_dispatch=False,
        outbound_allow_networks="127.0.0.0/8",
        max_exceptions=max(500, instances + 1),
    )
    services = build_services(store, settings)
    await demo.ensure_demo(services.tenants, services.calendars, services.blocks)
    await services.webhooks.add(demo.LOCATION_ID, "http://127.0.0.1:9/hook")
    token, _ = await services.tenants.create_token(demo.LOCATION_ID, name="bench")
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    letters = random.Random(7)  # incompressible texts: PostgreSQL compresses repeated ones
    app = create_app(settings, store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        made = await client.post(
            "/calendars/events/block-slots",
            json={
                "locationId": demo.LOCATION_ID,
                "calendarId": demo.CALENDAR_ID,
                "startTime": "2030-01-01T09:00:00Z",
                "endTime": "2030-01-01T09:30:00Z",
                "rrule": f"RRULE:FREQ=DAILY;COUNT={instances + 1}",
            },
            headers=headers,
        )
        assert made.status_code == 201, made.text
        series_id = made.json()["id"]
        block = await _series(store, series_id)
        total_new = await _last_row_bytes(store)
        total_old = _legacy_bytes(block, None, 0)
        print(f"one series, {instances} instances edited, {len(TEXT_FIELDS)} text fields of "
              f"{text_chars:,} characters each, one subscription ({'SQLite' if store.is_sqlite else 'PostgreSQL'})")  # fmt: skip
        print(
            f"{'edits':>6} {'row now':>12} {'row before':>14} {'outbox now':>14} {'outbox before':>16}"
        )
        times = []
        for k in range(1, instances + 1):
            original = FIRST_MS + k * DAY_MS
            began = time.perf_counter()
            edited = await client.put(
                f"/calendars/events/block-slots/{series_id}_{original}_1800",
                json={"locationId": demo.LOCATION_ID, **_texts(letters, text_chars)},
                headers=headers,
            )
            times.append((time.perf_counter() - began) * 1000)
            assert edited.status_code == 201, edited.text
            row = await _last_row_bytes(store)
            old = _legacy_bytes(await _series(store, series_id), original, 0)
            total_new += row
            total_old += old
            if k in REPORT_AT or k == instances:
                print(f"{k:>6} {row:>12,} {old:>14,} {total_new:>14,} {total_old:>16,}")
        print(f"rows {instances + 1}: {total_new / (instances + 1):,.0f} B a row now, "
              f"{total_old / (instances + 1):,.0f} B before; the outbox table as stored: {await _table_bytes(store):,} B")  # fmt: skip
        early, late = times[: min(10, len(times))], times[-min(10, len(times)) :]
        print(f"instance edit p50: first {len(early)} {statistics.median(early):.1f} ms, "
              f"last {len(late)} {statistics.median(late):.1f} ms")  # fmt: skip
    await store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--text-chars", type=int, default=10_000)
    parser.add_argument(
        "--database-url", help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.instances, args.text_chars, args.database_url))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'outbox.db'}"
        asyncio.run(measure(args.instances, args.text_chars, url))


if __name__ == "__main__":
    main()

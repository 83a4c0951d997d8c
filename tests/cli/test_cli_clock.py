"""`slotblock clock`, the CLI twin of /_admin/clock: it changes the clock a server with the
admin API on follows, on the same database; bad input is one line and status 1."""

from __future__ import annotations

import asyncio
import json

import httpx

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.store import open_store
from tests.cli.test_cli import ok, run
from tests.toolkit.conftest import ADMIN, ADMIN_TOKEN

MONDAY = parse_iso("2026-01-05T09:00:00+01:00")


async def served_clock(database_url: str) -> dict[str, object]:
    store = open_store(database_url, pool_size=1)
    app = create_app(Settings(database_url=database_url, admin_token=ADMIN_TOKEN), store)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            shown: dict[str, object] = (await client.get("/_admin/clock", headers=ADMIN)).json()
            return shown
    finally:
        await store.dispose()


def test_the_twin_of_the_admin_clock(database_url: str) -> None:
    assert json.loads(ok(database_url, "clock", "show"))["controlled"] is False
    frozen = json.loads(ok(database_url, "clock", "set", "2026-01-05T09:00:00+01:00", "--freeze"))
    assert frozen["now"] == MONDAY and frozen["frozen"] is True
    assert frozen["nowIso"] == "2026-01-05T08:00:00.000Z"
    assert json.loads(ok(database_url, "clock", "advance", "90m"))["now"] == MONDAY + 5_400_000
    assert json.loads(ok(database_url, "clock", "advance", "1000"))["now"] == MONDAY + 5_401_000
    assert asyncio.run(served_clock(database_url))["now"] == MONDAY + 5_401_000
    assert json.loads(ok(database_url, "clock", "unfreeze"))["frozen"] is False
    assert json.loads(ok(database_url, "clock", "freeze"))["frozen"] is True
    assert json.loads(ok(database_url, "clock", "set", str(MONDAY)))["now"] == MONDAY
    assert json.loads(ok(database_url, "clock", "real"))["controlled"] is False
    assert asyncio.run(served_clock(database_url))["controlled"] is False


def test_bad_input_is_one_line(database_url: str) -> None:
    for args, message in (
        (("set", "monday"), "error: WHEN must be epoch milliseconds or an ISO 8601"),
        (("advance", "soon"), "error: AMOUNT must be milliseconds or a duration"),
    ):
        result = run(database_url, "clock", *args)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1

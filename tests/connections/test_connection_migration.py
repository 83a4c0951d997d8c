"""Migration 0013 on a database with connections made before it, on SQLite and PostgreSQL:
each URL moves out of sight (`url` redacted, the address kept apart), a CalDAV connection's
sync token is cleared (its next sync reads in full and fills the resource table), the next
sync with SLOTBLOCK_CONNECTION_KEY set seals the address and still reaches the calendar; the
downgrade gives an unsealed URL back."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from slotblock.config import Settings
from slotblock.core.model import Location
from slotblock.service.connection_sync import ConnectionSync
from slotblock.store import connections as connection_store
from slotblock.store import directory, open_store
from slotblock.store.migrate import alembic_config
from tests.conftest import BACKENDS, _pg_execute, pg_url
from tests.connections.calendar_server import hosting
from tests.connections.test_connections_api import HOLIDAY, KEY, document

SECRET_PATH = "/calendar/ical/ann/private-0123abcd/basic.ics"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (no schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_template")  # PostgreSQL answers (or the test skips or fails)
    name = f"slotblock_migration_{secrets.token_hex(4)}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    def run(connection: sa.Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async def main() -> None:
        store = open_store(url, pool_size=1)
        try:
            async with store.begin() as conn:
                await conn.run_sync(run)
        finally:
            await store.dispose()

    asyncio.run(main())


def connection_row(id_: str, url: str, kind: str) -> dict[str, Any]:
    return {
        "location_id": "loc1", "id": id_, "user_id": "ann", "url": url, "kind": kind,
        "source": kind, "busy_only": False, "username": None, "secret": None,
        "created_ms": 0, "next_sync_ms": 0, "failures": 0, "event_count": 0, "warnings": "[]",
        "sync_token": "token-1" if kind == "caldav" else None,
    }  # fmt: skip


def rows(url: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        store = open_store(url, pool_size=1)
        try:
            async with store.read() as conn:
                query = sa.text("SELECT * FROM calendar_connections ORDER BY id")
                return {row.id: row for row in await conn.execute(query)}
        finally:
            await store.dispose()

    return asyncio.run(main())


async def seeded(database_url: str, url: str) -> None:
    store = open_store(database_url, pool_size=1)
    try:
        async with store.begin() as conn:
            await directory.insert_location(conn, Location("loc1", "L", "Europe/Paris"), 0)
            await directory.insert_user(conn, "loc1", "ann", "Ann", "", 0)
            table = sa.table("calendar_connections", *map(sa.column, connection_row("", "", "")))
            await conn.execute(table.insert().values(connection_row("ical1", url, "ical")))
            dav = connection_row("dav1", "https://dav.example.com/cal/ann/", "caldav")
            await conn.execute(table.insert().values(dav))
    finally:
        await store.dispose()


async def synced(database_url: str) -> tuple[str | None, int]:
    settings = Settings(outbound_allow_networks="127.0.0.0/8", connection_key=KEY)
    store = open_store(database_url, pool_size=1)
    syncer = ConnectionSync(store, settings, lambda: 1_800_000_000_000)
    try:
        async with store.read() as conn:
            found = await connection_store.get(conn, "loc1", "ical1")
        assert found is not None
        done = await syncer.sync(found)
        return done.last_error, done.event_count
    finally:
        await syncer.aclose()
        await store.dispose()


def test_migration_0013_moves_the_url_out_of_sight(empty_url: str) -> None:
    db = empty_url
    migrate(db, "0012_connections")
    with hosting(document(HOLIDAY)) as host:
        url = host.url.removesuffix("/calendar.ics") + SECRET_PATH
        asyncio.run(seeded(db, url))
        migrate(db, "0013_connection_resources")
        before = rows(db)
        assert before["ical1"].url == host.url.removesuffix("calendar.ics") + "…"
        assert before["ical1"].address == url  # kept as it was: a migration has no key
        assert before["dav1"].url == "https://dav.example.com/…"
        assert before["dav1"].sync_token is None and before["ical1"].sync_token is None
        migrate(db, "0012_connections", down=True)
        assert rows(db)["ical1"].url == url
        migrate(db, "0013_connection_resources")
        assert asyncio.run(synced(db)) == (None, 1)
        assert host.paths == [SECRET_PATH]
    after = rows(db)["ical1"]
    assert after.address.startswith("gAAAAA") and "private" not in str(tuple(after))

"""Shared fixtures: one database per test, on SQLite and on PostgreSQL.

SQLite is migrated once into a template file that every test copies; PostgreSQL is migrated
once into a throwaway database (dropped at the end) that is emptied before every test. No
test sees another's data. PostgreSQL tests use the
server at SLOTBLOCK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
outside CI they skip when no server answers, in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.model import SCOPES
from slotblock.service.calendars import CalendarInput, GroupInput
from slotblock.service.container import Services, build_services
from slotblock.store import Store, open_store
from slotblock.store.migrate import upgrade
from slotblock.store.tables import metadata

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get(
    "SLOTBLOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# For `@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)`: PostgreSQL's case only.
POSTGRESQL = BACKENDS[1:]
# Tests that are not about rate limits (and the servers and CLI they start) are not limited;
# the rate-limit and fleet tests set their limits explicitly.
for _limit in ("RATE_LIMIT_BURST", "RATE_LIMIT_DAILY", "AUTH_FAILURE_LIMIT"):
    os.environ.setdefault(f"SLOTBLOCK_{_limit}", "0")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def pg_url(database: str) -> str:
    return sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_admin(database: str | None = None) -> asyncpg.Connection:
    url = sa.make_url(PG_URL)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=database or url.database or "postgres",
    )  # fmt: skip


async def _pg_execute(*statements: str, database: str | None = None) -> None:
    admin = await _pg_admin(database)
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


async def _migrate(url: str) -> None:
    store = open_store(url)
    await upgrade(store)
    await store.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database on the PostgreSQL server, for this session only."""
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL at {PG_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {PG_URL} ({exc})")
    name = f"slotblock_test_{secrets.token_hex(4)}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(pg_url(name)))
        yield name
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    name: str = request.getfixturevalue("pg_template")
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    asyncio.run(_pg_execute(f"TRUNCATE {tables} CASCADE", database=name))
    yield pg_url(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_size=2)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    the_store = open_store(settings.database_url, pool_size=2)
    yield the_store
    await the_store.dispose()


class Clock:
    """A settable clock, so that dateAdded/dateUpdated are predictable."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(store: Store, settings: Settings, clock: Clock) -> Services:
    return build_services(store, settings, clock)


@dataclass
class Tenant:
    """One location with a user, a group, a calendar in it, and an all-scopes token."""

    location_id: str
    timezone: str
    user_id: str
    group_id: str
    calendar_id: str
    token: str

    def headers(self, version: str = "2021-07-28") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Version": version}


async def make_tenant(services: Services, timezone: str = "Asia/Kolkata") -> Tenant:
    location = await services.tenants.create_location("Test location", timezone)
    user = await services.tenants.create_user(location.id, "Test user", "u@example.com")
    group = await services.calendars.add_group(location.id, GroupInput(name="Group"))
    calendar = await services.calendars.add_calendar(
        location.id,
        CalendarInput(name="Calendar", group_id=group.id, team_members=({"userId": user},)),
    )
    token, _ = await services.tenants.create_token(location.id, SCOPES, "test")
    return Tenant(location.id, timezone, user, group.id, calendar.id, token)


@pytest.fixture
async def tenant(services: Services) -> Tenant:
    return await make_tenant(services)


@pytest.fixture
async def other(services: Services) -> Tenant:
    """A second location, for tenancy tests."""
    return await make_tenant(services, "America/New_York")


@pytest.fixture
async def client(
    settings: Settings, store: Store, services: Services
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as the_client:
        yield the_client


@pytest.fixture
def make_tenant_fn(services: Services) -> Callable[..., Any]:
    return lambda tz="Asia/Kolkata": make_tenant(services, tz)


async def snapshot(store: Store) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row, as text, table by table: to prove a refused request changed nothing
    (but the admin request log, which records every request, refused or not)."""
    out = {}
    async with store.read() as conn:
        for table in metadata.sorted_tables:
            if table.name == "request_log":
                continue
            rows = await conn.execute(sa.select(table))
            out[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


async def seed_tenants(url: str, zones: tuple[str, ...] = ("Asia/Kolkata",)) -> list[Tenant]:
    """Tenants created through a short-lived store (for tests that serve the app elsewhere)."""
    the_store = open_store(url, pool_size=1)
    try:
        services = build_services(the_store, Settings(database_url=url))
        return [await make_tenant(services, tz) for tz in zones]
    finally:
        await the_store.dispose()


async def snapshot_url(url: str) -> dict[str, list[tuple[str, ...]]]:
    the_store = open_store(url, pool_size=1)
    try:
        return await snapshot(the_store)
    finally:
        await the_store.dispose()

"""Configuration mistakes in one line; PostgreSQL's sslmode as libpq users write it."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from slotblock.config import Settings
from slotblock.config_errors import check_consistency, describe, unknown_variables
from slotblock.store.engine import async_url, ssl_argument


def test_a_bad_value_is_one_line_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(max_window_days="abc")
    line = describe(caught.value)
    assert "\n" not in line
    assert line.startswith("SLOTBLOCK_MAX_WINDOW_DAYS=abc: ")
    assert "integer" in line


def test_unknown_variables_are_named() -> None:
    environ = {
        "SLOTBLOCK_DATABASE_URL": "sqlite:///x.db",
        "SLOTBLOCK_RATE_LIMIT_BRUST": "5",
        "SLOTBLOCK_TEST_POSTGRES_URL": "postgresql://",
        "PATH": "/bin",
    }
    assert unknown_variables(environ, Settings) == ["SLOTBLOCK_RATE_LIMIT_BRUST"]


def test_metrics_token_mode_needs_a_token() -> None:
    with pytest.raises(ValueError, match="SLOTBLOCK_METRICS_TOKEN"):
        check_consistency("token", None)
    check_consistency("token", "x")
    check_consistency("open", None)


@pytest.mark.parametrize(
    ("mode", "ssl"),
    [
        ("disable", False),
        ("prefer", "prefer"),
        ("require", "require"),
        ("verify-full", "verify-full"),
    ],
)
def test_sslmode_becomes_asyncpg_ssl(mode: str, ssl: object) -> None:
    url, args = ssl_argument(async_url(f"postgresql://u@h/db?sslmode={mode}&application_name=x"))
    assert args == {"ssl": ssl}
    assert "sslmode" not in url.query
    assert url.query["application_name"] == "x"


def test_unknown_sslmode_is_refused() -> None:
    with pytest.raises(ValueError, match="sslmode must be one of"):
        ssl_argument(async_url("postgresql://u@h/db?sslmode=sometimes"))


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["disable", "prefer"])
def test_sslmode_connects(pg_template: str, mode: str) -> None:
    """The test server has no TLS: modes that allow plain connections connect."""
    from slotblock.store import open_store
    from tests.conftest import pg_url

    async def ping() -> bool:
        store = open_store(f"{pg_url(pg_template)}?sslmode={mode}", pool_size=1)
        try:
            async with store.read() as conn:
                return (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
        finally:
            await store.dispose()

    assert asyncio.run(ping())

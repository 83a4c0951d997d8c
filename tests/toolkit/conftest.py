"""An app with the admin API on (SLOTBLOCK_ADMIN_TOKEN set), on each backend, and the
fixture document of the README."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.store import Store

ADMIN_TOKEN = "sba-test-admin-token-0001"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
README = Path(__file__).resolve().parents[2] / "README.md"
# The README's example: location, user, calendar, series, moved instance and tokens.
LOCATION, USER, CALENDAR, SERIES = (
    "clinicLocation01",
    "annUser01",
    "room1Calendar01",
    "focusSeries01",
)
CI_TOKEN, READER_TOKEN = "pit-clinic-ci-token-0001", "pit-clinic-reader-token-0001"
API = {"Authorization": f"Bearer {CI_TOKEN}", "Version": "2021-07-28"}
WEEK = (1767567600000, 1767999600000)  # 2026-01-05 .. 2026-01-10, Paris


def readme_block_after(lead: str) -> str:
    """The fenced code block right after the README paragraph that ends with `lead`."""
    text = README.read_text()
    found = re.search(re.escape(lead) + r"\n\n```\S*\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    assert found, f"the README has no code block after {lead!r}"
    return found.group(1)


def readme_file(name: str) -> str:
    """The block after "save this as `<name>`:" in the README."""
    return readme_block_after(f"ave this as `{name}`:")


def readme_fixture() -> str:
    return readme_file("fixture.yaml")


@pytest.fixture
def admin_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_size=2, admin_token=ADMIN_TOKEN)


@pytest.fixture
async def admin_client(admin_settings: Settings, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(admin_settings, store)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


async def load(client: httpx.AsyncClient, document: str | dict[str, object]) -> httpx.Response:
    if isinstance(document, str):
        return await client.post(
            "/_admin/fixtures",
            content=document,
            headers={**ADMIN, "Content-Type": "application/yaml"},
        )
    return await client.post("/_admin/fixtures", json=document, headers=ADMIN)

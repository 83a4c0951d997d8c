"""Clients on services built with changed settings, for the hardening tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.container import Services, build_services
from slotblock.store import Store


@asynccontextmanager
async def client_with(
    settings: Settings, store: Store, **changes: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """An in-process client whose app runs with `changes` applied to `settings`."""
    changed = settings.model_copy(update=changes)
    app = create_app(changed, store)
    services = build_services(store, changed)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client, services

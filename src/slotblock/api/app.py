"""The composition root: `create_app(settings)` wires store, services and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotblock import __version__
from slotblock.api import admin, blocked_slots, calendars, changes, errors, health, webhooks
from slotblock.api.block_slot import router as block_slot_router
from slotblock.api.free_busy import router as free_busy_router
from slotblock.api.free_slots import router as free_slots_router
from slotblock.api.limits import RequestLimits
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.service.container import build_services, wall_clock_ms
from slotblock.service.dispatcher import Dispatcher
from slotblock.store import Store, open_store


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The ASGI app. The database must already be migrated (`slotblock migrate`/`serve`)."""
    owned = store is None
    the_store = store or open_store(settings.database_url, pool_size=settings.pool_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Webhook deliveries are sent by every serving process (see service/dispatcher.py).
        dispatcher = None
        if settings.webhook_dispatch:
            dispatcher = Dispatcher(the_store, settings, wall_clock_ms, event_json)
            dispatcher.start()
        yield
        if dispatcher is not None:
            await dispatcher.stop()
        if owned:
            await the_store.dispose()

    app = FastAPI(
        title="slotblock — Calendars blocked-slots API",
        version=__version__,
        description="A self-hosted server of the LeadConnector Calendars blocked-slots API.",
        lifespan=lifespan,
    )
    app.state.services = build_services(the_store, settings)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(changes.router)  # before /calendars/blocked-slots… and /calendars/{id}
    app.include_router(webhooks.router)
    app.include_router(blocked_slots.router)
    # before calendars: /calendars/free-busy would otherwise match /calendars/{calendarId}
    app.include_router(free_busy_router)
    app.include_router(free_slots_router)
    app.include_router(block_slot_router)
    app.include_router(calendars.router)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    admin.install(app, the_store, settings)
    app.include_router(webhooks.admin_router)
    return app

"""The composition root: `create_app(settings)` wires store, services and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotblock import __version__
from slotblock.api import (
    admin,
    blocked_slots,
    calendars,
    docs,
    errors,
    health,
    lean_blocked_slots,
    metrics,
    rate_limits,
)
from slotblock.api.block_slot import router as block_slot_router
from slotblock.api.event_fragments import EventFragments
from slotblock.api.free_busy import router as free_busy_router
from slotblock.api.free_slots import router as free_slots_router
from slotblock.api.limits import RequestLimits
from slotblock.api.observability import Observability
from slotblock.config import Settings
from slotblock.service.container import build_services
from slotblock.store import Store, open_store


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The ASGI app. The database must already be migrated (`slotblock migrate`/`serve`)."""
    owned = store is None
    the_store = store or open_store(settings.database_url, pool_size=settings.pool_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await rate_limits.close(app)
        if owned:
            await the_store.dispose()

    app = FastAPI(
        title="slotblock — Calendars blocked-slots API",
        version=__version__,
        description="A self-hosted server of the LeadConnector Calendars blocked-slots API.",
        lifespan=lifespan,
        docs_url=None,  # served offline by api/docs.py
        redoc_url=None,
    )
    app.state.services = build_services(the_store, settings)
    app.state.event_fragments = EventFragments(settings.fragment_cache_bytes)
    errors.install(app)
    app.include_router(health.router)
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
    admin.install(app, settings)
    rate_limits.install(app, settings)
    metrics.install(app, settings)
    docs.install(app)
    app.add_middleware(Observability, access_log=settings.access_log, sample=metrics.sampler(app))
    if settings.lean_query_route:
        lean_blocked_slots.install(app)
    return app

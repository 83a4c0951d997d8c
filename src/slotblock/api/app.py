"""The composition root: `create_app(settings)` wires store, services and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotblock import __version__
from slotblock.api import blocked_slots, calendars, errors, health
from slotblock.api.body_timeout import BodyTimeout
from slotblock.api.failures import Failures
from slotblock.api.limits import RequestLimits
from slotblock.api.query_params import SingleQueryValues
from slotblock.api.security_headers import SecurityHeaders
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
        if owned:
            await the_store.dispose()

    app = FastAPI(
        title="slotblock — Calendars blocked-slots API",
        version=__version__,
        description="A self-hosted server of the LeadConnector Calendars blocked-slots API.",
        lifespan=lifespan,
        # No redirect to the slash-less twin: Starlette builds its Location from the
        # client's Host header. Routes that need both spellings declare both.
        redirect_slashes=False,
    )
    app.state.services = build_services(the_store, settings)
    errors.install(app, settings.retry_after_seconds)
    app.include_router(health.router)
    app.include_router(blocked_slots.router)
    app.include_router(calendars.router)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout_seconds)
    app.add_middleware(Failures)
    app.add_middleware(SingleQueryValues)
    app.add_middleware(SecurityHeaders)
    return app

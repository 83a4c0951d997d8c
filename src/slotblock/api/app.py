"""The composition root: `create_app(settings)` wires store, services and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotblock import __version__
from slotblock.api import errors, metrics, rate_limits
from slotblock.api.event_fragments import EventFragments
from slotblock.api.middleware import security_headers
from slotblock.api.middleware.body_timeout import BodyTimeout
from slotblock.api.middleware.failures import Failures
from slotblock.api.middleware.observability import Observability
from slotblock.api.middleware.single_query_values import SingleQueryValues
from slotblock.api.middleware.size_limits import RequestLimits
from slotblock.api.routes import (
    block_slot_create_lean,
    blocked_slots,
    blocked_slots_lean,
    calendars,
    changes,
    connections,
    docs,
    feeds,
    health,
    locations,
    oauth,
    web_ui,
    webhooks,
)
from slotblock.api.routes.block_slot import router as block_slot_router
from slotblock.api.routes.free_busy import router as free_busy_router
from slotblock.api.routes.free_slots import router as free_slots_router
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.core.faults import ADMIN_PREFIX
from slotblock.service.clock import StoredClock
from slotblock.service.container import build_services
from slotblock.service.workers.connection_syncer import ConnectionSyncer
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store, Timeouts, is_database_outage, open_store
from slotblock.toolkit.api import clock as admin_clock
from slotblock.toolkit.api import locations as admin_locations
from slotblock.toolkit.api import oauth as admin_oauth
from slotblock.toolkit.api import routes as admin
from slotblock.toolkit.api import webhooks as admin_webhooks


def list_parameters(path: str) -> frozenset[str]:
    """The query parameters that are lists by contract, and so may repeat, on `path`."""
    if path == "/calendars/free-busy":
        return frozenset({"calendarId", "userId", "groupId"})
    if path.startswith("/calendars/") and path.endswith("/free-slots"):
        return frozenset({"userIds"})
    return frozenset()


def serving_timeouts(settings: Settings) -> Timeouts:
    """How long a serving process waits for its database before answering 503."""
    return Timeouts(
        connect=settings.database_connect_timeout_seconds,
        statement=settings.database_statement_timeout_seconds,
        pool=settings.database_pool_timeout_seconds,
    )


# The API's routes, in matching order: a fixed path before a parameter that would match it.
API_ROUTERS = (
    health.router,
    oauth.router,
    changes.router,  # before /calendars/blocked-slots… and /calendars/{id}
    webhooks.router,
    feeds.router,  # before /calendars/{calendarId}
    connections.router,  # before /calendars/{calendarId}
    blocked_slots.router,
    free_busy_router,  # before calendars: /calendars/free-busy would match /calendars/{id}
    free_slots_router,
    block_slot_router,
    calendars.router,
    locations.router,
)


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The ASGI app. The database must already be migrated (`slotblock migrate`/`serve`)."""
    owned = store is None
    the_store = store or open_store(
        settings.database_url, pool_size=settings.pool_size, timeouts=serving_timeouts(settings)
    )
    clock = StoredClock(the_store)  # every "now" of the services (service/clock.py)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Every serving process sends webhook deliveries (service/workers/webhook_dispatcher.py).
        dispatcher = None
        if settings.webhook_dispatch:
            dispatcher = Dispatcher(the_store, settings, clock, event_json)
            app.state.dispatcher = dispatcher  # its tally goes into /metrics
            dispatcher.start()
        # …and syncs connected calendars (service/workers/connection_syncer.py).
        syncer = None
        if settings.connection_sync:
            syncer = ConnectionSyncer(app.state.services.connections.syncer)
            syncer.start()
        yield
        await rate_limits.close(app)
        if dispatcher is not None:
            await dispatcher.stop()
        if syncer is not None:
            await syncer.stop()
        if owned:
            await the_store.dispose()

    app = FastAPI(
        title="slotblock — Calendars blocked-slots API",
        version=__version__,
        description="A self-hosted server of the LeadConnector Calendars blocked-slots API.",
        lifespan=lifespan,
        docs_url=None,  # served offline by api/routes/docs.py, as is /openapi.json
        openapi_url=None,
        redoc_url=None,
        # No redirect to the slash-less twin: Starlette builds its Location from the
        # client's Host header. Routes that need both spellings declare both.
        redirect_slashes=False,
    )
    app.state.clock = clock
    app.state.services = build_services(the_store, settings, clock)
    app.state.event_fragments = EventFragments(settings.fragment_cache_bytes)
    errors.install(app, settings.retry_after_seconds)
    for router in API_ROUTERS:
        app.include_router(router)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    control = admin.install(app, settings)
    admin_routers = (
        admin_webhooks.router,
        admin_clock.router,
        admin_oauth.router,
        admin_locations.router,
    )
    for router in admin_routers:
        app.include_router(router)
    rate_limits.install(app, settings)
    metrics.install(app, settings)
    docs.install(app, hidden_while_off=(ADMIN_PREFIX + "/", control.gate.enabled))
    web_ui.install(app, settings.web_ui)
    app.add_middleware(
        BodyTimeout,
        seconds=settings.body_timeout_seconds,
        deadline_seconds=settings.body_deadline_seconds,
    )
    app.add_middleware(
        Failures, outage=is_database_outage, retry_after_seconds=settings.retry_after_seconds
    )
    app.add_middleware(SingleQueryValues, lists=list_parameters)
    # Outermost: every answer, the refusals of the middleware above included, carries a
    # request id and the standard headers, and is logged and counted.
    app.add_middleware(
        Observability,
        access_log=settings.access_log,
        sample=metrics.sampler(app),
        headers=security_headers.RAW,
    )
    if settings.lean_query_route:
        blocked_slots_lean.install(
            app, settings.retry_after_seconds, settings.parsed_query_cache_bytes
        )
    if settings.lean_create_route:
        block_slot_create_lean.install(app)
    return app

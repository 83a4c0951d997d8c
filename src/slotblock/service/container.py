"""All use cases over one store, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slotblock.config import Settings
from slotblock.service.auth import Authenticator
from slotblock.service.availability import AvailabilityService
from slotblock.service.blocks import BlockService
from slotblock.service.caches.answers import AnswerCache
from slotblock.service.calendars import CalendarService
from slotblock.service.changes import ChangeFeed
from slotblock.service.clock import StoredClock, wall_clock_ms
from slotblock.service.connections import ConnectionService
from slotblock.service.feeds import FeedService
from slotblock.service.idempotency import IdempotentCreates
from slotblock.service.oauth import OAuthService
from slotblock.service.tenants import TenantService
from slotblock.service.webhooks import WebhookService
from slotblock.store import Store

__all__ = ["Services", "build_services", "wall_clock_ms"]


@dataclass(frozen=True)
class Services:
    store: Store
    blocks: BlockService
    calendars: CalendarService
    tenants: TenantService
    auth: Authenticator
    oauth: OAuthService
    availability: AvailabilityService
    changes: ChangeFeed
    idempotent: IdempotentCreates
    webhooks: WebhookService
    connections: ConnectionService
    answers: AnswerCache
    feeds: FeedService
    clock: Callable[[], int]


def build_services(
    store: Store, settings: Settings, clock: Callable[[], int] | None = None
) -> Services:
    """Every service over `store`, all on one clock (by default the stored clock, which is
    real time until the control plane makes it follow what a test set)."""
    clock = clock or StoredClock(store)
    blocks = BlockService(store, settings, clock)
    return Services(
        store=store,
        blocks=blocks,
        calendars=CalendarService(store, clock),
        tenants=TenantService(store, clock),
        auth=Authenticator(store, settings.token_cache_seconds, now_ms=clock),
        oauth=OAuthService(store, settings, clock),
        availability=AvailabilityService(store, settings, clock, blocks),
        changes=ChangeFeed(store, settings, clock),
        idempotent=IdempotentCreates(store, blocks, settings, clock),
        webhooks=WebhookService(store, settings, clock),
        connections=ConnectionService(store, settings, clock),
        answers=AnswerCache(blocks, settings.answer_cache_bytes),
        feeds=FeedService(store, settings, clock, blocks),
        clock=clock,
    )

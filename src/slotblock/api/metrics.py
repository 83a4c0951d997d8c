"""Prometheus metrics and `GET /metrics`.

With several worker processes (`slotblock serve --workers N`) prometheus-client runs in its
multiprocess mode: `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the
workers start, each worker writes its values there, and a scrape of any worker adds them up.
"""

from __future__ import annotations

import os
import platform
import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response
from starlette.types import Scope

from slotblock import __version__
from slotblock.api.errors import error_response
from slotblock.config import Settings
from slotblock.core.bounded_cache import BoundedCache
from slotblock.core.errors import Unavailable
from slotblock.service.workers.webhook_dispatcher import Tally

REQUESTS = Counter(
    "slotblock_requests_total",
    "Answered requests, by operation (route template when it has no operationId) and status.",
    ["operation", "method", "status"],
)
LATENCY = Histogram(
    "slotblock_request_duration_seconds",
    "Time from the request to the end of the answer, by operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter(
    "slotblock_rate_limited_total",
    "Requests refused with 429, by limit (token: burst or daily; address: failed auth).",
    ["limit"],
)
POOL_IN_USE = Gauge(
    "slotblock_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes).",
    multiprocess_mode="livesum",
)
CACHE_HITS = Counter(
    "slotblock_expansion_cache_hits_total",
    "Recurring-series expansions served from the cache (also slotblock_cache_hits_total"
    '{cache="expansion"}).',
)
CACHE_MISSES = Counter(
    "slotblock_expansion_cache_misses_total",
    'Recurring-series expansions computed (also slotblock_cache_misses_total{cache="expansion"}).',
)
CACHE_SIZE = Gauge(
    "slotblock_expansion_cache_instances",
    "Series-weeks of instances held by the expansion caches (summed over live processes).",
    multiprocess_mode="livesum",
)
CACHE_BYTES = Gauge(
    "slotblock_cache_bytes",
    "Bytes held by each cache, as it accounts them (summed over live processes).",
    ["cache"],
    multiprocess_mode="livesum",
)
BUILD_INFO = Gauge(
    "slotblock_build_info",
    "Always 1: the running slotblock version and Python version, in the labels.",
    ["version", "python"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__, platform.python_version()).set(1)
CACHE_ENTRIES = Gauge(
    "slotblock_cache_entries",
    "Entries held by each cache (summed over live processes).",
    ["cache"],
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = {
    "hits": Counter("slotblock_cache_hits", "Lookups a cache answered, by cache.", ["cache"]),
    "misses": Counter(
        "slotblock_cache_misses", "Lookups a cache did not answer, by cache.", ["cache"]
    ),
    "evictions": Counter(
        "slotblock_cache_evictions",
        "Entries a cache dropped to stay within its bytes (least recently used first).",
        ["cache"],
    ),
}

WEBHOOK_ATTEMPTS = Counter(
    "slotblock_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered, retried (to be tried again) or dead "
    "(dead-lettered).",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "slotblock_webhook_attempt_seconds",
    "Time one delivery attempt took, from the request to the receiver's answer or failure.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
WEBHOOK_QUEUED_SECONDS = Histogram(
    "slotblock_webhook_delivery_latency_seconds",
    "Time from a change to its delivery's success, retries included (by the service's clock).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0),
)
WEBHOOK_WAITING = Gauge(
    "slotblock_webhook_deliveries",
    "Deliveries in the outbox by state: pending (to be sent or retried) and dead "
    "(dead-lettered), every location's; read from the database at each scrape.",
    ["state"],
    multiprocess_mode="mostrecent",
)
OUTCOMES = ("delivered", "retried", "dead")

# Every cache of service/caches/__init__.py's table, by its metrics label, and the lean
# route's parsed queries (api/routes/blocked_slots_lean.py).
CACHES = ("expansion", "fragments", "answers", "blocks", "feeds", "parsed_queries")


def caches(app: FastAPI) -> dict[str, BoundedCache[Any]]:
    """The app's caches by label (no `blocks` without direct reads, no `parsed_queries`
    without the lean query route)."""
    services = app.state.services
    found: dict[str, BoundedCache[Any]] = {
        "expansion": services.blocks.expansion.cache,
        "fragments": app.state.event_fragments.cache,
        "answers": services.answers.cache,
        "feeds": services.feeds.documents.cache,
    }
    if services.blocks.reader is not None:
        found["blocks"] = services.blocks.reader.blocks
    parsed = getattr(app.state, "parsed_queries", None)
    if parsed is not None:
        found["parsed_queries"] = parsed.cache
    return found


def exposition() -> bytes:
    """The text format of every metric (of every worker, in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        # process_* (CPU, memory, open files, start time) of the worker that answers
        ProcessCollector(registry=registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def install(app: FastAPI, settings: Settings) -> None:
    """`GET /metrics`, open, off, or behind `Authorization: Bearer <metrics_token>`."""
    if settings.metrics == "off":
        return
    expected = f"Bearer {settings.metrics_token}" if settings.metrics == "token" else None
    app.state.metrics_expected = expected
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


async def metrics(request: Request) -> Response:
    """The exposition (a module-level endpoint: one that closes over its app would keep
    every app ever made alive in FastAPI's caches of endpoint callables)."""
    expected: str | None = request.app.state.metrics_expected
    if expected is not None:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            return error_response(401, "a valid metrics token is required")
    await sample_outbox(request.app)
    sampler(request.app).sample()
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


async def sample_outbox(app: FastAPI) -> None:
    """The outbox's pending and dead deliveries (one grouped count); left as they were while
    the database is away, so that /metrics still answers."""
    try:
        waiting = await app.state.services.webhooks.waiting()
    except Unavailable:
        return
    for state, count in waiting.items():
        WEBHOOK_WAITING.labels(state).set(count)


SAMPLE_SECONDS = 1.0  # in multiprocess mode, how stale another worker's gauges may be


class Sampler:
    """The pool in use and the caches, into the metrics: at every scrape of this process,
    and after a request at most once a second (so that a scrape of another worker, in
    multiprocess mode, sees this one's values at most that old). Counters move by what the
    caches counted since the last sample."""

    def __init__(self, app: FastAPI, every: float = SAMPLE_SECONDS) -> None:
        self.app = app
        self.every = every
        self.last = -every
        self.seen: dict[tuple[str, str], int] = {}
        # bound once: labelling costs more than setting
        self.cache_bytes = {name: CACHE_BYTES.labels(name) for name in CACHES}
        self.cache_entries = {name: CACHE_ENTRIES.labels(name) for name in CACHES}
        self.attempts = {outcome: WEBHOOK_ATTEMPTS.labels(outcome) for outcome in OUTCOMES}
        self.lookups = {
            (name, kind): counter.labels(name)
            for name in CACHES
            for kind, counter in CACHE_LOOKUPS.items()
        }

    def __call__(self, _: Scope) -> None:
        """After a request: sample unless this process sampled less than a second ago."""
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.sample()

    def sample(self) -> None:
        services = self.app.state.services
        checkedout = getattr(services.store.engine.pool, "checkedout", None)
        if checkedout is not None:
            POOL_IN_USE.set(checkedout())
        for name, cache in caches(self.app).items():
            stats = cache.stats()
            self.cache_bytes[name].set(stats.bytes)
            self.cache_entries[name].set(stats.entries)
            for kind in CACHE_LOOKUPS:
                self._count(name, kind, getattr(stats, kind))
            if name == "expansion":
                CACHE_SIZE.set(stats.entries)
                CACHE_HITS.inc(self._delta("old", "hits", stats.hits))
                CACHE_MISSES.inc(self._delta("old", "misses", stats.misses))
        dispatcher = getattr(self.app.state, "dispatcher", None)
        if dispatcher is not None:
            self.sample_dispatcher(dispatcher.tally)

    def sample_dispatcher(self, tally: Tally) -> None:
        for outcome in OUTCOMES:
            total = getattr(tally, outcome)
            self.attempts[outcome].inc(self._delta("webhooks", outcome, total))
        for kept, histogram in (
            (tally.attempt_seconds, WEBHOOK_ATTEMPT_SECONDS),
            (tally.queued_seconds, WEBHOOK_QUEUED_SECONDS),
        ):
            while kept:
                histogram.observe(kept.popleft())

    def _count(self, name: str, kind: str, total: int) -> None:
        self.lookups[name, kind].inc(self._delta(name, kind, total))

    def _delta(self, name: str, kind: str, total: int) -> int:
        before = self.seen.get((name, kind), 0)
        self.seen[name, kind] = total
        return max(total - before, 0)


def sampler(app: FastAPI) -> Sampler:
    """The app's sampler (one per app), made on first use."""
    found = getattr(app.state, "metrics_sampler", None)
    if found is None:
        found = app.state.metrics_sampler = Sampler(app)
    return found

"""The webhook dispatcher: delivers the outbox, at least once, in order per block.

It runs inside `serve` (one per process). Several processes and nodes may run one each:
a delivery is claimed under a lease (store.webhooks), so two dispatchers never send the same
attempt, and a dispatcher that dies mid-delivery leaves its rows to be taken again when the
lease ends. On SQLite one dispatcher per database file runs (a lock file next to it).

A delivery that times out, cannot connect, or gets 429 or 5xx is retried with exponential
backoff and jitter until the retry horizon, then dead-lettered with its last error; any
other answer but 2xx dead-letters it at once, and so does a destination the outbound policy
refuses (service/outbound.py: checked on the addresses the receiver's name resolves to at
each attempt). 2xx is success. Of an answer, at most `webhook_answer_bytes` are read. Each
attempt is kept (time, duration, status or error, signature sent) in the transaction that
records its result, the last `webhook_attempts_kept` of a delivery only.

Every few minutes the dispatcher also deletes delivered and dead-lettered rows past their
retention, `webhook_prune_batch` rows per transaction, so that the outbox stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.errors import Unavailable
from slotblock.service.changes import ChangeFeed
from slotblock.service.clock import StoredClock
from slotblock.service.outbound import (
    DestinationRefused,
    OutboundClient,
    OutboundPolicy,
    Unreachable,
)
from slotblock.service.webhook_events import RenderEvent, UnknownVersion, payload
from slotblock.service.webhooks import SIGNATURE_HEADER, Signer
from slotblock.store import Store
from slotblock.store import idempotency as key_store
from slotblock.store import tokens as token_store
from slotblock.store import webhooks as webhook_store
from slotblock.store.webhooks import DEAD, DELIVERED, Attempt, Delivery

log = logging.getLogger("slotblock.webhooks")
_PRUNE_EVERY_S = 300.0
_ERROR_CHARS = 500  # of an attempt's error, kept
DAY_MS = 86_400_000


@dataclass
class Tally:
    """What this process's dispatcher did since it started, for the metrics: attempts by
    outcome, and the latest attempts' durations and queue delays (seconds, drained by each
    sample; at most `_KEPT` of each between two samples)."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    attempt_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=_KEPT))
    queued_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=_KEPT))


_KEPT = 10_000


class RetryableFailure(Exception):
    """Worth trying again later: a timeout, no connection, 429 or 5xx."""


@dataclass
class _Outcome:
    """What one attempt did, filled in as it goes (kept in `webhook_attempts`)."""

    at_ms: int
    started: float  # time.monotonic()
    signature: str | None = None
    status: int | None = None
    error: str | None = None
    elapsed_ms: int = 0

    def done(self, error: str | None) -> None:
        self.elapsed_ms = round((time.monotonic() - self.started) * 1000)
        self.error = None if error is None else error[:_ERROR_CHARS]

    def attempt(self, number: int) -> Attempt:
        return Attempt(number, self.at_ms, self.elapsed_ms, self.status, self.error, self.signature)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], int],
        render: RenderEvent,
        *,
        outbound: OutboundClient | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.render = render
        self.signer = Signer(settings.webhook_signing_key)
        self.outbound = outbound or OutboundClient(
            OutboundPolicy.from_settings(settings), timeout_s=settings.webhook_timeout_seconds
        )
        self.jitter = jitter
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock: IO[bytes] | None = None
        self._unreachable = False  # the database was away at the last round
        self.tally = Tally()

    @property
    def lease_ms(self) -> int:
        return int(self.settings.webhook_timeout_seconds * 2000) + 1000

    # --- one round -----------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the due deliveries and send them (concurrently: at most one per block and
        subscription is due at a time); how many were attempted."""
        if isinstance(self.clock, StoredClock):  # the time a test set, from any node
            await self.clock.refresh()
        async with self.store.begin() as conn:
            due = await webhook_store.claim_due(
                conn, self.clock(), self.lease_ms, self.settings.webhook_batch
            )
        await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    async def _deliver(self, delivery: Delivery) -> None:
        outcome = _Outcome(self.clock(), time.monotonic())
        state: str | None  # None: to be retried
        error: str | None
        try:
            await self._send(delivery, outcome)
        except RetryableFailure as exc:
            state, error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - any other answer is final: dead-letter it
            state, error = DEAD, str(exc) or type(exc).__name__
        else:
            state, error = DELIVERED, None
        outcome.done(error)
        self.tally.attempt_seconds.append(outcome.elapsed_ms / 1000)
        if state is None:
            await self._failed(delivery, error or "", outcome)
        else:
            await self._finish(delivery, state, error, outcome)

    async def _send(self, delivery: Delivery, outcome: _Outcome) -> None:
        try:
            event = payload(
                delivery.event_type, delivery.event, delivery.id, delivery.webhook_id, self.render
            )
        except UnknownVersion as exc:  # queued by a newer node: one of those will send it
            raise RetryableFailure(str(exc)) from exc
        body = orjson.dumps(event)
        signed = self.signer.headers(body)
        outcome.signature = signed.get(SIGNATURE_HEADER)
        headers = {"content-type": "application/json", **signed}
        try:
            # One attempt never outlives its lease, however slowly the receiver answers.
            answer = await self.outbound.request(
                "POST",
                delivery.url,
                content=body,
                headers=headers,
                read_bytes=self.settings.webhook_answer_bytes,
            )
        except Unreachable as exc:  # no address, timeouts, refusals, resets
            raise RetryableFailure(str(exc)) from exc
        except DestinationRefused as exc:
            raise ValueError(f"destination refused: {exc}") from exc
        outcome.status = answer.status
        if answer.status == 429 or answer.status >= 500:
            raise RetryableFailure(f"HTTP {answer.status}")
        if not 200 <= answer.status < 300:
            raise ValueError(f"HTTP {answer.status} (not retried)")

    async def _failed(self, delivery: Delivery, error: str, outcome: _Outcome) -> None:
        now = self.clock()
        s = self.settings
        delay = min(
            s.webhook_retry_max_seconds, s.webhook_retry_base_seconds * 2**delivery.attempts
        )
        at = now + int(delay * 1000 * (0.5 + self.jitter() / 2))
        if at - delivery.retried_from_ms > s.webhook_retry_horizon_seconds * 1000:
            await self._finish(delivery, DEAD, error, outcome)
            return
        async with self.store.begin() as conn:
            number = await webhook_store.retry_later(conn, delivery.id, at, error)
            if number is not None:  # else the delivery is gone meanwhile
                await self._record(conn, delivery, outcome.attempt(number))
        self.tally.retried += 1

    async def _finish(
        self, delivery: Delivery, state: str, error: str | None, outcome: _Outcome
    ) -> None:
        if state == DEAD:
            log.warning("webhook delivery %s dead-lettered: %s", delivery.id, error)
        async with self.store.begin() as conn:
            number = await webhook_store.finish(conn, delivery.id, state, self.clock(), error)
            if number is not None:  # else the delivery is gone meanwhile
                await self._record(conn, delivery, outcome.attempt(number))
        if state == DEAD:
            self.tally.dead += 1
        else:
            self.tally.delivered += 1
            waited = max(self.clock() - delivery.created_ms, 0) / 1000
            self.tally.queued_seconds.append(waited)

    async def _record(self, conn: AsyncConnection, delivery: Delivery, attempt: Attempt) -> None:
        kept = self.settings.webhook_attempts_kept
        if kept:
            await webhook_store.record_attempt(conn, delivery, attempt, kept)

    async def prune(self) -> None:
        """Forget delivered and dead-lettered rows past their retention, Idempotency-Key
        answers past their keep period, changes past the tombstone retention, and tokens
        past their expiry."""
        now = self.clock()
        s = self.settings
        await self.prune_outbox(DELIVERED, now - int(s.webhook_delivered_retention_days * DAY_MS))
        await self.prune_outbox(DEAD, now - int(s.webhook_dead_retention_days * DAY_MS))
        async with self.store.begin() as conn:
            await key_store.prune_answers(conn, now - int(s.idempotency_hours * 3_600_000))
            await token_store.delete_expired(conn, now)
        await ChangeFeed(self.store, self.settings, self.clock).prune()

    async def prune_outbox(self, state: str, before_ms: int) -> int:
        """Delete the rows in `state` finished before `before_ms`, a bounded batch per
        transaction (no long lock, no huge statement); how many were deleted."""
        batch = self.settings.webhook_prune_batch
        deleted = 0
        while True:
            async with self.store.begin() as conn:
                count = await webhook_store.prune_finished(conn, state, before_ms, batch)
            deleted += count
            if count < batch:
                return deleted

    # --- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotblock-webhook-dispatcher")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.outbound.aclose()
        if self._lock is not None:
            self._lock.close()

    async def _run(self) -> None:
        pruned = 0.0
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            busy = 0
            try:
                if self._may_dispatch():
                    busy = await self.run_once()
                    if loop.time() - pruned > _PRUNE_EVERY_S:
                        pruned = loop.time()
                        await self.prune()
                self._reachable()
            except Unavailable as exc:  # the database is away: keep polling, say it once
                self._away(exc)
            except Exception:  # a bug: log it, and keep going
                log.exception("webhook dispatcher round failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.webhook_poll_seconds)

    def _away(self, exc: Unavailable) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning("webhook dispatcher paused: %s", exc)

    def _reachable(self) -> None:
        if self._unreachable:
            self._unreachable = False
            log.warning("webhook dispatcher resumed: the database answers again")

    def _may_dispatch(self) -> bool:
        """On SQLite, whether this process holds the database file's dispatcher lock."""
        if not self.store.is_sqlite or self._lock is not None:
            return True
        database = self.store.url.database
        if not database or database == ":memory:":
            return True
        handle = Path(f"{database}.dispatcher.lock").open("ab")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock = handle
        return True

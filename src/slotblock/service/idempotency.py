"""Creates with an `Idempotency-Key`: the same key and body, within the keep period, gives
the first answer again (same id, status and body) and no second block; the same key with
another body is refused (422). Keys belong to the token that sent them.

The answer is stored in the create's own transaction, so a key and its block commit
together: the key holds across restarts and nodes, and two concurrent requests with one key
make one block (the second insert of the key fails, its transaction rolls back, and the
stored answer is returned).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.errors import AlreadyExists, InvalidInput, Unprocessable
from slotblock.core.etags import etag
from slotblock.core.model import EVENTS_WRITE, Event, Principal
from slotblock.service.auth import check_location, require_scope
from slotblock.service.blocks import BlockInput, BlockService
from slotblock.store import Store
from slotblock.store import idempotency as key_store
from slotblock.store.idempotency import Answer

MAX_KEY_LENGTH = 255
REUSED = "Idempotency-Key was already used with a different request body"
CREATED = 201
FIRST_TAG = '"1"'  # every block is created at version 1


@dataclass(frozen=True)
class CreateAnswer:
    status: int
    body: Any
    etag: str


def fingerprint(body: Any) -> str:
    """The same for the same JSON body, whatever its key order or spacing."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class IdempotentCreates:
    def __init__(
        self, store: Store, blocks: BlockService, settings: Settings, clock: Callable[[], int]
    ) -> None:
        self.store = store
        self.blocks = blocks
        self.settings = settings
        self.clock = clock

    @property
    def keep_ms(self) -> int:
        return int(self.settings.idempotency_hours * 3_600_000)

    async def create(
        self,
        principal: Principal,
        key: str,
        body: BlockInput,
        body_fingerprint: str,
        render: Callable[[Event], Any],
    ) -> CreateAnswer:
        require_scope(principal, EVENTS_WRITE)
        check_location(principal, body.location_id)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        where = (principal.location.id, principal.token_id, key)
        stale = False
        async with self.store.read() as conn:
            found = await key_store.get_answer(conn, *where)
        if found is not None:
            if self.clock() - found.created_ms <= self.keep_ms:
                return _replay(found, body_fingerprint)
            stale = True

        async def save(conn: AsyncConnection, event: Event) -> None:
            if stale:
                await key_store.forget_answer(conn, *where)
            answer = Answer(
                fingerprint=body_fingerprint,
                status=CREATED,
                body=render(event),
                created_ms=self.clock(),
            )
            await key_store.insert_answer(conn, *where, answer)

        try:
            event = await self.blocks.create(principal, body, on_created=save)
        except AlreadyExists:  # a concurrent request with the key committed first
            async with self.store.read() as conn:
                found = await key_store.get_answer(conn, *where)
            if found is None:
                raise
            return _replay(found, body_fingerprint)
        return CreateAnswer(CREATED, render(event), etag(event.block))

    async def prune(self) -> int:
        async with self.store.begin() as conn:
            return await key_store.prune_answers(conn, self.clock() - self.keep_ms)


def _replay(found: Answer, body_fingerprint: str) -> CreateAnswer:
    if found.fingerprint != body_fingerprint:
        raise Unprocessable(REUSED)
    return CreateAnswer(found.status, found.body, FIRST_TAG)

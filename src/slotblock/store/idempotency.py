"""Queries of the Idempotency-Key records: the first answer of a create, per token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store.integrity import writing
from slotblock.store.tables import idempotency_keys as keys

KEY_TAKEN = "an answer for that Idempotency-Key is stored already"


@dataclass(frozen=True)
class Answer:
    fingerprint: str
    status: int
    body: Any
    created_ms: int


def _where(location_id: str, token_id: str, key: str) -> list[Any]:
    return [keys.c.location_id == location_id, keys.c.token_id == token_id, keys.c.key == key]


async def get_answer(
    conn: AsyncConnection, location_id: str, token_id: str, key: str
) -> Answer | None:
    query = sa.select(keys.c.fingerprint, keys.c.status, keys.c.body, keys.c.created_ms).where(
        *_where(location_id, token_id, key)
    )
    row = (await conn.execute(query)).one_or_none()
    return (
        Answer(
            fingerprint=row.fingerprint, status=row.status, body=row.body, created_ms=row.created_ms
        )
        if row
        else None
    )


async def forget_answer(conn: AsyncConnection, location_id: str, token_id: str, key: str) -> None:
    await conn.execute(keys.delete().where(*_where(location_id, token_id, key)))


async def insert_answer(
    conn: AsyncConnection, location_id: str, token_id: str, key: str, answer: Answer
) -> None:
    """Raises AlreadyExists when another request stored an answer for the key first."""
    with writing(duplicate=KEY_TAKEN):
        await conn.execute(
            keys.insert().values(
                location_id=location_id,
                token_id=token_id,
                key=key,
                fingerprint=answer.fingerprint,
                status=answer.status,
                body=answer.body,
                created_ms=answer.created_ms,
            )
        )


async def prune_answers(conn: AsyncConnection, before_ms: int) -> int:
    result = await conn.execute(keys.delete().where(keys.c.created_ms < before_ms))
    return int(result.rowcount)

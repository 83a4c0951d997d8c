"""The last requests answered, for GET /_admin/requests: stored with the data, so that every
worker and node of one database logs into, and lists, the same log. Bounded in entries
(`request_log_size`; 0: nothing is written) and each body in bytes (`request_log_body_bytes`).
Written only while the admin API is on (the control plane's middleware calls `add`). A token
appears only by its id; the token itself is never kept. Times are real time (epoch ms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slotblock.store import Store
from slotblock.toolkit.store import request_log as log_store


@dataclass(frozen=True)
class RequestRecord:
    time_ms: int
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    request_id: str
    token_id: str | None
    body: bytes  # as received, cut at the body limit
    body_size: int  # the whole body's size
    error: str | list[str] | None  # the error body's message, when there was one

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "requestId": self.request_id,
            "tokenId": self.token_id,
            "body": self.body.decode("utf-8", "replace"),
            "bodySize": self.body_size,
            "bodyTruncated": len(self.body) < self.body_size,
            "error": self.error,
        }

    def row(self) -> dict[str, Any]:
        return {
            "time_ms": self.time_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "request_id": self.request_id,
            "token_id": self.token_id,
            "body": self.body,
            "body_size": self.body_size,
            "error": self.error,
        }


def _record(row: Any) -> RequestRecord:
    return RequestRecord(
        time_ms=row.time_ms,
        method=row.method,
        path=row.path,
        query=row.query,
        status=row.status,
        duration_ms=row.duration_ms,
        request_id=row.request_id,
        token_id=row.token_id,
        body=bytes(row.body),
        body_size=row.body_size,
        error=row.error,
    )


class RequestLog:
    def __init__(self, store: Store, size: int, body_bytes: int) -> None:
        self.store = store
        self.size = size
        self.body_bytes = body_bytes

    @property
    def enabled(self) -> bool:
        return self.size != 0

    async def add(self, record: RequestRecord) -> None:
        if self.enabled:
            async with self.store.begin() as conn:
                await log_store.add(conn, record.row(), self.size)

    async def last(self, limit: int) -> list[RequestRecord]:
        """The newest `limit` records, newest first."""
        async with self.store.read() as conn:
            rows = await log_store.newest(conn, min(limit, self.size))
        return [_record(row) for row in rows]

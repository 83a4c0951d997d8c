"""The last requests a process answered, for GET /_admin/requests: a ring bounded in
entries (`request_log_size`) whose bodies are bounded in bytes (`request_log_body_bytes`).
A token appears only by its id; the token itself is never kept."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any


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


class RequestLog:
    def __init__(self, size: int, body_bytes: int) -> None:
        self.body_bytes = body_bytes
        self._ring: deque[RequestRecord] = deque(maxlen=size)

    @property
    def enabled(self) -> bool:
        return self._ring.maxlen != 0

    def add(self, record: RequestRecord) -> None:
        if self.enabled:
            self._ring.append(record)

    def last(self, limit: int) -> list[RequestRecord]:
        """The newest `limit` records, newest first."""
        return list(reversed(self._ring))[:limit]

    def clear(self) -> None:
        self._ring.clear()

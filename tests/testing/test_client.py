"""The admin client's `fault`: the keywords of the README become the body of POST
/_admin/faults, with the documented defaults; an unknown keyword is a TypeError."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from slotblock.testing.client import AdminClient


@dataclass(frozen=True)
class Recording(AdminClient):
    sent: list[tuple[str, str, Any]] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.sent.append((method, path, body))
        return {"id": "f1", **body}


def test_a_fault_with_the_defaults() -> None:
    client = Recording("http://x", "token")
    assert client.fault() == {
        "id": "f1",
        "match": {},
        "status": None,
        "latencyMs": 0,
        "drop": False,
        "times": None,
        "probability": None,
        "seed": None,
        "retryAfter": 10,
    }
    assert client.sent[0][:2] == ("POST", "/_admin/faults")


def test_every_keyword_lands_in_its_field() -> None:
    client = Recording("http://x", "token")
    client.fault(
        status=503,
        latency_ms=20,
        drop=True,
        times=2,
        probability=0.5,
        seed=7,
        retry_after=1,
        method="GET",
        path="/calendars/*",
        operation_id="get-blocked-slots",
        location_id="loc1",
        token_id="tok1",
    )
    assert client.sent[0][2] == {
        "match": {
            "method": "GET",
            "path": "/calendars/*",
            "operationId": "get-blocked-slots",
            "locationId": "loc1",
            "tokenId": "tok1",
        },
        "status": 503,
        "latencyMs": 20,
        "drop": True,
        "times": 2,
        "probability": 0.5,
        "seed": 7,
        "retryAfter": 1,
    }


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="latency"):
        Recording("http://x", "token").fault(latency=5)  # type: ignore[call-arg]

"""An app that is done with is freed: nothing process-wide keeps it, or the services, caches
and connections it holds, alive. (FastAPI keeps up to 4,096 endpoint callables in caches of
its own: an endpoint that closes over its app kept about 1,300 apps alive in one process,
the pytest plugin's and any embedder's, until those caches turned over.)"""

from __future__ import annotations

import gc
import weakref

import httpx
import pytest
from fastapi import FastAPI

from slotblock.api.app import create_app
from slotblock.config import Settings

pytestmark = pytest.mark.anyio

PATHS = ("/healthz", "/metrics", "/docs", "/openapi.json", "/ui/", "/calendars/groups/")


async def used_app(settings: Settings) -> weakref.ref[FastAPI]:
    """An app started, asked every kind of route (the documents, metrics, the API), stopped:
    a weak reference to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
            for path in PATHS:
                answer = await client.get(path, headers={"Authorization": "Bearer nobody"})
                assert answer.status_code < 500, (path, answer.status_code)
    return weakref.ref(app)


async def test_a_stopped_app_is_freed(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics="token", metrics_token="m")
    gone = [await used_app(settings) for _ in range(3)]
    gc.collect()
    alive = [ref for ref in gone if ref() is not None]
    assert not alive, [gc.get_referrers(ref()) for ref in alive][:1]

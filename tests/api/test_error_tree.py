"""The one exception tree and its status codes, as core/errors.py draws them."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from slotblock.api.errors import install, status_of
from slotblock.core import errors


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput("x"), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.ScopeMissing("x"), 401),
        (errors.Forbidden("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.Unprocessable("x"), 422),
        (errors.RecurrenceError("x"), 422),
        (errors.TooManyInstances("x"), 422),
        (errors.RateLimited("x"), 429),
    ],
)
def test_every_class_has_the_status_the_tree_draws(
    error: errors.SlotblockError, status: int
) -> None:
    assert status_of(error) == status
    drawn = errors.__doc__ or ""
    line = next(line for line in drawn.splitlines() if f" {type(error).__name__} " in line)
    assert line.rstrip().endswith(f"→ {status}")


@pytest.mark.anyio
async def test_a_rate_limit_answers_429_in_the_official_shape() -> None:
    app = FastAPI()
    install(app)

    @app.get("/limited")
    async def limited() -> None:
        raise errors.RateLimited("Too many requests", retry_after_s=3)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {
        "statusCode": 429,
        "message": "Too many requests",
        "error": "Too Many Requests",
    }

"""The one exception tree and its status codes, as errors.py draws them."""

from __future__ import annotations

import orjson
import pytest

from slotblock import errors
from slotblock.api.errors import error_response, status_of


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


def test_a_rate_limit_answers_429_in_the_official_shape() -> None:
    response = error_response(429, "Too many requests", {"Retry-After": "3"})
    assert orjson.loads(response.body) == {
        "statusCode": 429,
        "message": "Too many requests",
        "error": "Too Many Requests",
    }
    assert response.headers["retry-after"] == "3"

"""The one `Authorization: Bearer` parser (core/tokens.py) that the API, the admin gate and
the request log share."""

from __future__ import annotations

import pytest

from slotblock.core.tokens import bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer pit-abc", "pit-abc"),
        ("bearer pit-abc", "pit-abc"),  # the scheme in any case
        ("BEARER   pit-abc  ", "pit-abc"),  # spaces around the token
        ("  Bearer pit-abc", "pit-abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("Basic abc", None),
        ("pit-abc", None),
        ("Bearerpit-abc", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token

"""The repeated-parameter check: names as sent, and names that decode to the same."""

from __future__ import annotations

import pytest

from slotblock.api.middleware.single_query_values import repeated


@pytest.mark.parametrize(
    ("query", "found"),
    [
        (b"a=1&b=2", []),
        (b"a=1&a=2", ["a"]),
        (b"calendarId=a&calendar%49d=b", ["calendarId"]),  # an escaped twin
        (b"a+b=1&a%20b=2", ["a b"]),
        (b"a&a=", ["a"]),  # blank values count
        (b"", []),
        (b"x=1&&y=2", []),
    ],
)
def test_repeated_names(query: bytes, found: list[str]) -> None:
    assert repeated(query) == found


def test_list_parameters_may_repeat() -> None:
    assert repeated(b"userIds=a&userIds=b", frozenset({"userIds"})) == []

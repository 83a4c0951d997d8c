"""Feeds in fixture documents: a feed loads with the token value a test suite chose (so it
can hard-code the feed's address), is exported by its hash, and a bad one is a problem
naming its JSON path. On each backend."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from tests.toolkit.conftest import ADMIN, load

pytestmark = pytest.mark.anyio

TOKEN = "ical-front-desk-feed-0001"


def document(**feed: Any) -> dict[str, Any]:
    return {
        "locations": [
            {
                "id": "feedLocation01",
                "timezone": "Europe/Paris",
                "users": [{"id": "annUser01", "name": "Ann"}],
                "groups": [{"id": "deskGroup01", "name": "Desk"}],
                "calendars": [{"id": "roomCalendar01", "name": "Room", "groupId": "deskGroup01"}],
                "blocks": [
                    {
                        "id": "lunchBlock01",
                        "calendarId": "roomCalendar01",
                        "title": "Lunch",
                        "startTime": "2026-01-05T12:00:00+01:00",
                        "endTime": "2026-01-05T13:00:00+01:00",
                        "rrule": "FREQ=DAILY;COUNT=3",
                    }
                ],
                "feeds": [{"id": "deskFeed01", "groupId": "deskGroup01", "token": TOKEN, **feed}],
            }
        ],
        "clock": {"now": "2026-01-01T00:00:00+01:00", "frozen": True},
    }


async def test_a_feed_loads_with_its_chosen_token_and_exports_by_hash(
    admin_client: httpx.AsyncClient,
) -> None:
    loaded = await load(admin_client, document(busyOnly=True, name="Front desk"))
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["loaded"]["feeds"] == 1
    feed = await admin_client.get(f"/calendars/ical/{TOKEN}.ics")
    assert feed.status_code == 200
    assert feed.content.count(b"SUMMARY:Busy") == 1 and b"X-WR-CALNAME:Front desk" in feed.content
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    [feed_doc] = exported["locations"][0]["feeds"]
    assert feed_doc == {
        "id": "deskFeed01", "groupId": "deskGroup01", "busyOnly": True, "includeConnected": False,
        "name": "Front desk", "tokenHash": hashlib.sha256(TOKEN.encode()).hexdigest(),
    }  # fmt: skip
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    assert (await admin_client.get(f"/calendars/ical/{TOKEN}.ics")).status_code == 404
    assert (await load(admin_client, exported)).status_code == 201
    assert (await admin_client.get(f"/calendars/ical/{TOKEN}.ics")).status_code == 200


async def test_a_revoked_feed_loads_revoked(admin_client: httpx.AsyncClient) -> None:
    assert (await load(admin_client, document(revoked=True))).status_code == 201
    assert (await admin_client.get(f"/calendars/ical/{TOKEN}.ics")).status_code == 404


@pytest.mark.parametrize(
    ("feed", "problem"),
    [
        ({"groupId": "nowhere"}, "$.locations[0].feeds[0]: group nowhere is not in this location"),
        ({"userId": "annUser01"}, "$.locations[0].feeds[0]: exactly one of calendarId, userId or groupId is required"),
        ({"token": "short"}, "$.locations[0].feeds[0].token: must be 8-512 printable characters without spaces"),
    ],
)  # fmt: skip
async def test_a_bad_feed_is_a_problem_naming_its_path(
    admin_client: httpx.AsyncClient, feed: dict[str, Any], problem: str
) -> None:
    answer = await load(admin_client, document(**feed))
    assert answer.status_code == 400
    assert problem in answer.json()["message"]

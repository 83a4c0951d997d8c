"""HTTP calls and checks the feed tests share."""

from __future__ import annotations

from typing import Any

import httpx
import icalendar

from tests.conftest import Tenant


async def make_feed(client: httpx.AsyncClient, t: Tenant, **body: Any) -> dict[str, Any]:
    payload = {"locationId": t.location_id, **body}
    if not {"calendarId", "userId", "groupId"} & set(body):
        payload["calendarId"] = t.calendar_id
    response = await client.post("/calendars/feeds", json=payload, headers=t.headers())
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def fetch(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    """A calendar app's request: no Authorization, no Version."""
    return await client.get(path, headers=headers)


def strictly_valid(document: bytes) -> icalendar.Calendar:
    """RFC 5545's form, checked strictly: CRLF line ends only, every line at most 75 octets,
    parsed without a single error, the required properties there, a VTIMEZONE for every
    TZID used, and the same bytes written back by the parser."""
    assert document.endswith(b"\r\n")
    lines = document.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75, max(lines, key=len)
    document.decode("utf-8")  # UTF-8 throughout
    calendar = icalendar.Calendar.from_ical(document)
    assert isinstance(calendar, icalendar.Calendar)
    calendar.validate()  # type: ignore[no-untyped-call]
    for component in calendar.walk():
        assert not component.errors, (component.name, component.errors)
    assert calendar.get_missing_tzids() == set()
    for event in calendar.walk("VEVENT"):
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "LAST-MODIFIED"):
            assert name in event, name
        assert event["TRANSP"] == "OPAQUE"
    assert calendar.to_ical() == document
    return calendar

"""The feed's document PUT into real CalDAV servers, Radicale and Xandikos (started on
loopback), is accepted, and their `expand` REPORT over the year returns the instances of
slotblock's own get-blocked-slots answer. On each backend."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import httpx
import icalendar
import pytest

from bench.peers import CALDAV, report_body
from slotblock.core.isotime import to_ms
from tests.conftest import Tenant
from tests.feeds.calls import fetch, make_feed
from tests.feeds.scenario import WINDOW_END, WINDOW_START, ZONES, Instance, answered, populate
from tests.live import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
AUTH = ("feeds", "x")


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.request("OPTIONS", url, auth=AUTH, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def _serving(args: list[str], url: str) -> Iterator[str]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def radicale(root: Path) -> Iterator[str]:
    """Radicale without passwords (the user's name names its collections); yields the URL
    of a calendar to PUT into, as the user `feeds` (AUTH)."""
    port = free_port()
    args = [
        sys.executable, "-m", "radicale", "--storage-filesystem-folder", str(root),
        "--auth-type", "none", "--rights-type", "owner_only", "--server-hosts", f"127.0.0.1:{port}",
        "--logging-level", "error",
    ]  # fmt: skip
    with _serving(args, f"http://127.0.0.1:{port}/") as base:
        yield base + "feeds/blocked/"


@contextmanager
def xandikos(root: Path) -> Iterator[str]:
    """Xandikos with one calendar collection; yields its URL."""
    exe = str(Path(sys.executable).parent / "xandikos")
    root.mkdir(parents=True)
    subprocess.run(
        [exe, "create-collection", "-d", str(root), "--type", "calendar", "--name", "blocked"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    args = [exe, "serve", "-d", str(root), "-l", "127.0.0.1", "-p", str(port)]
    args += ["--current-user-principal", "/"]
    with _serving(args, f"http://127.0.0.1:{port}/") as base:
        yield base + "blocked/"


def put(url: str, document: bytes) -> int:
    """PUT a calendar object (or, to a Radicale collection, a whole calendar): the status."""
    response = httpx.put(
        url, content=document, headers={"Content-Type": "text/calendar"}, auth=AUTH
    )
    assert response.status_code < 300, response.text
    return response.status_code


def by_uid(document: bytes) -> dict[str, bytes]:
    """One calendar object per UID (RFC 4791 §4.1), each with the VTIMEZONEs."""
    calendar = icalendar.Calendar.from_ical(document)
    zones = calendar.walk("VTIMEZONE")
    out: dict[str, icalendar.Calendar] = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"])
        if uid not in out:
            out[uid] = icalendar.Calendar()
            for name in ("PRODID", "VERSION"):
                out[uid].add(name, calendar[name])
            for tz in zones:
                out[uid].add_component(tz)
        out[uid].add_component(event)
    return {uid: bytes(c.to_ical()) for uid, c in out.items()}


def reported(url: str) -> list[Instance]:
    """The expanded instances of a calendar-query REPORT over the window."""
    response = httpx.request(
        "REPORT", url, content=report_body(WINDOW_START, WINDOW_END), auth=AUTH,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, timeout=120,
    )  # fmt: skip
    assert response.status_code == 207, response.text
    found = []
    for node in ElementTree.fromstring(response.content).iter(f"{CALDAV}calendar-data"):
        calendar = icalendar.Calendar.from_ical(node.text or "")
        series = {str(e["UID"]) for e in calendar.walk("VEVENT") if "RRULE" in e}
        expanded = len(calendar.walk("VEVENT")) > 1 or series
        for event in calendar.walk("VEVENT"):
            start, end = to_ms(event.decoded("DTSTART")), to_ms(event.decoded("DTEND"))
            if not (start < WINDOW_END and end > WINDOW_START):
                continue
            key = str(event["UID"]).split("-", 1)[0]
            if "RECURRENCE-ID" in event and expanded:
                key += f"_{to_ms(event.decoded('RECURRENCE-ID'))}"
            found.append((start, end, str(event["SUMMARY"]), key))
    return sorted(found)


@pytest.fixture(params=ZONES)
async def feed_document(
    client: httpx.AsyncClient, make_tenant_fn: object, request: pytest.FixtureRequest
) -> tuple[bytes, list[Instance]]:
    t: Tenant = await make_tenant_fn(request.param)  # type: ignore[operator]
    await populate(client, t)
    feed = await make_feed(client, t, calendarId=t.calendar_id)
    response = await fetch(client, feed["path"])
    assert response.status_code == 200
    expected = await answered(client, t, {"calendarId": t.calendar_id})
    assert len(expected) > 10
    return response.content, expected


async def test_radicale_takes_the_feed_and_expands_it_alike(
    feed_document: tuple[bytes, list[Instance]], tmp_path: Path
) -> None:
    document, expected = feed_document
    with radicale(tmp_path / "radicale") as url:
        assert put(url, document) == 201
        assert reported(url) == expected


async def test_xandikos_takes_each_event_and_expands_them_alike(
    feed_document: tuple[bytes, list[Instance]], tmp_path: Path
) -> None:
    if shutil.which("git") is None:
        pytest.skip("Xandikos keeps its collections in git, which is not installed")
    document, expected = feed_document
    with xandikos(tmp_path / "xandikos") as url:
        for uid, part in by_uid(document).items():
            assert put(f"{url}{uid}.ics", part) in (201, 204)
        assert reported(url) == expected

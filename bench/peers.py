"""The CalDAV peers, Radicale and Xandikos, loaded with the same blocks as .ics files and
asked the same question: a `calendar-query` REPORT with a `time-range` filter and `expand`
over the same window. Their answers are reduced to instance sets (uid, start instant) so
that they can be compared with slotblock's."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import httpx
import icalendar

from bench import data
from slotblock.core.isotime import to_ms
from slotblock.core.model import Block

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"


def report_body(start_ms: int, end_ms: int) -> str:
    def stamp(ms: int) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ms / 1000))

    a, b = stamp(start_ms), stamp(end_ms)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data><C:expand start="{a}" end="{b}"/></C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{a}" end="{b}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def instances(xml: bytes, start_ms: int, end_ms: int) -> set[tuple[str, int]]:
    """(uid, start instant) of every expanded instance overlapping the window."""
    found = set()
    for node in ElementTree.fromstring(xml).iter(f"{CALDAV}calendar-data"):
        calendar = icalendar.Calendar.from_ical(node.text or "")
        for event in calendar.walk("VEVENT"):
            start = to_ms(event.decoded("DTSTART"))
            end = to_ms(event.decoded("DTEND"))
            if start < end_ms and end > start_ms:
                found.add((str(event["UID"]), start))
    return found


def _wait(url: str, auth: tuple[str, str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.request("OPTIONS", url, auth=auth, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def radicale(
    root: Path, blocks: Sequence[Block], port: int
) -> Iterator[tuple[str, tuple[str, str]]]:
    """Radicale serving the blocks from its filesystem storage; yields (collection URL, auth)."""
    collection = root / "collection-root" / "bench" / "calendar"
    collection.mkdir(parents=True, exist_ok=True)
    (collection / ".Radicale.props").write_text('{"tag": "VCALENDAR"}')
    for block in blocks:
        (collection / f"{block.id}.ics").write_text(data.ics(block), newline="")
    args = [
        sys.executable, "-m", "radicale", "--storage-filesystem-folder", str(root),
        "--auth-type", "none", "--rights-type", "owner_only", "--server-hosts", f"127.0.0.1:{port}",
        "--logging-level", "error",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, auth = f"http://127.0.0.1:{port}/bench/calendar/", ("bench", "x")
    try:
        _wait(url, auth)
        yield url, auth
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def xandikos(root: Path, blocks: Sequence[Block], port: int) -> Iterator[tuple[str, None]]:
    """Xandikos serving the blocks from its git store; yields (collection URL, no auth)."""
    root.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).parent / "xandikos")
    subprocess.run(
        [exe, "create-collection", "-d", str(root), "--type", "calendar", "--name", "calendar"],
        check=True, capture_output=True,
    )  # fmt: skip
    collection = root / "calendar"
    for block in blocks:
        (collection / f"{block.id}.ics").write_text(data.ics(block), newline="")
    git = [
        "git",
        "-C",
        str(collection),
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@localhost",
    ]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "load"], check=True, capture_output=True)
    args = [
        exe,
        "serve",
        "-d",
        str(root),
        "-l",
        "127.0.0.1",
        "-p",
        str(port),
        "--current-user-principal",
        "/",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/calendar/"
    try:
        _wait(url)
        yield url, None
    finally:
        process.terminate()
        process.wait(timeout=30)


def query(
    url: str, auth: tuple[str, str] | None, start_ms: int, end_ms: int
) -> tuple[float, set[tuple[str, int]]]:
    """Seconds one expand REPORT takes, and the instances it returned."""
    began = time.perf_counter()
    response = httpx.request(
        "REPORT",
        url,
        content=report_body(start_ms, end_ms),
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        auth=auth,
        timeout=600,
    )
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed, instances(response.content, start_ms, end_ms)

"""slotblock's reading of real iCalendar files against `recurring-ical-events`.

The files are the test calendars that the `icalendar` and `recurring-ical-events` projects
ship in their packages (Google, Outlook and Apple exports among them). For each file, over a
year from its earliest event: the busy instances that `recurring-ical-events` expands
(transparent and cancelled ones left out, dates as midnights of the location's zone) against
the instances of the blocks slotblock imports (core/connection_import.py), expanded by
slotblock's own engine. Both are compared as multisets of (start, end) instants.

    .venv/bin/python -m bench.ical_corpora [--verbose]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events

from slotblock.core.connection_import import (
    ImportedBlock,
    ImportLimits,
    ImportRefused,
    import_calendar,
)
from slotblock.core.instances import instances, master_event
from slotblock.core.isotime import to_ms, zone
from slotblock.core.model import Block

ZONE = "Europe/Berlin"  # the location's zone: floating times and dates are its wall times
YEAR_MS = 366 * 86_400_000
Span = tuple[int, int]


def corpus_files() -> list[Path]:
    """The .ics files shipped with the two projects' packages."""
    roots = [Path(icalendar.__file__).parent, Path(recurring_ical_events.__file__).parent]
    return sorted(path for root in roots for path in root.rglob("*.ics"))


@dataclass
class FileResult:
    path: Path
    status: str  # "compared", "refused by both", "refused by slotblock", "refused by rie"
    expected: int = 0
    found: int = 0
    missing: list[Span] = field(default_factory=list)  # rie's, not slotblock's
    extra: list[Span] = field(default_factory=list)  # slotblock's, not rie's
    warnings: int = 0

    @property
    def agrees(self) -> bool:
        return not self.missing and not self.extra


def compare_file(path: Path, zone_name: str = ZONE) -> FileResult:
    data = path.read_bytes()
    theirs = _theirs(data, zone_name)
    try:
        imported = import_calendar(data, ImportLimits(location_zone=zone_name))
    except ImportRefused:
        status = "refused by both" if theirs is None else "refused by slotblock"
        return FileResult(path, status, expected=len(theirs[1]) if theirs else 0)
    if theirs is None:
        return FileResult(path, "refused by rie", warnings=imported.warning_count)
    start, spans = theirs
    found = _ours(imported.blocks, start, start + YEAR_MS)
    expected = Counter(spans)
    return FileResult(
        path,
        "compared",
        expected=sum(expected.values()),
        found=sum(found.values()),
        missing=sorted((expected - found).elements()),
        extra=sorted((found - expected).elements()),
        warnings=imported.warning_count,
    )


def _theirs(data: bytes, zone_name: str) -> tuple[int, list[Span]] | None:
    """(window start, the busy instances in a year from it) by recurring-ical-events, over
    every VCALENDAR of the file."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
        starts = [s for c in calendars if (s := _earliest(c, zone_name)) is not None]
        if not starts:
            return 0, []
        start = min(starts)
        spans: list[Span] = []
        for calendar in calendars:
            query = recurring_ical_events.of(calendar, components=["VEVENT"])
            events = query.between(_utc(start), _utc(start + YEAR_MS))
            spans += [span for event in events if (span := _span(event, zone_name))]
    except Exception:  # noqa: BLE001 - a file the reference cannot read is counted, not fatal
        return None
    return start, spans


def _earliest(calendar: Any, zone_name: str) -> int | None:
    """The earliest DTSTART that is a date or date-time (broken values are left out)."""
    starts = []
    for component in calendar.walk("VEVENT"):
        try:
            value = component.decoded("DTSTART")
        except (KeyError, ValueError, AttributeError):
            continue
        if isinstance(value, date):
            starts.append(_ms(value, zone_name))
    return min(starts) if starts else None


def _span(event: Any, zone_name: str) -> Span | None:
    if str(event.get("TRANSP") or "").upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS") or "").upper() == "CANCELLED":
        return None
    start = _ms(event.decoded("DTSTART"), zone_name)
    end = _ms(event.decoded("DTEND"), zone_name) if event.get("DTEND") is not None else None
    if end is None and event.get("DURATION") is not None:
        end = _ms(event.decoded("DTSTART") + event.decoded("DURATION"), zone_name)
    if end is None or end <= start:
        return None
    return start, end


def _ms(value: date | datetime, zone_name: str) -> int:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(zone_name))
    return to_ms(value)


def _utc(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=zone("UTC")) + timedelta(milliseconds=ms)


def _ours(blocks: list[ImportedBlock], start: int, end: int) -> Counter[Span]:
    found: Counter[Span] = Counter()
    for block in map(_as_block, blocks):
        events = (
            [master_event(block)]
            if block.rrule is None
            else instances(block, start, end, 1_000_000)
        )
        found.update(
            (e.start_ms, e.end_ms) for e in events if e.start_ms < end and e.end_ms > start
        )
    return found


def _as_block(imported: ImportedBlock) -> Block:
    return Block(
        location_id="l",
        id="b",
        calendar_id=None,
        assigned_user_id="u",
        start_ms=imported.start_ms,
        end_ms=imported.end_ms,
        timezone=imported.timezone,
        rrule=imported.rrule,
        last_start_ms=imported.last_start_ms,
        overrides=imported.overrides,
        created_ms=0,
        updated_ms=0,
    )


def compare_all(files: list[Path] | None = None) -> Iterator[FileResult]:
    for path in files or corpus_files():
        yield compare_file(path)


def summary(results: list[FileResult]) -> dict[str, int]:
    compared = [r for r in results if r.status == "compared"]
    return {
        "files": len(results),
        "compared": len(compared),
        "agreeing files": sum(r.agrees for r in compared),
        "disagreeing files": sum(not r.agrees for r in compared),
        "instances (recurring-ical-events)": sum(r.expected for r in compared),
        "instances (slotblock)": sum(r.found for r in compared),
        "instances only in recurring-ical-events": sum(len(r.missing) for r in compared),
        "instances only in slotblock": sum(len(r.extra) for r in compared),
        "refused by both": sum(r.status == "refused by both" for r in results),
        "refused by recurring-ical-events only": sum(r.status == "refused by rie" for r in results),
        "refused by slotblock only": sum(r.status == "refused by slotblock" for r in results),
        "slotblock warnings": sum(r.warnings for r in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list each disagreeing file")
    args = parser.parse_args(argv)
    results = list(compare_all())
    for key, value in summary(results).items():
        print(f"{key}: {value}")
    if args.verbose:
        for r in results:
            if r.status != "compared" or not r.agrees:
                name = "/".join(r.path.parts[-3:])
                print(
                    f"  {name}: {r.status} expected={r.expected} found={r.found} "
                    f"missing={len(r.missing)} extra={len(r.extra)}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

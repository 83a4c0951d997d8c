"""core/ical_feed.py where RFC 5545 leaves room: UNTIL in UTC, EXDATEs of occurrences a
spring-forward gap moved, a DTSTART at the second of two equal wall times, exact durations
across a DST change, busy-only texts, and the connected-calendar filter."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import recurring_ical_events

from slotblock.core import ical_feed
from slotblock.core import recurrence as rec
from slotblock.core.instances import instances
from slotblock.core.isotime import from_ms, to_ms, zone
from slotblock.core.model import Block, Override
from slotblock.service.feeds import from_connected_calendar

NY = "America/New_York"
SPEC = ical_feed.FeedSpec("Room", False, 3600, NY, 0, 0)


def block(start: datetime, minutes: int, rule: str | None = None, **extra: Any) -> Block:
    start_ms = to_ms(start)
    text, last = None, None
    if rule is not None:
        parsed = rec.parse_rule(rule, start_ms=start_ms, zone_name=NY, max_count=1000)
        text, last = parsed.text, rec.last_start(parsed, start_ms, NY)
    values: dict[str, Any] = {
        "location_id": "L", "id": "b1", "calendar_id": "C", "assigned_user_id": None,
        "title": "Focus", "start_ms": start_ms, "end_ms": start_ms + minutes * 60_000,
        "timezone": NY, "rrule": text, "last_start_ms": last, "overrides": (),
        "created_ms": 0, "updated_ms": 1_000, "version": 1, **extra,
    }  # fmt: skip
    return Block(**values)


def starts(document: bytes, lo: datetime, hi: datetime) -> list[int]:
    calendar = icalendar.Calendar.from_ical(document)
    found = recurring_ical_events.of(calendar).between(lo, hi)
    return sorted(to_ms(e["DTSTART"].dt) for e in found)


def wall(*args: int, fold: int = 0) -> datetime:
    return datetime(*args).replace(tzinfo=zone(NY), fold=fold)  # type: ignore[arg-type]


def test_until_is_written_in_utc_and_a_date_includes_its_whole_day() -> None:
    series = block(wall(2026, 1, 5, 9), 60, "FREQ=DAILY;UNTIL=20260107")
    [event] = icalendar.Calendar.from_ical(ical_feed.document([series], SPEC)).walk("VEVENT")
    assert event.decoded("RRULE")["UNTIL"] == [datetime(2026, 1, 8, 4, 59, 59, tzinfo=UTC)]
    assert event["DTSTART"].params["TZID"] == NY
    lo, hi = wall(2026, 1, 1), wall(2026, 2, 1)
    assert len(starts(ical_feed.document([series], SPEC), lo, hi)) == 3


def test_an_exdate_of_an_occurrence_moved_by_a_gap_names_both_wall_times() -> None:
    gap_day = to_ms(wall(2026, 3, 8, 2, 30))  # 02:30 does not exist: 03:30 EDT
    rule = "FREQ=DAILY;COUNT=4\nEXDATE:" + from_ms(gap_day, zone("UTC")).strftime("%Y%m%dT%H%M%SZ")
    series = block(wall(2026, 3, 6, 2, 30), 15, rule)
    document = ical_feed.document([series], SPEC)
    assert b"EXDATE;TZID=America/New_York:20260308T033000,20260308T023000" in document
    expected = [e.start_ms for e in instances(series, 0, 2 * 10**12, 100)]
    assert gap_day not in expected
    assert starts(document, wall(2026, 3, 1), wall(2026, 4, 1)) == expected


def test_a_start_at_the_second_of_two_equal_wall_times_is_said_in_utc() -> None:
    second = wall(2026, 11, 1, 1, 30, fold=1)  # 06:30Z, not 05:30Z
    series = block(second, 20, "FREQ=DAILY;COUNT=3")
    document = ical_feed.document([series], SPEC)
    events = icalendar.Calendar.from_ical(document).walk("VEVENT")
    override = next(e for e in events if "RECURRENCE-ID" in e)
    assert override.decoded("DTSTART") == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    expected = [e.start_ms for e in instances(series, 0, 2 * 10**12, 100)]
    assert starts(document, wall(2026, 10, 30), wall(2026, 11, 10)) == expected


def test_a_first_instance_across_a_dst_change_keeps_its_exact_duration() -> None:
    night = block(wall(2026, 3, 7, 23), 6 * 60)  # 6 hours of elapsed time, 7 on the clock
    [event] = icalendar.Calendar.from_ical(ical_feed.document([night], SPEC)).walk("VEVENT")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=6)
    assert event.decoded("DTEND") == datetime(2026, 3, 8, 10, tzinfo=UTC)


def test_busy_only_says_busy_even_on_changed_instances() -> None:
    series = block(
        wall(2026, 1, 5, 9), 60, "FREQ=DAILY;COUNT=3", description="secret", address="here"
    )
    start = series.start_ms + 86_400_000
    changed = Override(start, start, start + 60_000, {"title": "private title"})
    series = Block(**{**series.__dict__, "overrides": (changed,)})
    document = ical_feed.document([series], ical_feed.FeedSpec("Room", True, 3600, NY, 0, 0))
    assert b"secret" not in document and b"private" not in document and b"here" not in document
    assert document.count(b"SUMMARY:Busy") == 2


def test_blocks_from_a_connected_calendar_are_told_by_their_connection() -> None:
    plain = block(wall(2026, 1, 5, 9), 60)
    synced = dataclasses.replace(plain, connection_id="conn1", source="google_calendar")
    assert not from_connected_calendar(plain)
    assert from_connected_calendar(synced)

"""The mapping of an iCalendar document to user-level blocks (core/connection_import.py),
one case per construct, expanded by slotblock's own engine."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from slotblock.core.connection_import import (
    ImportedBlock,
    ImportLimits,
    ImportRefused,
    block_id,
    import_calendar,
)
from slotblock.core.instances import instances, master_event
from slotblock.core.model import Block
from slotblock.core.tokens import is_id

PARIS = ZoneInfo("Europe/Paris")
LA = ZoneInfo("America/Los_Angeles")
LIMITS = ImportLimits(location_zone="Europe/Paris")


def calendar(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN", *lines, "END:VCALENDAR"]
    return "\r\n".join(body).encode()


def event(uid: str, *lines: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", *lines, "END:VEVENT"]


def spans(
    blocks: list[ImportedBlock], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    out = []
    for item in blocks:
        block = Block(
            location_id="l", id="b", calendar_id=None, assigned_user_id="u",
            start_ms=item.start_ms, end_ms=item.end_ms, timezone=item.timezone,
            rrule=item.rrule, last_start_ms=item.last_start_ms, overrides=item.overrides,
            created_ms=0, updated_ms=0,
        )  # fmt: skip
        found = [master_event(block)] if block.rrule is None else instances(block, lo, hi, 1000)
        out += [(e.start_ms, e.end_ms) for e in found if e.start_ms < hi and e.end_ms > lo]
    return [(_at(s), _at(e)) for s, e in sorted(out)]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_a_windows_zone_name_is_its_iana_zone_and_keeps_local_time_across_dst() -> None:
    doc = calendar(*event(
        "w", "DTSTART;TZID=Pacific Standard Time:20270301T090000",
        "DTEND;TZID=Pacific Standard Time:20270301T100000", "RRULE:FREQ=WEEKLY;COUNT=3",
    ))  # fmt: skip
    result = import_calendar(doc, LIMITS)
    assert [b.timezone for b in result.blocks] == ["America/Los_Angeles"]
    found = spans(result.blocks, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
    assert [s.astimezone(LA).hour for s, _ in found] == [9, 9, 9]  # DST began on 14 March
    assert [s.astimezone(UTC).hour for s, _ in found] == [17, 17, 16]


def test_all_day_and_multi_day_events_are_days_of_the_location_zone() -> None:
    doc = calendar(
        *event("a", "DTSTART;VALUE=DATE:20270329", "DTEND;VALUE=DATE:20270401"),
        *event("b", "DTSTART;VALUE=DATE:20270405"),  # no end: one day
    )
    found = spans(import_calendar(doc, LIMITS).blocks, datetime(2027, 3, 1, tzinfo=UTC),
                  datetime(2027, 5, 1, tzinfo=UTC))  # fmt: skip
    assert found == [
        (datetime(2027, 3, 29, tzinfo=PARIS), datetime(2027, 4, 1, tzinfo=PARIS)),
        (datetime(2027, 4, 5, tzinfo=PARIS), datetime(2027, 4, 6, tzinfo=PARIS)),
    ]


def test_floating_times_are_wall_times_of_the_location() -> None:
    doc = calendar(*event("f", "DTSTART:20270110T083000", "DURATION:PT45M"))
    [block] = import_calendar(doc, LIMITS).blocks
    assert _at(block.start_ms) == datetime(2027, 1, 10, 8, 30, tzinfo=PARIS)
    assert block.end_ms - block.start_ms == 45 * 60_000


def test_a_vtimezone_of_its_own_places_a_one_off_and_skips_a_series_with_a_warning() -> None:
    zone = [
        "BEGIN:VTIMEZONE", "TZID:Company Time", "BEGIN:STANDARD", "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "END:STANDARD", "END:VTIMEZONE",
    ]  # fmt: skip
    doc = calendar(
        *zone,
        *event("one", "DTSTART;TZID=Company Time:20270110T090000",
               "DTEND;TZID=Company Time:20270110T100000"),
        *event("many", "DTSTART;TZID=Company Time:20270110T090000",
               "DTEND;TZID=Company Time:20270110T100000", "RRULE:FREQ=DAILY"),
    )  # fmt: skip
    result = import_calendar(doc, LIMITS)
    [block] = result.blocks
    assert _at(block.start_ms) == datetime(2027, 1, 10, 6, tzinfo=UTC)
    assert result.warnings == [
        "many: skipped: a recurring event in a time zone that names no known zone"
    ]


def test_overrides_cancellations_and_free_time() -> None:
    doc = calendar(
        *event("s", "DTSTART:20270104T090000Z", "DTEND:20270104T100000Z",
               "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:Daily", "EXDATE:20270105T090000Z"),
        *event("s", "RECURRENCE-ID:20270106T090000Z", "DTSTART:20270106T140000Z",
               "DTEND:20270106T150000Z", "SUMMARY:Moved"),
        *event("s", "RECURRENCE-ID:20270107T090000Z", "DTSTART:20270107T090000Z",
               "DTEND:20270107T100000Z", "STATUS:CANCELLED"),
        *event("s", "RECURRENCE-ID:20270108T090000Z", "DTSTART:20270108T090000Z",
               "DTEND:20270108T100000Z", "TRANSP:TRANSPARENT"),
        *event("free", "DTSTART:20270104T120000Z", "DTEND:20270104T130000Z",
               "TRANSP:TRANSPARENT"),
        *event("gone", "DTSTART:20270104T150000Z", "DTEND:20270104T160000Z",
               "STATUS:CANCELLED"),
    )  # fmt: skip
    [series] = import_calendar(doc, LIMITS).blocks
    assert [o.fields for o in series.overrides] == [{"title": "Moved"}]
    found = spans([series], datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert [s.day * 100 + s.hour for s, _ in found] == [409, 614]


def test_busy_instances_of_a_free_series_are_blocks_of_their_own() -> None:
    doc = calendar(
        *event("s", "DTSTART:20270104T090000Z", "DTEND:20270104T100000Z",
               "RRULE:FREQ=DAILY;COUNT=5", "TRANSP:TRANSPARENT"),
        *event("s", "RECURRENCE-ID:20270106T090000Z", "DTSTART:20270106T090000Z",
               "DTEND:20270106T100000Z", "TRANSP:OPAQUE"),
    )  # fmt: skip
    [block] = import_calendar(doc, LIMITS).blocks
    assert _at(block.start_ms) == datetime(2027, 1, 6, 9, tzinfo=UTC) and block.rrule is None


def test_rdates_are_blocks_of_their_own_and_their_overrides_apply_to_them() -> None:
    doc = calendar(
        *event("r", "DTSTART:20270104T090000Z", "DTEND:20270104T100000Z",
               "RDATE:20270110T090000Z,20270111T090000Z",
               "RDATE;VALUE=PERIOD:20270112T090000Z/PT3H"),
        *event("r", "RECURRENCE-ID:20270111T090000Z", "DTSTART:20270111T170000Z",
               "DTEND:20270111T180000Z"),
    )  # fmt: skip
    blocks = import_calendar(doc, LIMITS).blocks
    found = spans(blocks, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert [(s.day, s.hour, (e - s).seconds // 3600) for s, e in found] == [
        (4, 9, 1), (10, 9, 1), (11, 17, 1), (12, 9, 3),
    ]  # fmt: skip
    assert len({b.key for b in blocks}) == 4


def test_a_dtstart_that_is_not_an_occurrence_is_kept_beside_the_series() -> None:
    doc = calendar(*event(
        "d", "DTSTART:20270105T090000Z", "DTEND:20270105T100000Z",  # a Tuesday
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2",
    ))  # fmt: skip
    blocks = import_calendar(doc, LIMITS).blocks
    found = spans(blocks, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert [s.day for s, _ in found] == [5, 11, 18]


def test_busy_only_hides_titles_and_details() -> None:
    doc = calendar(*event("b", "DTSTART:20270104T090000Z", "DURATION:PT1H", "SUMMARY:Doctor",
                          "DESCRIPTION:private", "LOCATION:Clinic"))  # fmt: skip
    [block] = import_calendar(doc, ImportLimits(location_zone="UTC", busy_only=True)).blocks
    assert block.texts == {"title": "Busy", "description": "", "notes": "", "address": ""}


def test_what_cannot_be_represented_is_skipped_with_a_warning() -> None:
    doc = calendar(
        *event("nostart", "SUMMARY:x"),
        *event("nothing", "DTSTART:20270104T090000Z"),  # lasts no time
        *event("secondly", "DTSTART:20270104T090000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY"),
        *event("ok", "DTSTART:20270104T090000Z", "DURATION:PT1H"),
    )  # fmt: skip
    result = import_calendar(doc, LIMITS)
    assert [b.key for b in result.blocks] == ["ok"]
    assert [w.split(":")[0] for w in result.warnings] == ["nostart", "nothing", "secondly"]


def test_documents_that_are_not_calendars_or_too_large_are_refused() -> None:
    with pytest.raises(ImportRefused, match="not an iCalendar document"):
        import_calendar(b"<html>login</html>", LIMITS)
    many = calendar(*[line for i in range(4) for line in event(str(i), "DTSTART:20270104T090000Z")])
    with pytest.raises(ImportRefused, match="more than 3 events"):
        import_calendar(many, ImportLimits(location_zone="UTC", max_events=3))


def test_block_ids_are_stable_ids_apart_per_connection_and_key() -> None:
    first = block_id("conn1", "uid@example.com")
    assert first == block_id("conn1", "uid@example.com") and is_id(first) and len(first) == 20
    assert "_" not in first
    assert len({first, block_id("conn2", "uid@example.com"), block_id("conn1", "x")}) == 3


def test_one_calendars_vtimezone_does_not_change_how_another_reads() -> None:
    """icalendar caches VTIMEZONEs process-wide by TZID; a calendar naming a made-up zone
    "Pacific Standard Time" (+14:00) must not move another user's Outlook times."""
    hostile = calendar(
        "BEGIN:VTIMEZONE", "TZID:Pacific Standard Time", "BEGIN:STANDARD",
        "DTSTART:19700101T000000", "TZOFFSETFROM:+1400", "TZOFFSETTO:+1400", "END:STANDARD",
        "END:VTIMEZONE",
        *event("h", "DTSTART;TZID=Pacific Standard Time:20270110T090000", "DURATION:PT1H"),
    )  # fmt: skip
    honest = calendar(
        *event("o", "DTSTART;TZID=Pacific Standard Time:20270110T090000", "DURATION:PT1H")
    )
    import_calendar(hostile, LIMITS)
    [block] = import_calendar(honest, LIMITS).blocks
    assert _at(block.start_ms) == datetime(2027, 1, 10, 9, tzinfo=LA)
    assert block.timezone == "America/Los_Angeles"


def test_an_unknown_tzid_without_vtimezone_is_floating() -> None:
    doc = calendar(*event("u", 'DTSTART;TZID="Western/Central Europe":20270110T090000',
                          "DURATION:PT1H"))  # fmt: skip
    [block] = import_calendar(doc, LIMITS).blocks
    assert _at(block.start_ms) == datetime(2027, 1, 10, 9, tzinfo=PARIS)

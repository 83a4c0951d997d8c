"""Recurrence: RFC 5545 semantics, DST edges, limits, and expansion that ignores age."""

from __future__ import annotations

import pytest
from dateutil.rrule import rrulestr

from slotblock.core import recurrence as rec
from slotblock.core.errors import RecurrenceError, TooManyInstances
from slotblock.core.isotime import format_ms, parse_iso, zone

H = 3_600_000


def series(
    rule: str | list[str], start: str, tz: str, hours: float = 1, max_count: int = 1000
) -> rec.Series:
    start_ms = parse_iso(start)
    parsed = rec.parse_rule(rule, start_ms=start_ms, zone_name=tz, max_count=max_count)
    return rec.Series(start_ms, int(hours * H), tz, parsed, rec.last_start(parsed, start_ms, tz))


def local(ser: rec.Series, window: tuple[str, str], limit: int = 10_000) -> list[str]:
    starts = rec.overlapping(ser, parse_iso(window[0]), parse_iso(window[1]), limit)
    return [format_ms(s, zone(ser.zone)) for s in starts]


# --- DST and zones -----------------------------------------------------------------------

DST_CASES = [
    (  # weekly 09:00 stays 09:00 local across the March change in New York
        "America/New_York",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "2024-03-04T09:00:00-05:00",
        ("2024-03-01T00:00:00Z", "2024-03-19T00:00:00Z"),
        ["2024-03-04T09:00:00-05:00", "2024-03-11T09:00:00-04:00", "2024-03-18T09:00:00-04:00"],
    ),
    (  # and across the November change
        "America/New_York",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "2024-10-28T09:00:00-04:00",
        ("2024-10-27T00:00:00Z", "2024-11-05T00:00:00Z"),
        ["2024-10-28T09:00:00-04:00", "2024-11-04T09:00:00-05:00"],
    ),
    (  # 02:30 does not exist on 2024-03-10: that instance moves forward by the gap
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2024-03-09T02:30:00-05:00",
        ("2024-03-09T00:00:00Z", "2024-03-12T12:00:00Z"),
        ["2024-03-09T02:30:00-05:00", "2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"],
    ),
    (  # 01:30 happens twice on 2024-11-03: the first one is taken
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2024-11-02T01:30:00-04:00",
        ("2024-11-01T00:00:00Z", "2024-11-05T12:00:00Z"),
        ["2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
    ),
    (
        "Europe/London",
        "FREQ=DAILY;COUNT=3",
        "2024-03-30T09:00:00+00:00",
        ("2024-03-29T00:00:00Z", "2024-04-02T00:00:00Z"),
        ["2024-03-30T09:00:00+00:00", "2024-03-31T09:00:00+01:00", "2024-04-01T09:00:00+01:00"],
    ),
    (  # southern hemisphere: Sydney leaves DST in April
        "Australia/Sydney",
        "FREQ=WEEKLY;COUNT=2",
        "2024-03-31T10:00:00+11:00",
        ("2024-03-30T00:00:00Z", "2024-04-10T00:00:00Z"),
        ["2024-03-31T10:00:00+11:00", "2024-04-07T10:00:00+10:00"],
    ),
    (  # no DST at all
        "Asia/Kolkata",
        "FREQ=DAILY;INTERVAL=2;COUNT=3",
        "2023-04-02T16:00:00+05:30",
        ("2023-04-01T00:00:00Z", "2023-04-10T00:00:00Z"),
        ["2023-04-02T16:00:00+05:30", "2023-04-04T16:00:00+05:30", "2023-04-06T16:00:00+05:30"],
    ),
    (  # a historical offset change: Samoa skipped 2011-12-30 moving from -10 to +14
        "Pacific/Apia",
        "FREQ=DAILY;COUNT=3",
        "2011-12-28T10:00:00-10:00",
        ("2011-12-28T00:00:00Z", "2012-01-02T00:00:00Z"),
        ["2011-12-28T10:00:00-10:00", "2011-12-29T10:00:00-10:00", "2011-12-31T10:00:00+14:00"],
    ),
]


# Both folds of an ambiguous (fall-back) wall time as DTSTART, ambiguous and skipped later
# occurrences, in both transitions, north and south. DTSTART is the instant the client named;
# any later ambiguous wall time is its first occurrence (RFC 5545 §3.3.5).
FOLD_CASES = [
    (  # the second 01:30 of the night: it is the first instance, and COUNT=3 gives three
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2026-11-01T01:30:00-05:00",
        ("2026-10-31T00:00:00Z", "2026-11-05T00:00:00Z"),
        ["2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"],
    ),
    (  # the first 01:30
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2026-11-01T01:30:00-04:00",
        ("2026-10-31T00:00:00Z", "2026-11-05T00:00:00Z"),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"],
    ),
    (  # an ambiguous later occurrence takes the first 01:30
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2026-10-31T01:30:00-04:00",
        ("2026-10-30T00:00:00Z", "2026-11-05T00:00:00Z"),
        ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
    ),
    (  # hourly from the second 01:00
        "America/New_York",
        "FREQ=HOURLY;COUNT=3",
        "2026-11-01T01:00:00-05:00",
        ("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ["2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"],
    ),
    (  # hourly through the fall-back: the repeated 01:30 is taken once, first
        "America/New_York",
        "FREQ=HOURLY;COUNT=3",
        "2026-11-01T00:30:00-04:00",
        ("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ["2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:30:00-05:00"],
    ),
    (  # spring forward: 02:30 does not exist, the instance moves on by the gap
        "America/New_York",
        "FREQ=DAILY;COUNT=3",
        "2026-03-07T02:30:00-05:00",
        ("2026-03-06T00:00:00Z", "2026-03-11T00:00:00Z"),
        ["2026-03-07T02:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"],
    ),
    (
        "Europe/London",
        "FREQ=DAILY;COUNT=2",
        "2026-10-25T01:30:00+00:00",
        ("2026-10-24T00:00:00Z", "2026-10-28T00:00:00Z"),
        ["2026-10-25T01:30:00+00:00", "2026-10-26T01:30:00+00:00"],
    ),
    (
        "Europe/London",
        "FREQ=DAILY;COUNT=2",
        "2026-10-25T01:30:00+01:00",
        ("2026-10-24T00:00:00Z", "2026-10-28T00:00:00Z"),
        ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"],
    ),
    (
        "Europe/London",
        "FREQ=WEEKLY;COUNT=2",
        "2026-03-22T01:30:00+00:00",
        ("2026-03-21T00:00:00Z", "2026-04-01T00:00:00Z"),
        ["2026-03-22T01:30:00+00:00", "2026-03-29T02:30:00+01:00"],
    ),
    (  # south: Sydney falls back on 2026-04-05, 02:00-03:00 twice
        "Australia/Sydney",
        "FREQ=WEEKLY;COUNT=2",
        "2026-04-05T02:30:00+10:00",
        ("2026-04-04T00:00:00Z", "2026-04-15T00:00:00Z"),
        ["2026-04-05T02:30:00+10:00", "2026-04-12T02:30:00+10:00"],
    ),
    (
        "Australia/Sydney",
        "FREQ=WEEKLY;COUNT=2",
        "2026-04-05T02:30:00+11:00",
        ("2026-04-04T00:00:00Z", "2026-04-15T00:00:00Z"),
        ["2026-04-05T02:30:00+11:00", "2026-04-12T02:30:00+10:00"],
    ),
    (  # and springs forward on 2026-10-04
        "Australia/Sydney",
        "FREQ=WEEKLY;COUNT=2",
        "2026-09-27T02:30:00+10:00",
        ("2026-09-26T00:00:00Z", "2026-10-06T00:00:00Z"),
        ["2026-09-27T02:30:00+10:00", "2026-10-04T03:30:00+11:00"],
    ),
    (  # a half-hour shift: Lord Howe repeats 01:30-02:00 on 2026-04-05
        "Australia/Lord_Howe",
        "FREQ=DAILY;COUNT=2",
        "2026-04-05T01:45:00+10:30",
        ("2026-04-04T00:00:00Z", "2026-04-08T00:00:00Z"),
        ["2026-04-05T01:45:00+10:30", "2026-04-06T01:45:00+10:30"],
    ),
]


@pytest.mark.parametrize(("tz", "rule", "start", "window", "expected"), FOLD_CASES)
def test_fold_vectors(
    tz: str, rule: str, start: str, window: tuple[str, str], expected: list[str]
) -> None:
    ser = series(rule, start, tz)
    assert local(ser, window) == expected
    assert rec.is_occurrence(ser, parse_iso(start))
    assert ser.last_start_ms == parse_iso(expected[-1])


@pytest.mark.parametrize(("tz", "rule", "start", "window", "expected"), DST_CASES)
def test_dst_edges(
    tz: str, rule: str, start: str, window: tuple[str, str], expected: list[str]
) -> None:
    assert local(series(rule, start, tz), window) == expected


def test_instance_running_at_window_start_is_returned() -> None:
    ser = series("FREQ=DAILY", "2024-01-01T23:00:00+00:00", "UTC", hours=2)
    # the 2024-01-05 instance runs 23:00-01:00: a window starting at 00:30 cuts it in half
    assert local(ser, ("2024-01-06T00:30:00Z", "2024-01-06T01:00:00Z")) == [
        "2024-01-05T23:00:00+00:00"
    ]


def test_half_open_window_edges() -> None:
    ser = series("FREQ=DAILY", "2024-01-01T10:00:00+00:00", "UTC")
    assert local(ser, ("2024-01-02T11:00:00Z", "2024-01-03T10:00:00Z")) == []
    assert local(ser, ("2024-01-02T10:59:59Z", "2024-01-03T10:00:01Z")) == [
        "2024-01-02T10:00:00+00:00",
        "2024-01-03T10:00:00+00:00",
    ]


def test_count_boundary() -> None:
    ser = series("FREQ=DAILY;COUNT=3", "2024-01-01T10:00:00+00:00", "UTC")
    assert ser.last_start_ms == parse_iso("2024-01-03T10:00:00Z")
    assert len(local(ser, ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"))) == 3


@pytest.mark.parametrize(
    ("until", "count"),
    [
        ("20240103T100000Z", 3),  # UTC UNTIL equal to an occurrence includes it
        ("20240103T095959Z", 2),
        ("20240103T100000", 3),  # floating UNTIL: the series' wall clock
        ("20240103", 3),  # a DATE UNTIL includes that whole local day
    ],
)
def test_until_boundary(until: str, count: int) -> None:
    ser = series(f"FREQ=DAILY;UNTIL={until}", "2024-01-01T10:00:00+00:00", "UTC")
    assert len(local(ser, ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"))) == count


def test_floating_until_is_local_time() -> None:
    tz = "America/New_York"
    ser = series("FREQ=DAILY;UNTIL=20240103T090000", "2024-01-01T09:00:00-05:00", tz)
    assert local(ser, ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"))[-1] == (
        "2024-01-03T09:00:00-05:00"
    )


def test_exdate_forms() -> None:
    tz = "America/New_York"
    rule = (
        "RRULE:FREQ=DAILY;COUNT=5\n"
        "EXDATE:20240102T140000Z\n"  # UTC: the 2nd (09:00 EST)
        "EXDATE;TZID=America/New_York:20240103T090000\n"  # TZID: the 3rd
        "EXDATE:20240104T090000"  # floating, in the series' zone: the 4th
    )
    ser = series(rule, "2024-01-01T09:00:00-05:00", tz)
    assert local(ser, ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")) == [
        "2024-01-01T09:00:00-05:00",
        "2024-01-05T09:00:00-05:00",
    ]
    assert ser.rule.text.startswith("RRULE:FREQ=DAILY;COUNT=5\nEXDATE:20240102T140000Z,")


def test_rrule_as_list_of_lines_and_without_prefix() -> None:
    a = series(
        ["RRULE:FREQ=DAILY;COUNT=2", "EXDATE:20240102T100000Z"], "2024-01-01T10:00:00Z", "UTC"
    )
    b = series("FREQ=DAILY;COUNT=2\nEXDATE:20240102T100000Z", "2024-01-01T10:00:00Z", "UTC")
    assert a.rule == b.rule


def test_dtstart_line_must_equal_start() -> None:
    ok = series("DTSTART:20240101T100000Z\nRRULE:FREQ=DAILY", "2024-01-01T10:00:00Z", "UTC")
    assert ok.rule.text == "RRULE:FREQ=DAILY"
    with pytest.raises(RecurrenceError, match="DTSTART"):
        series("DTSTART:20240101T110000Z\nRRULE:FREQ=DAILY", "2024-01-01T10:00:00Z", "UTC")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MINUTELY", "not allowed"),
        ("FREQ=SECONDLY", "not allowed"),
        ("FREQ=FORTNIGHTLY", "FREQ"),
        ("RRULE:FREQ=DAILY;COUNT=1001", "COUNT"),
        ("RRULE:FREQ=DAILY;COUNT=0", "COUNT"),
        ("RRULE:FREQ=DAILY;COUNT=2;UNTIL=20250101T000000Z", "both"),
        ("RRULE:FREQ=DAILY;BYDAY=XX", "BYDAY values must be weekdays"),
        ("RRULE:FREQ=DAILY;BYMONTHDAY=40", "BYMONTHDAY values must be"),
        ("RRULE:FREQ=DAILY;FOO=1", "unknown"),
        ("RRULE:FREQ=DAILY;FREQ=DAILY", "twice"),
        ("RRULE:FREQ=WEEKLY;BYDAY=TU", "occurrence"),  # 2024-01-01 is a Monday
        ("RRULE:FREQ=DAILY;UNTIL=20231231T000000Z", "before"),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "exactly one"),
        ("EXDATE:20240101T100000Z", "RRULE"),
        ("RRULE:FREQ=DAILY\nEXDATE:2024-01-01", "EXDATE"),
        ("RRULE:FREQ=DAILY\nRDATE:20240102T100000Z", "not supported"),
        ("", "empty"),
        ("RRULE:FREQ=DAILY;UNTIL=20241399T000000Z", "valid"),
    ],
)
def test_refused_rules(rule: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        series(rule, "2024-01-01T10:00:00Z", "UTC")


def test_too_many_instances() -> None:
    ser = series("FREQ=HOURLY", "2024-01-01T00:00:00Z", "UTC", hours=0.5)
    with pytest.raises(TooManyInstances):
        rec.overlapping(
            ser, parse_iso("2024-01-01T00:00:00Z"), parse_iso("2024-02-01T00:00:00Z"), 100
        )


def test_is_occurrence() -> None:
    ser = series("FREQ=WEEKLY;BYDAY=MO,WE\nEXDATE:20240103T100000Z", "2024-01-01T10:00:00Z", "UTC")
    assert rec.is_occurrence(ser, parse_iso("2024-01-08T10:00:00Z"))
    assert not rec.is_occurrence(ser, parse_iso("2024-01-03T10:00:00Z"))  # excluded
    assert not rec.is_occurrence(ser, parse_iso("2024-01-02T10:00:00Z"))
    assert not rec.is_occurrence(ser, parse_iso("2023-12-27T10:00:00Z"))  # before DTSTART


AGED_RULES = [  # (rule, first start in America/New_York)
    ("FREQ=DAILY", "2016-01-11T09:00:00-05:00"),
    ("FREQ=DAILY;INTERVAL=3", "2016-01-11T09:00:00-05:00"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "2016-01-11T09:00:00-05:00"),
    ("FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,WE", "2016-01-10T09:00:00-05:00"),
    ("FREQ=MONTHLY", "2016-01-31T09:00:00-05:00"),
    ("FREQ=MONTHLY;INTERVAL=5", "2016-01-11T09:00:00-05:00"),
    ("FREQ=MONTHLY;BYDAY=2TU", "2016-01-12T09:00:00-05:00"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2016-01-29T09:00:00-05:00"),
    ("FREQ=YEARLY", "2016-02-29T09:00:00-05:00"),
    ("FREQ=YEARLY;BYMONTH=1,7", "2016-01-11T09:00:00-05:00"),
    ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "2016-05-16T09:00:00-04:00"),
    ("FREQ=HOURLY;INTERVAL=7", "2016-01-11T09:00:00-05:00"),
    ("FREQ=DAILY;BYHOUR=9,15", "2016-01-11T09:00:00-05:00"),
]


@pytest.mark.parametrize(("rule", "start"), AGED_RULES)
def test_reanchored_expansion_equals_a_full_walk(rule: str, start: str) -> None:
    """Jumping to a window years after DTSTART gives exactly what walking from DTSTART gives."""
    first = series(rule, start, "America/New_York")
    window = (parse_iso("2024-02-20T00:00:00Z"), parse_iso("2028-03-20T00:00:00Z"))
    got = rec.overlapping(first, *window, 100_000)
    walker = rrulestr(first.rule.text, dtstart=rec._wall(first.start_ms, first.tz))
    expected = []
    for wall in walker:
        instant = rec._instant(wall, first.tz)
        if instant >= window[1]:
            break
        if instant + first.duration_ms > window[0]:
            expected.append(instant)
    assert got == sorted(set(expected))
    assert got

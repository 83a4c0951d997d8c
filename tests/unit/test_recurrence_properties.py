"""Properties of expansion, checked against an independent implementation
(icalendar + recurring-ical-events) on random rules, starts, zones and windows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotblock.core import recurrence as rec
from slotblock.core.isotime import from_ms, to_ms, zone

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def cases(draw: st.DrawFn) -> tuple[rec.Series, int, int]:
    tz = draw(st.sampled_from(ZONES))
    # Wall times between 06:00 and 21:45, away from any DST gap or overlap in these zones.
    day = datetime(2015, 1, 1) + timedelta(days=draw(st.integers(0, 3650)))
    wall = day.replace(hour=draw(st.integers(6, 21)), minute=draw(st.sampled_from([0, 15, 30, 45])))
    start_ms = to_ms(wall.replace(tzinfo=zone(tz)))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 4))}"]
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=3))
        parts.append("BYDAY=" + ",".join(sorted(days | {WEEKDAYS[wall.weekday()]})))
    end_kind = draw(st.sampled_from(["none", "count", "until"]))
    if end_kind == "count":
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    elif end_kind == "until":
        until = wall + timedelta(days=draw(st.integers(0, 2000)))
        parts.append(
            "UNTIL=" + until.replace(tzinfo=zone(tz)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        )
    rule = rec.parse_rule(";".join(parts), start_ms=start_ms, zone_name=tz, max_count=1000)
    firsts = rec.occurrences(
        rec.Series(start_ms, 1, tz, rule, None), start_ms, start_ms + 400 * rec.DAY_MS, 10_000
    )
    excluded = draw(st.sets(st.sampled_from(firsts), max_size=3)) if firsts else set()
    rule = rule.excluding(*excluded)
    duration = draw(st.sampled_from([15, 60, 90, 24 * 60, 3 * 24 * 60])) * 60_000
    series = rec.Series(start_ms, duration, tz, rule, rec.last_start(rule, start_ms, tz))
    window_start = start_ms + draw(st.integers(-30, 4000)) * rec.DAY_MS // 4
    window_end = window_start + draw(st.integers(1, 120 * 24)) * 3_600_000
    return series, window_start, window_end


def reference(series: rec.Series, window_start: int, window_end: int) -> list[int]:
    """Starts of overlapping instances according to recurring-ical-events."""
    tz = series.tz
    event = icalendar.Event()
    event.add("uid", "x")
    event.add("dtstart", from_ms(series.start_ms, tz))
    event.add("dtend", from_ms(series.start_ms, tz) + timedelta(milliseconds=series.duration_ms))
    for line in series.rule.text.split("\n"):
        name, value = line.split(":", 1)
        if name == "RRULE":
            event.add("rrule", icalendar.vRecur.from_ical(value))
        else:
            for stamp in value.split(","):
                event.add("exdate", datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    calendar = icalendar.Calendar()
    calendar.add_component(event)
    lo = from_ms(window_start - series.duration_ms - rec.DAY_MS, tz)
    hi = from_ms(window_end + rec.DAY_MS, tz)
    starts = {to_ms(e["DTSTART"].dt) for e in recurring_ical_events.of(calendar).between(lo, hi)}
    return sorted(s for s in starts if s < window_end and s + series.duration_ms > window_start)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_expansion_matches_recurring_ical_events(case: tuple[rec.Series, int, int]) -> None:
    series, window_start, window_end = case
    assert rec.overlapping(series, window_start, window_end, 100_000) == reference(
        series, window_start, window_end
    )


@settings(max_examples=100, deadline=None)
@given(cases(), st.lists(st.integers(1, 10_000), min_size=1, max_size=6))
def test_tiled_windows_return_each_instance_once(
    case: tuple[rec.Series, int, int], cuts: list[int]
) -> None:
    """Windows tiled end to end: each instance starts in exactly one tile, and a tile returns
    exactly the instances that overlap it."""
    series, window_start, window_end = case
    span = window_end - window_start
    edges = sorted({window_start, window_end, *(window_start + span * c // 10_001 for c in cuts)})
    whole = rec.overlapping(series, window_start, window_end, 100_000)
    starting = []
    for lo, hi in itertools.pairwise(edges):
        tile = rec.overlapping(series, lo, hi, 100_000)
        assert tile == [s for s in whole if s < hi and s + series.duration_ms > lo]
        starting += [s for s in tile if lo <= s < hi]
    assert starting == [s for s in whole if s >= window_start]

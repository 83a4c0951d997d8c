"""Properties of the free-slot arithmetic (Hypothesis): merged intervals, overlap tests
against brute force, and free slots that are sound, monotone in blocked time, additive over
windows, and keep their wall-clock opening across DST."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slotblock.core import slots
from slotblock.core.isotime import from_ms, parse_iso, zone

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# Three weeks that hold DST changes in the northern and southern zones above.
BASES = [
    parse_iso(t) for t in ("2024-03-08T00:00:00Z", "2024-10-04T00:00:00Z", "2024-10-31T00:00:00Z")
]
DAY = 86_400_000
M = slots.MINUTE_MS

intervals = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=12,
)


@given(intervals)
def test_merge_is_sorted_disjoint_and_covers_the_same_points(items: list[tuple[int, int]]) -> None:
    merged = slots.merge(items)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(merged))
    for point in range(0, 562):
        assert any(s <= point < e for s, e in items) == any(s <= point < e for s, e in merged)


@given(intervals, st.integers(-5, 570), st.integers(1, 80))
def test_overlaps_equals_brute_force(items: list[tuple[int, int]], start: int, length: int) -> None:
    end = start + length
    brute = any(s < end and e > start for s, e in items)
    assert slots.overlaps(slots.merge(items), start, end) == brute


def hours_strategy() -> st.SearchStrategy[dict[str, int]]:
    return st.builds(
        lambda o, length: {
            "openHour": o // 60, "openMinute": o % 60,
            "closeHour": (o + length) // 60, "closeMinute": (o + length) % 60,
        },
        st.integers(0, 23 * 60 - 1).map(lambda m: m - m % 15),
        st.integers(15, 8 * 60).map(lambda m: m - m % 15),
    ).filter(lambda h: h["closeHour"] < 24)  # fmt: skip


calendars = st.fixed_dictionaries(
    {
        "openHours": st.lists(
            st.fixed_dictionaries(
                {
                    "daysOfTheWeek": st.lists(st.integers(0, 6), min_size=1, max_size=7),
                    "hours": st.lists(hours_strategy(), min_size=1, max_size=2),
                }
            ),
            min_size=1,
            max_size=3,
        ),
        "slotDuration": st.sampled_from([15, 20, 30, 45, 60, 90]),
        "slotInterval": st.sampled_from([10, 15, 30, 40, 60]),
        "preBuffer": st.sampled_from([0, 5, 15]),
        "slotBuffer": st.sampled_from([0, 10, 30]),
    }
)


def busy_strategy(base: int) -> st.SearchStrategy[list[list[tuple[int, int]]]]:
    one = st.tuples(st.integers(0, 4 * 24 * 4), st.integers(1, 16)).map(
        lambda t: (base + t[0] * 15 * M, base + (t[0] + t[1]) * 15 * M)
    )
    return st.lists(st.lists(one, max_size=6), max_size=3)


def compute(fields: dict[str, Any], tz_name: str, window: tuple[int, int], busy: Any, now: int,
            mode: slots.Mode = "any") -> list[int]:  # fmt: skip
    schedule = slots.Schedule(
        availability=slots.availability_of(fields), rules=slots.rules_of(fields), tz=zone(tz_name)
    )
    return slots.free_slots(schedule, window, busy, now, mode)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], str, tuple[int, int], Any, int]:
    base = draw(st.sampled_from(BASES))
    start = base + draw(st.integers(0, 24)) * 3_600_000
    window = (start, start + draw(st.integers(1, 4 * 24)) * 3_600_000)
    now = base + draw(st.integers(-DAY, 3 * DAY))
    return draw(calendars), draw(st.sampled_from(ZONES)), window, draw(busy_strategy(base)), now


@settings(max_examples=150, deadline=None)
@given(cases())
def test_free_slots_are_sound_and_complete(
    case: tuple[dict[str, Any], str, tuple[int, int], Any, int],
) -> None:
    fields, tz_name, window, busy, now = case
    rules = slots.rules_of(fields)
    tz = zone(tz_name)
    opening = slots.openings(slots.availability_of(fields), tz, *window)
    members = busy or [[]]

    def free_for_one(slot: int) -> bool:
        span = (slot - rules.pre_buffer_ms, slot + rules.duration_ms + rules.post_buffer_ms)
        return any(not any(s < span[1] and e > span[0] for s, e in m) for m in members)

    found = compute(fields, tz_name, window, busy, now)
    for slot in found:
        assert window[0] <= slot < window[1] and slot >= now
        assert any(o <= slot and slot + rules.duration_ms <= c for o, c in opening)
        assert free_for_one(slot)
    # and complete: every candidate start left out is out of bounds or taken for everyone
    candidates = slots.slot_starts(opening, rules.duration_ms, rules.interval_ms)
    for slot in set(candidates) - set(found):
        assert not (window[0] <= slot < window[1] and slot >= now) or not free_for_one(slot)


@settings(max_examples=100, deadline=None)
@given(cases(), st.tuples(st.integers(0, 3 * 96), st.integers(1, 12)))
def test_more_blocked_time_never_adds_a_slot(
    case: tuple[dict[str, Any], str, tuple[int, int], Any, int], extra: tuple[int, int]
) -> None:
    fields, tz_name, window, busy, now = case
    before = compute(fields, tz_name, window, busy, now)
    block = (window[0] + extra[0] * 15 * M, window[0] + (extra[0] + extra[1]) * 15 * M)
    more = [[*m, block] for m in busy] or [[block]]
    after = compute(fields, tz_name, window, more, now)
    assert set(after) <= set(before)
    assert set(compute(fields, tz_name, window, busy, now, "all")) <= set(before)
    assert set(before) <= set(compute(fields, tz_name, window, [], now))


@settings(max_examples=100, deadline=None)
@given(cases(), st.floats(0, 1))
def test_windows_add_up(
    case: tuple[dict[str, Any], str, tuple[int, int], Any, int], where: float
) -> None:
    fields, tz_name, (start, end), busy, now = case
    middle = start + int((end - start) * where)
    whole = compute(fields, tz_name, (start, end), busy, now)
    parts = compute(fields, tz_name, (start, middle), busy, now) if middle > start else []
    parts += compute(fields, tz_name, (middle, end), busy, now)
    assert whole == parts


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(BASES), hours_strategy())
def test_every_day_opens_at_the_same_wall_time(tz_name: str, base: int, h: dict[str, int]) -> None:
    fields = {"openHours": [{"daysOfTheWeek": list(range(7)), "hours": [h]}]}
    tz = zone(tz_name)
    for opened, _ in slots.openings(slots.availability_of(fields), tz, base, base + 14 * DAY):
        wall = from_ms(opened, tz)
        expected = datetime(wall.year, wall.month, wall.day, h["openHour"], h["openMinute"])
        local = expected.replace(tzinfo=tz)
        # only a time in a gap (or fold) has two offsets; a gap moves it forward by the gap
        ambiguous = local.utcoffset() != local.replace(fold=1).utcoffset()
        assert wall.replace(tzinfo=None) == expected or ambiguous

"""Free-slot arithmetic against hand-computed tables: DST weeks, gaps and folds, buffers,
intervals that do not divide the opening, partial blocks, members, custom dates, notice."""

from __future__ import annotations

from typing import Any

import pytest

from slotblock.core import slots
from slotblock.core.errors import Unprocessable
from slotblock.core.isotime import parse_iso, zone
from slotblock.core.rrule_work import Budget, WorkExceeded

NY = zone("America/New_York")
LONG_AGO = parse_iso("2000-01-01T00:00:00Z")


def hours(open_: str, close: str) -> dict[str, int]:
    oh, om = map(int, open_.split(":"))
    ch, cm = map(int, close.split(":"))
    return {"openHour": oh, "openMinute": om, "closeHour": ch, "closeMinute": cm}


def calendar(days: list[int], *ranges: tuple[str, str], **fields: Any) -> dict[str, Any]:
    return {"openHours": [{"daysOfTheWeek": days, "hours": [hours(*r) for r in ranges]}], **fields}


def at(text: str) -> int:
    return parse_iso(text)


def free(
    fields: dict[str, Any],
    start: str,
    end: str,
    busy: list[list[tuple[str, str]]] | None = None,
    now: int = LONG_AGO,
    mode: slots.Mode = "any",
) -> dict[str, list[str]]:
    """The free slots of a calendar in New York, by local date."""
    members = [[(at(s), at(e)) for s, e in member] for member in (busy or [])]
    found = slots.free_slots(schedule(fields), (at(start), at(end)), members, now, mode)
    return slots.by_local_date(found, NY)


def schedule(fields: dict[str, Any], tz: Any = NY) -> slots.Schedule:
    return slots.Schedule(
        availability=slots.availability_of(fields), rules=slots.rules_of(fields), tz=tz
    )


EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def test_spring_forward_week_keeps_wall_clock() -> None:
    cal = calendar(EVERY_DAY, ("09:00", "10:00"))
    got = free(cal, "2024-03-09T00:00:00-05:00", "2024-03-11T00:00:00-04:00")
    assert got == {
        "2024-03-09": ["2024-03-09T09:00:00-05:00", "2024-03-09T09:30:00-05:00"],
        "2024-03-10": ["2024-03-10T09:00:00-04:00", "2024-03-10T09:30:00-04:00"],
    }


def test_fall_back_week_keeps_wall_clock() -> None:
    cal = calendar(EVERY_DAY, ("09:00", "10:00"), slotDuration=1, slotDurationUnit="hours")
    got = free(cal, "2024-11-02T00:00:00-04:00", "2024-11-04T00:00:00-05:00")
    assert got == {
        "2024-11-02": ["2024-11-02T09:00:00-04:00"],
        "2024-11-03": ["2024-11-03T09:00:00-05:00"],
    }


def test_opening_in_the_gap_moves_forward_by_the_gap() -> None:
    # 02:00 does not exist on 2024-03-10 in New York: the opening is 03:00 EDT.
    cal = calendar([0], ("02:00", "04:00"))
    got = free(cal, "2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00")
    assert got == {"2024-03-10": ["2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"]}


def test_opening_in_the_fold_is_its_first_occurrence() -> None:
    # 01:00 happens twice on 2024-11-03: the opening is the first (EDT); 01:00-03:00 lasts 3 h.
    cal = calendar([0], ("01:00", "03:00"), slotDuration=60, slotInterval=60)
    got = free(cal, "2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00")
    assert got == {
        "2024-11-03": [
            "2024-11-03T01:00:00-04:00",
            "2024-11-03T01:00:00-05:00",
            "2024-11-03T02:00:00-05:00",
        ]
    }


MONDAY = "2024-06-03T00:00:00-04:00", "2024-06-04T00:00:00-04:00"


def day(*times: str) -> dict[str, list[str]]:
    return {"2024-06-03": [f"2024-06-03T{t}:00-04:00" for t in times]} if times else {}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # 45-minute slots every 40 minutes in 09:00-11:00: 10:20 would end at 11:05
        ({"slotDuration": 45, "slotInterval": 40}, day("09:00", "09:40")),
        # 30-minute slots every 45 minutes: the last one ends exactly at the closing
        ({"slotDuration": 30, "slotInterval": 45}, day("09:00", "09:45", "10:30")),
        # a slot longer than the opening
        ({"slotDuration": 3, "slotDurationUnit": "hours"}, day()),
        # the spec's defaults: 30 minutes, every 30 minutes
        ({}, day("09:00", "09:30", "10:00", "10:30")),
    ],
)
def test_intervals_that_do_not_divide_the_opening(
    fields: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    assert free(calendar([1], ("09:00", "11:00"), **fields), *MONDAY) == expected


def test_a_block_covering_half_a_slot_takes_the_slot() -> None:
    cal = calendar([1], ("09:00", "12:00"), slotDuration=60, slotInterval=60)
    busy = [[("2024-06-03T10:30:00-04:00", "2024-06-03T11:00:00-04:00")]]
    assert free(cal, *MONDAY, busy) == day("09:00", "11:00")


def test_buffers_before_and_after() -> None:
    cal = calendar([1], ("09:00", "12:00"), preBuffer=15, slotBuffer=15)
    busy = [[("2024-06-03T10:30:00-04:00", "2024-06-03T11:00:00-04:00")]]
    # [start - 15, start + 45) must miss 10:30-11:00
    assert free(cal, *MONDAY, busy) == day("09:00", "09:30", "11:30")


def test_buffer_in_hours_reaches_outside_the_opening() -> None:
    cal = calendar([1], ("09:00", "11:00"), slotBuffer=1, slotBufferUnit="hours")
    busy = [[("2024-06-03T11:45:00-04:00", "2024-06-03T12:00:00-04:00")]]
    assert free(cal, *MONDAY, busy) == day("09:00", "09:30", "10:00")


def test_touching_block_does_not_take_the_slot() -> None:
    cal = calendar([1], ("09:00", "10:00"))
    busy = [[("2024-06-03T08:00:00-04:00", "2024-06-03T09:00:00-04:00")]]
    assert free(cal, *MONDAY, busy) == day("09:00", "09:30")


def test_round_robin_one_free_member_is_enough_collective_needs_all() -> None:
    cal = calendar([1], ("09:00", "12:00"), slotDuration=60, slotInterval=60)
    ann = [("2024-06-03T09:00:00-04:00", "2024-06-03T10:00:00-04:00")]
    bob = [("2024-06-03T10:00:00-04:00", "2024-06-03T11:00:00-04:00")]
    assert free(cal, *MONDAY, [ann, bob]) == day("09:00", "10:00", "11:00")
    assert free(cal, *MONDAY, [ann, bob], mode="all") == day("11:00")
    assert free(cal, *MONDAY, [ann + bob, bob]) == day("09:00", "11:00")


def test_several_ranges_a_day_and_overnight() -> None:
    cal = calendar([1], ("09:00", "10:00"), ("14:00", "15:00"), slotDuration=60, slotInterval=60)
    assert free(cal, *MONDAY) == day("09:00", "14:00")
    overnight = calendar([0], ("23:00", "01:00"), slotDuration=60, slotInterval=60)
    got = free(overnight, "2024-06-02T00:00:00-04:00", "2024-06-04T00:00:00-04:00")
    assert got == {
        "2024-06-02": ["2024-06-02T23:00:00-04:00"],
        "2024-06-03": ["2024-06-03T00:00:00-04:00"],
    }


CUSTOM = [
    {"date": "2024-06-03T00:00:00.000Z", "hours": [hours("13:00", "14:00")]},
    {"date": "2024-06-04T00:00:00.000Z", "hours": []},  # a day off
    {"date": "2024-06-05T00:00:00.000Z", "hours": [hours("07:00", "08:00")], "deleted": True},
]
WEEK = "2024-06-03T00:00:00-04:00", "2024-06-06T00:00:00-04:00"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (None, {"2024-06-03": ["13:00"], "2024-06-05": ["09:00"]}),
        (0, {"2024-06-03": ["09:00"], "2024-06-04": ["09:00"], "2024-06-05": ["09:00"]}),
        (1, {"2024-06-03": ["13:00"]}),
    ],
)
def test_availability_type_chooses_weekly_custom_or_both(
    kind: int | None, expected: dict[str, list[str]]
) -> None:
    cal = calendar(
        EVERY_DAY, ("09:00", "10:00"), slotDuration=60, availabilities=CUSTOM, availabilityType=kind
    )
    got = {d: [t[11:16] for t in ts] for d, ts in free(cal, *WEEK).items()}
    assert got == expected


def test_minimum_notice_and_booking_horizon() -> None:
    cal = calendar(EVERY_DAY, ("09:00", "12:00"), slotDuration=60, slotInterval=60)
    now = at("2024-06-03T08:30:00-04:00")
    week = "2024-06-03T00:00:00-04:00", "2024-06-06T00:00:00-04:00"
    notice = {**cal, "allowBookingAfter": 2, "allowBookingAfterUnit": "hours"}
    got = free(notice, *week, now=now)
    assert got["2024-06-03"] == ["2024-06-03T11:00:00-04:00"]
    horizon = {**cal, "allowBookingFor": 1, "allowBookingForUnit": "days"}
    assert free(horizon, *week, now=now) == {
        "2024-06-03": [f"2024-06-03T{h}:00:00-04:00" for h in ("09", "10", "11")]
    }
    # past slots are never bookable
    assert free(cal, *week, now=at("2024-06-05T10:30:00-04:00")) == {
        "2024-06-05": ["2024-06-05T11:00:00-04:00"]
    }


def test_notice_in_days_counts_wall_clock_across_dst() -> None:
    cal = calendar(EVERY_DAY, ("09:00", "10:00"), slotDuration=60, slotInterval=60)
    cal |= {"allowBookingAfter": 1, "allowBookingAfterUnit": "days"}
    now = at("2024-03-09T09:00:00-05:00")  # + 1 day is 09:00 EDT, 23 hours later
    got = free(cal, "2024-03-09T00:00:00-05:00", "2024-03-12T00:00:00-04:00", now=now)
    assert list(got) == ["2024-03-10", "2024-03-11"]


def test_the_answer_zone_only_changes_the_spelling() -> None:
    cal = calendar([1], ("09:00", "10:00"), slotDuration=60, slotInterval=60)
    found = slots.free_slots(schedule(cal), (at(MONDAY[0]), at(MONDAY[1])), [], LONG_AGO)
    assert slots.by_local_date(found, zone("Asia/Kolkata")) == {
        "2024-06-03": ["2024-06-03T18:30:00+05:30"]
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"openHours": "nine to five"},
        {"openHours": [{"daysOfTheWeek": [9, "x", True], "hours": [hours("09:00", "10:00")]}]},
        {"openHours": [{"daysOfTheWeek": [1], "hours": [{"openHour": "9"}]}]},
        {"availabilities": [{"date": "someday", "hours": []}], "availabilityType": 1},
    ],
)
def test_malformed_stored_fields_give_no_hours(fields: dict[str, Any]) -> None:
    assert free(fields, *MONDAY) == {}


def test_malformed_durations_fall_back_to_the_defaults() -> None:
    rules = slots.rules_of(
        {"slotDuration": -5, "slotInterval": "ten", "slotBuffer": True, "preBuffer": 1e12,
         "allowBookingAfter": None, "slotDurationUnit": "years", "slotIntervalUnit": ["x"],
         "allowBookingFor": 2, "allowBookingForUnit": {"x": 1}}
    )  # fmt: skip
    assert rules == slots.SlotRules(horizon=(2, "days"))
    assert slots.rules_of({"slotDuration": 0.001}).duration_ms == 30 * slots.MINUTE_MS
    assert slots.rules_of({"slotDuration": 2, "slotDurationUnit": "hours"}).duration_ms == (
        2 * slots.HOUR_MS
    )


def test_identical_and_overlapping_ranges_are_one_opening() -> None:
    same = calendar([1], *[("09:00", "10:00")] * 1_000)
    assert free(same, *MONDAY) == day("09:00", "09:30")
    # 09:00-10:15 and 10:00-11:00 overlap: open 09:00-11:00, slots step from 09:00
    overlapping = calendar([1], ("10:00", "11:00"), ("09:00", "10:15"))
    assert free(overlapping, *MONDAY) == day("09:00", "09:30", "10:00", "10:30")
    # touching ranges stay two openings (slots step from each)
    touching = calendar([1], ("09:00", "09:45"), ("09:45", "10:30"), slotDuration=45)
    assert free(touching, *MONDAY) == day("09:00", "09:45")
    assert slots.merged([slots.Hours(22 * 60, 60), slots.Hours(23 * 60, 120)]) == (
        slots.Hours(22 * 60, 26 * 60),
    )


def test_an_overnight_range_joins_the_next_days_opening() -> None:
    cal = {"openHours": [
        {"daysOfTheWeek": [0], "hours": [hours("23:00", "01:00")]},
        {"daysOfTheWeek": [1], "hours": [hours("00:30", "02:00")]},
    ], "slotDuration": 60, "slotInterval": 60}  # fmt: skip
    got = free(cal, "2024-06-02T00:00:00-04:00", "2024-06-04T00:00:00-04:00")
    assert got == {
        "2024-06-02": ["2024-06-02T23:00:00-04:00"],
        "2024-06-03": ["2024-06-03T00:00:00-04:00", "2024-06-03T01:00:00-04:00"],
    }


def test_the_shape_of_the_work_is_bounded() -> None:
    limits = slots.Limits(custom_dates=2, ranges_per_day=2, slots=10)
    three = calendar([1], ("09:00", "10:00"), ("11:00", "12:00"), ("13:00", "14:00"))
    with pytest.raises(Unprocessable, match="more than 2 separate ranges on one day"):
        slots.availability_of(three, limits)
    assert slots.availability_of(calendar([1], *[("09:00", "10:00")] * 50), limits)
    dates = [{"date": f"2024-06-0{d}T00:00:00.000Z", "hours": []} for d in (3, 4, 5)]
    with pytest.raises(Unprocessable, match="more than 2 custom dates"):
        slots.availability_of({"availabilities": dates}, limits)
    eleven = calendar([1], ("09:00", "14:30"))  # 11 half-hour slots
    with pytest.raises(Unprocessable, match="more than 10 possible slots"):
        slots.free_slots(
            slots.Schedule(slots.availability_of(eleven), slots.rules_of(eleven), NY),
            (at(MONDAY[0]), at(MONDAY[1])), [], LONG_AGO, most=10,
        )  # fmt: skip


def test_every_candidate_and_member_check_is_charged() -> None:
    cal = calendar([1], ("09:00", "12:00"), slotDuration=60, slotInterval=60)  # 3 slots
    everyone_busy = [[(at(MONDAY[0]), at(MONDAY[1]))]] * 4
    window = (at(MONDAY[0]), at(MONDAY[1]))

    def spent(busy: list[list[tuple[int, int]]], mode: slots.Mode) -> int:
        budget = Budget(1_000)
        slots.free_slots(
            slots.Schedule(slots.availability_of(cal), slots.rules_of(cal), NY),
            window, busy, LONG_AGO, mode, budget,
        )  # fmt: skip
        return budget.spent

    assert spent(everyone_busy, "any") == 3 * (1 + 4)  # every member checked
    assert spent([[]] * 4, "any") == 3 * (1 + 1)  # the first free member is enough
    assert spent([[]] * 4, "all") == 3 * (1 + 4)
    with pytest.raises(WorkExceeded):
        slots.free_slots(
            slots.Schedule(slots.availability_of(cal), slots.rules_of(cal), NY),
            window, everyone_busy, LONG_AGO, "any", Budget(14),
        )  # fmt: skip

"""Every RRULE part within the range RFC 5545 §3.3.10 gives it, refused by name otherwise.

dateutil accepts some values the RFC excludes (BYMONTHDAY=0, BYWEEKNO=0, an ordinal on a
WEEKLY BYDAY, which it silently drops) and raises on others with its own words; a few
(COUNT=²: `str.isdigit` says yes, `int` says no) once escaped as a ValueError, a 500.
"""

from __future__ import annotations

import pytest

from slotblock.core import recurrence as rec
from slotblock.core.errors import RecurrenceError
from slotblock.core.isotime import parse_iso

START = parse_iso("2024-01-01T10:00:00Z")  # a Monday, the 1st, day 1 of the year, week 1


def parse(rule: str) -> rec.Rule:
    return rec.parse_rule(rule, start_ms=START, zone_name="UTC", max_count=1000, work=50_000)


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY"),
        ("FREQ=YEARLY;BYYEARDAY=0", "BYYEARDAY"),
        ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY"),
        ("FREQ=YEARLY;BYWEEKNO=0", "BYWEEKNO"),
        ("FREQ=YEARLY;BYWEEKNO=-54", "BYWEEKNO"),
        ("FREQ=YEARLY;BYMONTH=0", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR"),
        ("FREQ=DAILY;BYHOUR=+10", "BYHOUR"),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE"),
        ("FREQ=DAILY;BYSECOND=61", "BYSECOND"),
        ("FREQ=DAILY;BYSECOND=60", "BYSECOND"),  # a leap second: instants here have none
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=-6MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY"),  # an ordinal only MONTHLY and YEARLY give meaning
        ("FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO", "BYDAY"),
        ("FREQ=DAILY;BYDAY=MO,XX", "BYDAY"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=١", "INTERVAL"),  # Arabic-Indic one: isdigit, but not RFC digits
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=²", "COUNT"),  # isdigit() is true, int() raised: once a 500
        ("FREQ=DAILY;WKST=XX", "WKST"),
        ("FREQ=DAILY;BYMONTHDAY=1,,2", "BYMONTHDAY"),
        ("FREQ=DAILY;BYMONTHDAY=99999999999999999999", "BYMONTHDAY"),
        ("FREQ=DAILY;BYWEEKNO=1", "BYWEEKNO"),  # MUST NOT: BYWEEKNO outside YEARLY
        ("FREQ=MONTHLY;BYYEARDAY=1", "BYYEARDAY"),  # MUST NOT with DAILY, WEEKLY, MONTHLY
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),  # MUST NOT with WEEKLY
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),  # only beside another BY part
    ],
)
def test_out_of_range_parts_are_refused_by_name(rule: str, named: str) -> None:
    with pytest.raises(RecurrenceError, match=named):
        parse(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYMONTHDAY=1,31,-1,-31",
        "FREQ=YEARLY;BYYEARDAY=1,366,-366",
        "FREQ=YEARLY;BYWEEKNO=1,53,-53",
        "FREQ=YEARLY;BYMONTH=1,12;BYMONTHDAY=1",
        "FREQ=DAILY;BYHOUR=0,10,23;BYMINUTE=0,59;BYSECOND=0,59",
        "FREQ=MONTHLY;BYDAY=1MO,-1FR,+2TU,5WE,-5TH",
        "FREQ=YEARLY;BYDAY=1MO,53SU,-53SA",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1,366,-366",
        "FREQ=WEEKLY;INTERVAL=1000;WKST=SU;BYDAY=MO",
        "FREQ=DAILY;COUNT=1000",
        "FREQ=HOURLY;BYYEARDAY=1",
    ],
)
def test_the_edges_of_each_range_are_accepted(rule: str) -> None:
    assert parse(rule).text == "RRULE:" + rule


def test_the_message_names_the_part_and_its_range() -> None:
    with pytest.raises(RecurrenceError) as refused:
        parse("FREQ=MONTHLY;BYMONTHDAY=0")
    assert (
        str(refused.value) == "BYMONTHDAY values must be from 1 to 31 or from -31 to -1; 0 is not"
    )

"""The clock's arithmetic and parsing, pure: real time passed in."""

from __future__ import annotations

import pytest

from slotblock.core.clock import (
    ClockSetting,
    changed,
    iso_utc,
    now_of,
    parse_duration,
    parse_instant,
)
from slotblock.core.isotime import parse_iso

REAL = 1_800_000_000_000


def test_real_time_until_set() -> None:
    assert now_of(None, REAL) == REAL


def test_a_set_clock_ticks_with_real_time_unless_frozen() -> None:
    ticking = changed(None, REAL, now_ms=1_000)
    assert ticking == ClockSetting(1_000, REAL, frozen=False)
    assert ticking.at(REAL + 500) == 1_500
    frozen = changed(ticking, REAL + 500, freeze=True)
    assert frozen.at(REAL + 10_000) == 1_500
    thawed = changed(frozen, REAL + 10_000, freeze=False)
    assert thawed.at(REAL + 10_250) == 1_750


def test_advance_moves_on_from_the_current_time_and_keeps_frozen() -> None:
    frozen = changed(None, REAL, now_ms=1_000, freeze=True)
    assert changed(frozen, REAL + 99, advance_ms=60_000) == ClockSetting(61_000, REAL + 99, True)
    assert changed(None, REAL, advance_ms=5).at(REAL) == REAL + 5
    with pytest.raises(ValueError, match="between 1970 and 9999"):
        changed(None, REAL, now_ms=253402300799999, advance_ms=1)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (0, 0),
        (1767600000000, 1767600000000),
        ("2026-01-05T09:00:00+01:00", parse_iso("2026-01-05T08:00:00Z")),
        ("2026-01-05T08:00:00.250Z", parse_iso("2026-01-05T08:00:00Z") + 250),
    ],
)
def test_instants(given: int | str, expected: int) -> None:
    assert parse_instant(given) == expected


@pytest.mark.parametrize(
    "given", [-1, True, "2026-01-05T09:00:00", "tomorrow", "", "1767600000000"]
)
def test_bad_instants(given: int | str) -> None:
    with pytest.raises(ValueError, match=r"must be|between"):
        parse_instant(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (0, 0),
        (1500, 1500),
        ("1500", 1500),
        ("500ms", 500),
        ("90s", 90_000),
        ("15m", 900_000),
        ("2h", 7_200_000),
        ("7d", 604_800_000),
        ("1w", 604_800_000),
        ("1d2h30m", 95_400_000),
        ("1h 30m", 5_400_000),
        ("PT2H", 7_200_000),
        ("PT1M30.5S", 90_500),
        ("P7D", 604_800_000),
        ("P1DT12H", 129_600_000),
        ("p1w", 604_800_000),
    ],
)
def test_durations(given: int | str, expected: int) -> None:
    assert parse_duration(given) == expected


@pytest.mark.parametrize("given", [-1, False, "", "P", "PT", "2 hours", "h", "1y", "P1M2"])
def test_bad_durations(given: int | str) -> None:
    with pytest.raises(ValueError, match="must be"):
        parse_duration(given)


def test_iso_utc_to_the_millisecond() -> None:
    assert iso_utc(parse_iso("2026-01-05T09:00:00+01:00") + 7) == "2026-01-05T08:00:00.007Z"

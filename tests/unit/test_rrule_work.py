"""Metered dateutil walks: the same occurrences as dateutil, a budget that stops a rule
that never matches, a horizon that ends a walk whatever the rule; the one retry loop."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from dateutil.rrule import rrulestr

from slotblock.core import recurrence as rec
from slotblock.core.errors import Conflict, TooMuchWork
from slotblock.core.isotime import parse_iso
from slotblock.core.rrule_work import Budget, WorkExceeded, walk
from slotblock.service.write_retry import until_written

START = datetime(2026, 2, 1, 9)


def fresh(rule: str) -> object:
    return rrulestr(rule, dtstart=START, cache=False)


@pytest.mark.parametrize(
    "rule",
    ["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=9", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=7", "FREQ=HOURLY;COUNT=30"],
)
def test_walk_yields_what_dateutil_yields(rule: str) -> None:
    assert list(walk(fresh(rule), Budget(10_000))) == list(fresh(rule))  # type: ignore[arg-type,call-overload]


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30"]
)
def test_budget_stops_a_rule_that_never_matches(rule: str) -> None:
    began = time.perf_counter()
    with pytest.raises(WorkExceeded):
        next(walk(fresh(rule), Budget(20_000)))  # type: ignore[arg-type]
    assert time.perf_counter() - began < 1.0


def test_horizon_ends_the_walk_cheaply() -> None:
    budget = Budget(10**9)
    horizon = datetime(2027, 1, 1)
    assert list(walk(fresh("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"), budget, horizon)) == []  # type: ignore[arg-type]
    assert budget.spent < 400


def test_never_matching_rule_is_refused_at_parse() -> None:
    with pytest.raises(TooMuchWork):
        rec.parse_rule(
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            start_ms=parse_iso("2026-02-28T09:00:00Z"),
            zone_name="UTC",
            max_count=1000,
            work=20_000,
        )


async def _never() -> None:
    return None


@pytest.mark.anyio
async def test_retry_gives_up_with_409_after_its_deadline() -> None:
    began = time.monotonic()
    with pytest.raises(Conflict):
        await until_written(_never, 0.2)
    assert time.monotonic() - began < 2


@pytest.mark.anyio
async def test_retry_returns_the_first_landed_write() -> None:
    tries = iter([None, None, "done"])

    async def attempt() -> str | None:
        return next(tries)

    assert await until_written(attempt, 5) == "done"

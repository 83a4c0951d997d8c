"""Free-slot arithmetic: opening hours minus busy intervals. Pure: no I/O, no clock.

A calendar's availability is read from its official fields (`openHours`, `availabilities`,
`availabilityType`, `slotDuration`/`Unit`, `slotInterval`/`Unit`, `slotBuffer`/`Unit`,
`preBuffer`/`Unit`, `allowBookingAfter`/`Unit`, `allowBookingFor`/`Unit`). Invariants:

* Opening hours are wall-clock times in the calendar's zone. A day's opening and closing
  become instants with `fold=0`, as the recurrence engine does: a time inside a
  spring-forward gap moves forward by the gap, an ambiguous fall-back time is its first
  occurrence. `daysOfTheWeek` counts 0 = Sunday … 6 = Saturday. A range whose close is not
  after its open closes on the next day (so 22:00-02:00 runs overnight, 00:00-00:00 is a day).
* `availabilityType` 0: only `openHours`; 1: only `availabilities`; absent (null): both,
  a custom date replacing the weekly hours of that date. A custom date with no hours is a
  day off; one marked `deleted` is ignored.
* Slot starts step by the interval, in elapsed time, from each opening; a slot must end by
  the closing. A slot with its buffers, `[start - preBuffer, start + duration + slotBuffer)`,
  is free for a member when it overlaps none of that member's busy intervals.
* Several members: `any` (round robin and every other type: one free member is enough) or
  `all` (collective: every member must be free).
* Bookable starts are `>= now + allowBookingAfter` and, when `allowBookingFor` is set,
  `< now + allowBookingFor`; calendar units (days, weeks, months) count in wall clock.
* A calendar is open during the union of its ranges: identical ranges count once, and
  ranges that overlap (share more than an instant) are one opening, from the earliest open
  to the latest close (slots step from its start); touching ranges stay two openings.
* Bounded work (`Limits`): at most `custom_dates` custom dates, `ranges_per_day` openings a
  day after merging, `slots` candidate starts per answer, each refused with Unprocessable
  naming the bound; and every slot checked against a member is charged to a work `Budget`
  (one unit a candidate and one a member checked), the budget of the request's expansion.

Stored fields are JSON kept as the client sent them: values of the wrong type or out of range
are ignored (the spec's default applies), so a read never fails on what a write accepted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from slotblock.core.errors import Unprocessable
from slotblock.core.isotime import MAX_MS, from_ms, to_ms
from slotblock.core.rrule_work import Budget

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DEFAULT_SLOT_MINUTES = 30  # the spec's default for slotDuration and slotInterval
MAX_SLOT_MS = 7 * 24 * HOUR_MS  # a longer duration, interval or buffer is ignored
_SHORT_UNITS = {"mins": MINUTE_MS, "hours": HOUR_MS}
_LONG_UNITS = {"mins", "hours", "days", "weeks", "months"}  # "mins": v3's allowBookingAfterUnit

Interval = tuple[int, int]  # [start_ms, end_ms)
Period = tuple[int, str]  # (amount, "mins" | "hours" | "days" | "weeks" | "months")
Mode = Literal["any", "all"]


@dataclass(frozen=True, order=True)
class Hours:
    """One opening range of a day, in minutes after local midnight; a close not after the
    open is on the next day (a merged range may also name it as a minute past 24:00)."""

    open_minute: int
    close_minute: int

    @property
    def end_minute(self) -> int:
        """The close in minutes after the day's midnight (past 1440 on the next day)."""
        close = self.close_minute
        return close if close > self.open_minute else close + 24 * 60


@dataclass(frozen=True)
class Limits:
    """The shape of work one free-slots answer may take (the SLOTBLOCK_MAX_SLOT_* settings)."""

    custom_dates: int = 1_000
    ranges_per_day: int = 48
    slots: int = 20_000


@dataclass(frozen=True)
class Availability:
    """Which hours each local date is open."""

    weekly: Mapping[int, tuple[Hours, ...]] = field(default_factory=dict)  # 0 = Sunday
    custom: Mapping[date, tuple[Hours, ...]] = field(default_factory=dict)
    use_weekly: bool = True
    use_custom: bool = True

    def hours_on(self, day: date) -> tuple[Hours, ...]:
        if self.use_custom and day in self.custom:
            return self.custom[day]
        if self.use_weekly:
            return self.weekly.get(day.isoweekday() % 7, ())
        return ()


@dataclass(frozen=True)
class SlotRules:
    duration_ms: int = DEFAULT_SLOT_MINUTES * MINUTE_MS
    interval_ms: int = DEFAULT_SLOT_MINUTES * MINUTE_MS
    pre_buffer_ms: int = 0
    post_buffer_ms: int = 0
    notice: Period = (0, "hours")
    horizon: Period | None = None


@dataclass(frozen=True)
class Schedule:
    """A calendar's opening hours and booking rules, in its zone: what `free_slots` asks."""

    availability: Availability
    rules: SlotRules
    tz: ZoneInfo


# --- reading the calendar's fields -------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None


def _span_ms(amount: Any, unit: Any, default_ms: int, *, positive: bool) -> int:
    """A duration given as a number and a `mins`/`hours` unit (default `mins`)."""
    number = _number(amount)
    scale = _SHORT_UNITS.get(unit, MINUTE_MS) if isinstance(unit, str) else MINUTE_MS
    if number is None or (positive and number <= 0):
        return default_ms
    ms = int(number * scale)
    smallest = MINUTE_MS if positive else 0
    return ms if smallest <= ms <= MAX_SLOT_MS else default_ms


def _period(amount: Any, unit: Any, default_unit: str) -> Period | None:
    """A period given as a number and an hours/days/weeks/months unit."""
    number = _number(amount)
    if number is None or number > 100_000:
        return None
    return int(number), unit if isinstance(unit, str) and unit in _LONG_UNITS else default_unit


def _after(now_ms: int, tz: ZoneInfo, period: Period) -> int:
    """`now_ms` plus a period: minutes and hours elapse; days, weeks and months count in
    wall clock."""
    amount, unit = period
    if unit == "mins":
        return now_ms + amount * MINUTE_MS
    if unit == "hours":
        return now_ms + amount * HOUR_MS
    step = {
        "days": relativedelta(days=amount),
        "weeks": relativedelta(weeks=amount),
        "months": relativedelta(months=amount),
    }[unit]
    try:
        return wall_to_ms(from_ms(now_ms, tz).replace(tzinfo=None) + step, tz)
    except (OverflowError, ValueError):  # past year 9999: no limit
        return MAX_MS


def _minute(hour: Any, minute: Any) -> int | None:
    h, m = _number(hour), _number(minute)
    if h is None or m is None or h > 24 or m > 60:
        return None
    return int(h) * 60 + int(m)


def _hours(items: Any) -> set[Hours]:
    out = set()
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        opening = _minute(item.get("openHour"), item.get("openMinute"))
        closing = _minute(item.get("closeHour"), item.get("closeMinute"))
        if opening is not None and closing is not None:
            out.add(Hours(opening, closing))
    return out


def merged(ranges: Iterable[Hours]) -> tuple[Hours, ...]:
    """One day's ranges, identical ones once and overlapping ones joined (ordered)."""
    out: list[Hours] = []
    for hours in sorted(ranges):
        if out and hours.open_minute < out[-1].end_minute:
            if hours.end_minute > out[-1].end_minute:
                out[-1] = Hours(out[-1].open_minute, hours.end_minute)
        else:
            out.append(hours)
    return tuple(out)


def _weekly(open_hours: Any) -> dict[int, set[Hours]]:
    weekly: dict[int, set[Hours]] = {}
    for entry in open_hours if isinstance(open_hours, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("daysOfTheWeek"), list):
            continue
        hours = _hours(entry.get("hours"))
        for day in entry["daysOfTheWeek"]:
            if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
                weekly.setdefault(day, set()).update(hours)
    return weekly


def _custom(availabilities: Any, most: int) -> dict[date, set[Hours]]:
    """`date` is `<YYYY-MM-DD in local timezone>T00:00:00.000Z`: its first ten characters."""
    if isinstance(availabilities, list) and len(availabilities) > most:
        raise Unprocessable(
            f"the calendar has more than {most} custom dates (availabilities); "
            "free slots are computed for at most that many"
        )
    custom: dict[date, set[Hours]] = {}
    for entry in availabilities if isinstance(availabilities, list) else ():
        if not isinstance(entry, dict) or entry.get("deleted") is True:
            continue
        text = entry.get("date")
        try:
            day = date.fromisoformat(text[:10]) if isinstance(text, str) else None
        except ValueError:
            day = None
        if day is not None:
            custom.setdefault(day, set()).update(_hours(entry.get("hours")))
    return custom


def _days(found: Mapping[Any, set[Hours]], most: int) -> dict[Any, tuple[Hours, ...]]:
    out = {day: merged(ranges) for day, ranges in found.items()}
    if any(len(ranges) > most for ranges in out.values()):
        raise Unprocessable(
            f"the calendar opens more than {most} separate ranges on one day; free slots are "
            "computed for at most that many"
        )
    return out


def availability_of(fields: Mapping[str, Any], limits: Limits = Limits()) -> Availability:
    """The opening hours a calendar's official fields describe; Unprocessable past `limits`."""
    kind = fields.get("availabilityType")
    most = limits.ranges_per_day
    return Availability(
        weekly=_days(_weekly(fields.get("openHours")), most),
        custom=_days(_custom(fields.get("availabilities"), limits.custom_dates), most),
        use_weekly=kind != 1,
        use_custom=kind != 0,
    )


def rules_of(fields: Mapping[str, Any]) -> SlotRules:
    """Durations, buffers and booking limits from a calendar's official fields."""
    default = DEFAULT_SLOT_MINUTES * MINUTE_MS
    return SlotRules(
        duration_ms=_span_ms(
            fields.get("slotDuration"), fields.get("slotDurationUnit"), default, positive=True
        ),
        interval_ms=_span_ms(
            fields.get("slotInterval"), fields.get("slotIntervalUnit"), default, positive=True
        ),
        pre_buffer_ms=_span_ms(
            fields.get("preBuffer"), fields.get("preBufferUnit"), 0, positive=False
        ),
        post_buffer_ms=_span_ms(
            fields.get("slotBuffer"), fields.get("slotBufferUnit"), 0, positive=False
        ),
        notice=_period(
            fields.get("allowBookingAfter"), fields.get("allowBookingAfterUnit"), "hours"
        )
        or (0, "hours"),
        horizon=_period(fields.get("allowBookingFor"), fields.get("allowBookingForUnit"), "days"),
    )


# --- arithmetic --------------------------------------------------------------------------


def wall_to_ms(wall: datetime, tz: ZoneInfo) -> int:
    """Epoch ms of a naive wall time in `tz`, with fold=0 (as the recurrence engine)."""
    return to_ms(wall.replace(tzinfo=tz, fold=0))


def local_dates(start_ms: int, end_ms: int, tz: ZoneInfo) -> list[date]:
    """Every local date in `tz` that [start_ms, end_ms) touches, plus the day before (an
    overnight range opened the day before may reach into the window)."""
    first = from_ms(start_ms, tz).date() - timedelta(days=1)
    last = from_ms(max(start_ms, end_ms - 1), tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def openings(
    availability: Availability, tz: ZoneInfo, start_ms: int, end_ms: int
) -> list[Interval]:
    """The opening intervals (instants) of the local dates around [start_ms, end_ms),
    overlapping ones joined (an overnight range may run into the next day's)."""
    out = []
    for day in local_dates(start_ms, end_ms, tz):
        midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a wall time
        for hours in availability.hours_on(day):
            opened = wall_to_ms(midnight + timedelta(minutes=hours.open_minute), tz)
            closed = wall_to_ms(midnight + timedelta(minutes=hours.end_minute), tz)
            if closed > opened:
                out.append((opened, closed))
    joined: list[Interval] = []
    for opened, closed in sorted(out):
        if joined and opened < joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], closed))
        else:
            joined.append((opened, closed))
    return joined


def slot_starts(
    opening: Sequence[Interval], duration_ms: int, interval_ms: int, most: int | None = None
) -> list[int]:
    """Starts stepping by `interval_ms` from each opening, each slot ending by its closing;
    Unprocessable when there would be more than `most`."""
    if most is not None:
        count = sum(
            (closed - duration_ms - opened) // interval_ms + 1
            for opened, closed in opening
            if closed - duration_ms >= opened
        )
        if count > most:
            raise Unprocessable(
                f"more than {most} possible slots in this window; query a shorter window"
            )
    starts: set[int] = set()
    for opened, closed in opening:
        starts.update(range(opened, closed - duration_ms + 1, interval_ms))
    return sorted(starts)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals: overlapping and touching ones merged."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def overlaps(merged: Sequence[Interval], start: int, end: int) -> bool:
    """Whether [start, end) overlaps any of the sorted, disjoint `merged` intervals."""
    at = bisect.bisect_right(merged, (start, 2**63)) - 1
    if at >= 0 and merged[at][1] > start:
        return True
    return at + 1 < len(merged) and merged[at + 1][0] < end


def booking_bounds(now_ms: int, tz: ZoneInfo, rules: SlotRules) -> tuple[int, int | None]:
    """(earliest bookable start, end of the booking horizon or None)."""
    earliest = max(now_ms, _after(now_ms, tz, rules.notice))
    return earliest, None if rules.horizon is None else _after(now_ms, tz, rules.horizon)


def free_slots(  # noqa: PLR0913 - the schedule, the question and its two bounds
    schedule: Schedule,
    window: Interval,
    busy: Sequence[Sequence[Interval]],
    now_ms: int,
    mode: Mode = "any",
    budget: Budget | None = None,
    most: int | None = None,
) -> list[int]:
    """Slot starts in [window) that are bookable and free for one (`any`) or every (`all`)
    member; `busy` holds each member's busy intervals (merged or not). Each candidate and
    each member checked cost `budget` one unit (WorkExceeded past it); more than `most`
    candidates are Unprocessable."""
    availability, rules, tz = schedule.availability, schedule.rules, schedule.tz
    start, end = window
    earliest, horizon = booking_bounds(now_ms, tz, rules)
    lo, hi = max(start, earliest), end if horizon is None else min(end, horizon)
    members = [merge(b) for b in busy] or [[]]
    budget = budget or Budget(2**62)
    candidates = slot_starts(
        openings(availability, tz, start, end), rules.duration_ms, rules.interval_ms, most
    )
    out = []
    for slot in candidates:
        if not lo <= slot < hi:
            continue
        span = (slot - rules.pre_buffer_ms, slot + rules.duration_ms + rules.post_buffer_ms)
        if _free(members, span, mode, budget):
            out.append(slot)
    return out


def _free(
    members: Sequence[Sequence[Interval]], span: Interval, mode: Mode, budget: Budget
) -> bool:
    """Whether `span` is free for one (`any`) or every (`all`) member, charging each check."""
    checked = 0
    verdict = mode == "all"
    for member in members:
        checked += 1
        if overlaps(member, *span) == verdict:  # busy, for `all`; free, for `any`
            verdict = not verdict
            break
    budget.charge(1 + checked)
    return verdict


def by_local_date(starts: Iterable[int], tz: ZoneInfo) -> dict[str, list[str]]:
    """Starts grouped by their local date in `tz`, as ISO 8601 with that instant's offset."""
    out: dict[str, list[str]] = {}
    for ms in starts:
        moment = from_ms(ms - ms % 1000, tz)
        out.setdefault(moment.date().isoformat(), []).append(moment.isoformat(timespec="seconds"))
    return out

"""Deterministic benchmark data: locations, groups, calendars, users and blocks.

Each location is generated from its own seed, so location 0 (the one the workloads query)
holds the same data whatever N is: a change in latency across N is the cost of stored
data, not of a bigger answer. Per calendar: ~500 blocks over two years around `now`;
95% one-off (15 min - 4 h, a few multi-day), 5% series (daily/weekly/monthly; COUNT,
UNTIL or endless; a fifth started years before the window; some EXDATEs and moved
instances). Blocks are bulk-loaded through the store, never through HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

import icalendar

from slotblock.core import recurrence
from slotblock.core.isotime import from_ms, to_ms, zone
from slotblock.core.model import Block, Calendar, Group, Location, Override

ZONES = ("America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney")
CALENDARS_PER_LOCATION = 10
BLOCKS_PER_CALENDAR = 500
HOUR = 3_600_000
DAY = 24 * HOUR
RULES = (
    ("FREQ=DAILY", 0.2),
    ("FREQ=WEEKLY", 0.5),
    ("FREQ=MONTHLY", 0.3),
)


@dataclass(frozen=True)
class Tenant:
    location: Location
    users: tuple[str, ...]
    groups: tuple[Group, ...]
    calendars: tuple[Calendar, ...]


def tenant(index: int) -> Tenant:
    tz = ZONES[index % len(ZONES)]
    loc = f"L{index:07d}" + "x" * 12
    location = Location(loc[:20], f"Location {index}", tz)
    users = tuple(f"U{index:07d}u{j:02d}".ljust(20, "x") for j in range(CALENDARS_PER_LOCATION))
    groups = tuple(
        Group(location.id, f"G{index:07d}g{j}".ljust(20, "x"), f"Group {j}", "", f"g{j}", True)
        for j in range(2)
    )
    calendars = tuple(
        Calendar(
            location_id=location.id,
            id=f"C{index:07d}c{j:02d}".ljust(20, "x"),
            name=f"Calendar {j}",
            description="",
            group_id=groups[j % 2].id,
            is_active=True,
            calendar_type="event",
            slug=f"c{j}",
            team_members=({"userId": users[j]},),
        )
        for j in range(CALENDARS_PER_LOCATION)
    )
    return Tenant(location, users, groups, calendars)


def blocks(
    t: Tenant, now_ms: int, per_calendar: int = BLOCKS_PER_CALENDAR, seed: int = 0
) -> Iterator[Block]:
    """The blocks of one location, from its own seed."""
    rng = random.Random(f"{seed}:{t.location.id}")
    tz = t.location.timezone
    for c, calendar in enumerate(t.calendars):
        for i in range(per_calendar):
            user_level = rng.random() < 0.3
            base = Block(
                location_id=t.location.id,
                id=f"B{t.location.id[1:8]}{c:02d}{i:06d}".ljust(20, "x"),
                calendar_id=None if user_level else calendar.id,
                assigned_user_id=t.users[c] if user_level else None,
                title=f"Block {i}",
                description="",
                notes="",
                address="",
                start_ms=0,
                end_ms=0,
                timezone=tz,
                rrule=None,
                last_start_ms=None,
                overrides=(),
                created_ms=now_ms,
                updated_ms=now_ms,
            )
            if rng.random() < 0.05:
                yield _series(rng, base, now_ms)
            else:
                yield _one_off(rng, base, now_ms)


def _one_off(rng: random.Random, base: Block, now_ms: int) -> Block:
    start = now_ms - 365 * DAY + rng.randrange(730 * 24 * 4) * 15 * 60_000
    if rng.random() < 0.01:
        duration = rng.randrange(1, 4) * DAY
    else:
        duration = rng.randrange(1, 17) * 15 * 60_000
    return replace(base, start_ms=start, end_ms=start + duration)


def _series(rng: random.Random, base: Block, now_ms: int) -> Block:
    tz = zone(base.timezone)
    years_before = rng.random() < 0.2
    first = now_ms - (rng.randrange(2, 6) * 365 if years_before else rng.randrange(0, 365)) * DAY
    wall = from_ms(first, tz).replace(hour=rng.randrange(7, 19), minute=0, second=0, microsecond=0)
    start = to_ms(wall)
    rule = rng.choices([r for r, _ in RULES], weights=[w for _, w in RULES])[0]
    ending = rng.random()
    if ending < 1 / 3:
        rule += f";COUNT={rng.randrange(5, 200)}"
    elif ending < 2 / 3:
        until = datetime.fromtimestamp((start + rng.randrange(30, 900) * DAY) / 1000, UTC)
        rule += ";UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ")
    parsed = recurrence.parse_rule(rule, start_ms=start, zone_name=base.timezone, max_count=1000)
    duration = rng.choice([15, 30, 60]) * 60_000
    series = recurrence.Series(start, duration, base.timezone, parsed, None)
    nearby = recurrence.occurrences(series, start, start + 120 * DAY, 1000)
    if nearby and rng.random() < 0.5:
        parsed = parsed.excluding(rng.choice(nearby))
    overrides: tuple[Override, ...] = ()
    kept = [s for s in nearby if s not in parsed.exdates]
    if kept and rng.random() < 0.5:
        moved = rng.choice(kept)
        overrides = (Override(moved, moved + HOUR, moved + HOUR + duration, {"title": "moved"}),)
    return replace(
        base,
        start_ms=start,
        end_ms=start + duration,
        rrule=parsed.text,
        last_start_ms=recurrence.last_start(parsed, start, base.timezone),
        overrides=overrides,
    )


def ics(block: Block) -> str:
    """One .ics file for a block (a series with its moved instances as RECURRENCE-IDs)."""
    tz = block.timezone

    def stamp(ms: int) -> str:
        return from_ms(ms, zone(tz)).strftime("%Y%m%dT%H%M%S")

    def event(start: int, end: int, extra: list[str]) -> list[str]:
        return [
            "BEGIN:VEVENT",
            f"UID:{block.id}",
            "DTSTAMP:20240101T000000Z",
            f"DTSTART;TZID={tz}:{stamp(start)}",
            f"DTEND;TZID={tz}:{stamp(end)}",
            f"SUMMARY:{block.title}",
            *extra,
            "END:VEVENT",
        ]

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//slotblock//bench//EN", _vtimezone(tz)]
    rule_lines = (block.rrule or "").split("\n") if block.rrule else []
    lines += event(block.start_ms, block.end_ms, rule_lines)
    for o in block.overrides:
        lines += event(
            o.start_ms, o.end_ms, [f"RECURRENCE-ID;TZID={tz}:{stamp(o.original_start_ms)}"]
        )
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


@lru_cache(maxsize=16)
def _vtimezone(tz: str) -> str:
    """The VTIMEZONE a TZID needs (RFC 5545 §3.6.5), from the IANA data."""
    text: str = icalendar.Timezone.from_tzid(tz).to_ical().decode().strip()
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def one_calendar(count: int, now_ms: int, seed: int = 1) -> tuple[Tenant, list[Block]]:
    """`count` blocks in one calendar (the CalDAV comparison's data set)."""
    t = tenant(9_999_999)
    t = replace(t, calendars=t.calendars[:1], users=t.users[:1])
    rng = random.Random(seed)
    out = []
    for i, block in enumerate(blocks(t, now_ms, per_calendar=count, seed=seed)):
        out.append(
            replace(block, calendar_id=t.calendars[0].id, assigned_user_id=None, id=f"P{i:019d}")
        )
    rng.shuffle(out)
    return t, out


def week_window(now_ms: int) -> tuple[int, int]:
    """The 7-day window the workloads query: the week starting at the current hour."""
    start = now_ms - now_ms % HOUR
    return start, start + 7 * DAY


def fixed_now() -> int:
    """The benchmark's 'now': fixed, so every run generates the same data."""
    return to_ms(datetime(2026, 11, 2, tzinfo=UTC))

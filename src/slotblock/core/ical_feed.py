"""PURE: the iCalendar document (RFC 5545) of a subscription feed, written with `icalendar`.

Faithful, not expanded: one VEVENT per one-off block, and one per series with its RRULE and
EXDATEs (slotblock stores no RDATE), its DTSTART in the series' zone (`DTSTART;TZID=`) so
that every client computes the occurrences on the series' wall clock across DST, plus one
VEVENT per changed instance with the same UID and a RECURRENCE-ID. A VTIMEZONE is written
for every zone used, from the IANA data. The document states what slotblock's own expansion
(core/recurrence.py) states, where RFC 5545 leaves room:

* UNTIL is written in UTC (RFC 5545 §3.3.10 requires it with a zoned DTSTART): a floating
  UNTIL is the series' wall time, a date-only UNTIL the end of that local day.
* An occurrence whose wall time falls in a spring-forward gap is, in slotblock, the instant
  the gap moves it to; RFC 5545 §3.3.5 says the same. An EXDATE of such an instant is written
  for both wall times that name it (the rule's, inside the gap, and the clock's).
* A DTSTART at the second of two equal wall times (a fall-back night) cannot be said with a
  TZID: its wall time means the first. The first instance is then written as a
  RECURRENCE-ID override at its exact (UTC) instant.
* Every instance lasts the series' exact duration: DTEND is written on the series' wall
  clock when that says the same duration, in UTC otherwise.
* Times are whole seconds.

Everything in the document comes from its blocks and `FeedSpec`: the same blocks give the
same bytes (UID, SEQUENCE from the stored version, DTSTAMP and LAST-MODIFIED from the
block's last change), so a strong ETag of the bytes holds across nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from slotblock.core import recurrence
from slotblock.core.isotime import from_ms, to_ms, zone
from slotblock.core.model import Block, Override

PRODID = "-//slotblock//iCalendar feed//EN"
BUSY = "Busy"
UTC_ZONE = ZoneInfo("UTC")
# VTIMEZONEs cover from the earliest time the document writes in the zone to this date at
# least (icalendar's default), or to `FeedSpec.zones_until_ms` when that is later.
ZONES_UNTIL = date(2038, 1, 1)


@dataclass(frozen=True)
class FeedSpec:
    """What the document says of itself."""

    name: str  # X-WR-CALNAME and NAME
    busy_only: bool  # every SUMMARY "Busy", no other text
    refresh_seconds: int  # REFRESH-INTERVAL and X-PUBLISHED-TTL
    zone: str  # the location's: its VTIMEZONE is always written (a calendar holds a component)
    zones_from_ms: int  # VTIMEZONEs cover from this instant (or the earliest time written)
    zones_until_ms: int  # … up to this instant at least


def uid(block: Block) -> str:
    """The event's UID: the same for a block as long as it exists, whatever its edits."""
    return f"{block.id}-{block.location_id}@slotblock"


def document(blocks: Sequence[Block], spec: FeedSpec) -> bytes:
    """The feed's iCalendar bytes (CRLF, lines folded at 75 octets, text escaped)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.calendar_name = spec.name
    refresh = timedelta(seconds=spec.refresh_seconds)
    calendar.refresh_interval = refresh
    calendar.add("x-published-ttl", icalendar.vDuration(refresh))
    ordered = sorted(blocks, key=lambda b: (b.start_ms, b.id))
    _add_zones(calendar, ordered, spec)  # before the events that use them
    for block in ordered:
        for event in events_of(block, spec.busy_only):
            calendar.add_component(event)
    return bytes(calendar.to_ical())


def events_of(block: Block, busy_only: bool) -> list[icalendar.Event]:
    """The VEVENTs of one block: itself, and for a series its changed instances."""
    tz = zone(block.timezone)
    master = _event(block, busy_only)
    if block.rrule is None:
        _times(master, block.start_ms, block.end_ms, tz)
        master.add("summary", _title(block.title, busy_only))
        _texts(master, block.description, block.address, busy_only)
        return [master]
    rule = recurrence.stored_rule(block.rrule)
    _series_times(master, block, tz)
    master.add("summary", _title(block.title, busy_only))
    _texts(master, block.description, block.address, busy_only)
    master.add("rrule", icalendar.vRecur.from_ical(_rrule_text(rule, block)))
    exdates = [wall for ms in sorted(rule.exdates) for wall in _walls_naming(ms, block, tz)]
    if exdates:
        master.add("exdate", exdates)
    return [master, *_overrides(block, rule, tz, busy_only)]


def _event(block: Block, busy_only: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid(block))
    event.add("dtstamp", _utc(block.updated_ms))
    event.add("created", _utc(block.created_ms))
    event.add("last-modified", _utc(block.updated_ms))
    event.add("sequence", max(block.version - 1, 0))
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE" if busy_only else "PUBLIC")
    return event


def _title(title: str, busy_only: bool) -> str:
    return BUSY if busy_only or not title else title


def _texts(event: icalendar.Event, description: str, address: str, busy_only: bool) -> None:
    if busy_only:
        return
    if description:
        event.add("description", description)
    if address:
        event.add("location", address)


def _overrides(
    block: Block, rule: recurrence.Rule, tz: ZoneInfo, busy_only: bool
) -> list[icalendar.Event]:
    """The changed instances, by original start; and the first instance when DTSTART's
    instant cannot be said on the wall clock (see the module's docstring)."""
    changed = {o.original_start_ms: o for o in block.overrides}
    first = block.start_ms
    if first not in changed and first not in rule.exdates and _exact(first, tz) is None:
        changed[first] = Override(first, first, block.end_ms, {})
    out = []
    for original in sorted(changed):
        override = changed[original]
        event = _event(block, busy_only)
        event.add("recurrence-id", _rule_wall(original, block, tz))
        _times(event, override.start_ms, override.end_ms, tz)
        texts = override.fields
        event.add("summary", _title(str(texts.get("title", block.title)), busy_only))
        description = str(texts.get("description", block.description))
        _texts(event, description, str(texts.get("address", block.address)), busy_only)
        out.append(event)
    return out


def _times(event: icalendar.Event, start_ms: int, end_ms: int, tz: ZoneInfo) -> None:
    start = _exact(start_ms, tz) or _utc(start_ms)
    end = _exact(end_ms, tz)
    if end is None or start.tzinfo is not tz or _wall_span(start, end) != end_ms - start_ms:
        end = _utc(end_ms)
    event.add("dtstart", start)
    event.add("dtend", end)


def _series_times(event: icalendar.Event, block: Block, tz: ZoneInfo) -> None:
    """DTSTART on the series' wall clock (its first occurrence as the rule sees it), and
    DTEND for the series' exact duration."""
    start = _wall(block.start_ms, tz)
    end = _exact(block.end_ms, tz)
    if end is None or _wall_span(start, end) != block.duration_ms:
        end = _utc(block.end_ms)
    event.add("dtstart", start)
    event.add("dtend", end)


def _wall_span(start: datetime, end: datetime) -> int:
    """The milliseconds a client reckons between two times: on the wall clock when they are
    in one zone (Python's and many clients' arithmetic), as instants otherwise."""
    if start.tzinfo is end.tzinfo:
        naive = end.replace(tzinfo=None) - start.replace(tzinfo=None)
        return int(naive.total_seconds() * 1000)
    return to_ms(end) - to_ms(start)


def _rrule_text(rule: recurrence.Rule, block: Block) -> str:
    until = recurrence.until_ms(rule, block.timezone)
    stamp = _utc(until).strftime("%Y%m%dT%H%M%SZ") if until is not None else ""
    return ";".join(f"{k}={stamp if k == 'UNTIL' else v}" for k, v in rule.parts)


def _rule_wall(original_ms: int, block: Block, tz: ZoneInfo) -> datetime:
    """The wall time at which the rule produced the occurrence now at `original_ms`."""
    if original_ms == block.start_ms:
        return _wall(original_ms, tz)
    walls = _walls_naming(original_ms, block, tz)
    return walls[-1]


def _walls_naming(ms: int, block: Block, tz: ZoneInfo) -> list[datetime]:
    """The wall times (aware, in `tz`) that name the occurrence at instant `ms`: its clock
    time, and the time inside a spring-forward gap that the gap moved to it, if any."""
    if ms == block.start_ms:
        return [_wall(ms, tz)]
    wall = _wall(ms, tz)
    out = [wall]
    jump = from_ms(ms, tz).utcoffset() or timedelta(0)
    before = from_ms(ms - 86_400_000, tz).utcoffset() or timedelta(0)
    if jump > before:
        inside = wall - (jump - before)
        naive = inside.replace(tzinfo=None)
        if _gap(naive, tz) and to_ms(naive.replace(tzinfo=tz, fold=0)) == ms - ms % 1000:
            out.append(inside)
    return out


def _gap(naive: datetime, tz: ZoneInfo) -> bool:
    """True when the wall time does not exist in the zone (a spring-forward gap)."""
    there = naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)
    return there.replace(tzinfo=None) != naive


def _wall(ms: int, tz: ZoneInfo) -> datetime:
    """The aware wall time of an instant, to the second (fold dropped: a TZID value has
    none)."""
    return from_ms(ms - ms % 1000, tz).replace(fold=0)


def _exact(ms: int, tz: ZoneInfo) -> datetime | None:
    """The wall time of `ms` in `tz` when a TZID value can say that instant, else None (the
    second of two equal wall times)."""
    wall = _wall(ms, tz)
    return wall if to_ms(wall) == ms - ms % 1000 else None


def _utc(ms: int) -> datetime:
    return from_ms(ms - ms % 1000, UTC_ZONE).replace(tzinfo=UTC)


def _add_zones(calendar: icalendar.Calendar, blocks: Iterable[Block], spec: FeedSpec) -> None:
    """A VTIMEZONE for each zone the events use and the location's, from the earliest time
    written in it (or `zones_from_ms`, if earlier) to `zones_until_ms` at least."""
    earliest: dict[str, int] = {spec.zone: spec.zones_from_ms}
    for block in blocks:
        first = min([block.start_ms, *(o.start_ms for o in block.overrides)])
        earliest[block.timezone] = min(earliest.get(block.timezone, spec.zones_from_ms), first)
    last = max(ZONES_UNTIL, _utc(spec.zones_until_ms).date())
    for name in sorted(earliest):
        first_day = _utc(earliest[name]).date() - timedelta(days=2)
        calendar.add_component(
            icalendar.Timezone.from_tzid(name, first_date=first_day, last_date=last)
        )

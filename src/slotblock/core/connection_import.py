"""PURE: an iCalendar document of a connected calendar as the user-level blocks it implies.

Parsing is the `icalendar` library's; recurrence stays slotblock's own (core/recurrence.py):
a series is stored as slotblock stores a client's series, and expanded by the same engine.

Per VEVENT, grouped by UID (RFC 5545 §3.8.4.7):

* a one-off event is one block; an `RRULE` is a series (its `EXDATE`s, and the instances a
  `RECURRENCE-ID` cancels or makes free, excluded); each `RDATE` is a block of its own;
* a `RECURRENCE-ID` component is an override of its occurrence (moved or edited), or of the
  `RDATE` block it names;
* `STATUS:CANCELLED` removes the event or the instance; `TRANSP:TRANSPARENT` (free time)
  blocks nothing, an opaque instance of a transparent series is a block of its own;
* times: `TZID` (IANA, or a Windows name such as "Pacific Standard Time", mapped by
  `icalendar`) is the series' zone; UTC is `UTC`; floating times and dates (all-day,
  multi-day) are wall times of the location's zone; a `VTIMEZONE` naming no known zone
  is used for one-off instants, and a series in it is skipped;
* a DTSTART that is not an occurrence of its RRULE (RFC 5545 counts it as one anyway) is a
  block of its own beside the series, which starts at the rule's first occurrence.

Anything else this cannot represent (a rule slotblock refuses, too many exceptions, no
start, no duration) is skipped with a warning: never a failed import. Each block has a
stable key (the UID, plus what makes the block one of several of that UID), so that the
same event gets the same id at every sync (`block_id`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
from dateutil.rrule import rrule, rrulestr
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from slotblock.core import recurrence
from slotblock.core.errors import RecurrenceError, TooMuchWork
from slotblock.core.isotime import to_ms, zone
from slotblock.core.model import Override
from slotblock.core.rrule_work import Budget, WorkExceeded, walk
from slotblock.core.tokens import ALPHABET, ID_LENGTH

BUSY_TITLE = "Busy"
MAX_TEXT = 4_096  # characters kept of each text of an event
MAX_WARNINGS = 50  # warnings kept per import (the count is kept beside them)
_TEXTS = (("title", "SUMMARY"), ("description", "DESCRIPTION"), ("address", "LOCATION"))


class ImportRefused(ValueError):
    """The document cannot be imported at all (not iCalendar, too many events)."""


@dataclass(frozen=True)
class ImportLimits:
    location_zone: str
    busy_only: bool = False
    max_events: int = 5_000  # VEVENT components in one document
    max_count: int = 1_000  # largest COUNT of a rule
    rule_work: int = 50_000  # recurrence work per rule (core/rrule_work.py)
    max_exceptions: int = 500  # EXDATEs plus overrides of one series
    # The document's own VTIMEZONEs that name no known zone (set by `import_calendar`).
    own_zones: Mapping[str, tzinfo] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ImportedBlock:
    key: str  # stable within the document: UID, and what tells the UID's blocks apart
    start_ms: int
    end_ms: int
    timezone: str
    texts: dict[str, str]
    rrule: str | None = None  # Rule.text: an RRULE line, then one EXDATE line
    last_start_ms: int | None = None
    overrides: tuple[Override, ...] = ()
    uid: str = ""  # the UID of the event(s) it comes from


@dataclass
class ImportResult:
    blocks: list[ImportedBlock] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    events: int = 0  # VEVENT components read

    def warn(self, uid: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{uid[:80]}: {message}")


def block_id(connection_id: str, key: str) -> str:
    """The id of a connection's block: 20 base62 characters of SHA-256(connection, key),
    the same at every sync, and like every other block id (no `_`: not an instance id)."""
    number = int.from_bytes(hashlib.sha256(f"{connection_id}\n{key}".encode()).digest())
    out = []
    for _ in range(ID_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


# --- the document ---------------------------------------------------------------------------


def import_calendar(data: bytes | str, limits: ImportLimits) -> ImportResult:
    """The blocks of an iCalendar document (one or more VCALENDARs)."""
    calendars = _parse(data)
    limits = replace(limits, own_zones=_own_zones(calendars))
    result = ImportResult()
    by_uid: dict[str, list[Any]] = {}
    for component in _events(calendars, limits.max_events):
        result.events += 1
        uid = str(component.get("UID") or _anonymous_uid(component))
        by_uid.setdefault(uid, []).append(component)
    for uid, components in by_uid.items():
        first = len(result.blocks)
        try:
            _import_uid(uid, components, limits, result)
        except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
            result.warn(uid, f"skipped: {type(exc).__name__}: {str(exc)[:200]}")
        result.blocks[first:] = [replace(b, uid=uid) for b in result.blocks[first:]]
    return result


def _parse(data: bytes | str) -> list[Any]:
    try:
        return list(icalendar.Calendar.from_ical(data, multiple=True))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ImportRefused(f"not an iCalendar document: {str(exc)[:200]}") from exc


def _events(calendars: list[Any], most: int) -> Iterator[Any]:
    count = 0
    for calendar in calendars:
        for component in calendar.walk("VEVENT"):
            count += 1
            if count > most:
                raise ImportRefused(f"the calendar holds more than {most} events")
            yield component


def _anonymous_uid(component: Any) -> str:
    """A key for an event without UID (RFC 5545 requires one; some exports omit it)."""
    return "no-uid-" + hashlib.sha256(component.to_ical()).hexdigest()[:32]


def _import_uid(uid: str, components: list[Any], limits: ImportLimits, out: ImportResult) -> None:
    components = sorted(components, key=_revision)  # the latest revision last: it wins
    masters = [c for c in components if c.get("RECURRENCE-ID") is None]
    overrides = [c for c in components if c.get("RECURRENCE-ID") is not None]
    if len(masters) > 1:
        out.warn(uid, f"{len(masters)} events share this UID: the latest revision is kept")
        masters = masters[-1:]
    if not masters:  # instances of a series this document does not hold: each on its own
        for instance in overrides:
            original = _time(instance, "RECURRENCE-ID", limits)
            _one_off(f"{uid}/{original.ms}", instance, limits, out)
        return
    _master(uid, masters[0], overrides, limits, out)


def _revision(component: Any) -> tuple[int, str]:
    """RFC 5546 §2.1.4: a higher SEQUENCE, then a later DTSTAMP, is the newer revision."""
    try:
        sequence = int(component.get("SEQUENCE") or 0)
    except ValueError:
        sequence = 0
    stamp = component.get("LAST-MODIFIED") or component.get("DTSTAMP")
    return sequence, stamp.to_ical().decode() if stamp is not None else ""


# --- times ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Time:
    ms: int
    zone: str | None  # the IANA zone the value is a wall time of; None: a VTIMEZONE of its own
    is_date: bool
    wall: datetime


def _time(component: Any, name: str, limits: ImportLimits) -> _Time:
    return _instant(component.decoded(name), _tzid(component.get(name)), limits)


def _tzid(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    return None if params is None else params.get("TZID")


def _instant(
    value: date | datetime, tzid: str | None, limits: ImportLimits, floating: str | None = None
) -> _Time:
    """A DATE or DATE-TIME value as an instant, and the zone its wall time is in. Dates and
    floating times are wall times of `floating` (by default the location's zone)."""
    local = floating or limits.location_zone
    if not isinstance(value, datetime):  # a DATE: midnight
        wall = datetime(value.year, value.month, value.day)  # noqa: DTZ001 - a wall time
        return _Time(_wall_ms(wall, local), local, True, wall)
    wall = value.replace(tzinfo=None)
    if tzid is not None:
        name = iana_zone(tzid)
        if name is not None:
            return _Time(_wall_ms(wall, name), name, False, wall)
        own = limits.own_zones.get(tzid)
        if own is not None:  # the document's own VTIMEZONE: an instant, no zone to expand in
            return _Time(to_ms(wall.replace(tzinfo=own)), None, False, wall)
        # A TZID without a zone or VTIMEZONE: read as floating, as icalendar reads it.
    if value.tzinfo is None or tzid is not None:  # floating
        return _Time(_wall_ms(wall, local), local, False, wall)
    return _Time(to_ms(value), "UTC", False, wall)  # UTC (`Z`)


def iana_zone(tzid: str) -> str | None:
    """The IANA zone a TZID names: itself, a Windows zone name ("Pacific Standard Time",
    as Outlook writes), or a globally unique TZID's trailing IANA name
    ("/freeassociation.sourceforge.net/Europe/Berlin", RFC 5545 §3.2.19)."""
    cleaned = tzid.strip().strip("/")
    parts = cleaned.split("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for candidate in candidates:
        if candidate and _is_zone(candidate):
            return candidate
    return None


def _is_zone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


def _own_zones(calendars: Any) -> dict[str, tzinfo]:
    """The document's VTIMEZONEs as time zones of this document only (icalendar's own
    lookup caches them process-wide by TZID, where one calendar's VTIMEZONE would change
    how another's times read)."""
    zones: dict[str, tzinfo] = {}
    for calendar in calendars:
        for component in calendar.walk("VTIMEZONE"):
            name = str(component.get("TZID") or "")
            if name and iana_zone(name) is None and name not in zones:
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                    zones[name] = component.to_tz(lookup_tzid=False)
    return zones


def _wall_ms(wall: datetime, zone_name: str) -> int:
    return to_ms(wall.replace(tzinfo=zone(zone_name)))


def _end_ms(component: Any, start: _Time, limits: ImportLimits) -> int | None:
    """The end of an event: DTEND, DTSTART + DURATION, or the RFC's default (a DATE event
    lasts one day; a DATE-TIME event without either ends at its start)."""
    if component.get("DTEND") is not None:
        return _time(component, "DTEND", limits).ms
    duration = component.get("DURATION")
    if duration is not None:
        delta = component.decoded("DURATION")
        if start.is_date or (delta.days and start.zone is not None):  # nominal days
            wall = start.wall + delta
            return _wall_ms(wall, start.zone or limits.location_zone)
        return start.ms + int(delta.total_seconds() * 1000)
    if start.is_date:
        return _wall_ms(start.wall + timedelta(days=1), limits.location_zone)
    return None


# --- one-off events ---------------------------------------------------------------------


def _texts(component: Any, limits: ImportLimits) -> dict[str, str]:
    if limits.busy_only:
        return {"title": BUSY_TITLE, "description": "", "notes": "", "address": ""}
    texts = {name: str(component.get(prop) or "")[:MAX_TEXT] for name, prop in _TEXTS}
    return {**texts, "notes": ""}


def _is_free(component: Any) -> bool:
    return str(component.get("TRANSP") or "").upper() == "TRANSPARENT"


def _is_cancelled(component: Any) -> bool:
    return str(component.get("STATUS") or "").upper() == "CANCELLED"


def _one_off(key: str, component: Any, limits: ImportLimits, out: ImportResult) -> None:
    """`component` as one block, unless it is cancelled, free, or lasts no time."""
    if _is_cancelled(component) or _is_free(component):
        return
    block = _block(key, component, limits, out)
    if block is not None:
        out.blocks.append(block)


def _block(
    key: str, component: Any, limits: ImportLimits, out: ImportResult
) -> ImportedBlock | None:
    if component.get("DTSTART") is None:
        out.warn(key, "skipped: no DTSTART")
        return None
    start = _time(component, "DTSTART", limits)
    end = _end_ms(component, start, limits)
    if end is None or end <= start.ms:
        out.warn(key, "skipped: the event lasts no time (it blocks nothing)")
        return None
    return ImportedBlock(
        key=key,
        start_ms=start.ms,
        end_ms=end,
        timezone=start.zone or limits.location_zone,
        texts=_texts(component, limits),
    )


# --- series -------------------------------------------------------------------------------


def _master(
    uid: str, master: Any, overrides: list[Any], limits: ImportLimits, out: ImportResult
) -> None:
    if _is_cancelled(master):
        return
    if master.get("RRULE") is None and master.get("RDATE") is None:
        _one_off(uid, master, limits, out)
        if overrides:
            out.warn(uid, "RECURRENCE-ID of an event that does not recur: ignored")
        return
    base = _block(uid, master, limits, out)
    if base is None:
        return
    changed = {_recurrence_id(o, master, limits): o for o in overrides}
    rdates = dict(_rdate_blocks(uid, master, base, limits))
    of_rdates = {original: changed.pop(original) for original in rdates if original in changed}
    free = _is_free(master)
    series = None
    if master.get("RRULE") is None:
        _one_of_many(base, changed.pop(base.start_ms, None), free, limits, out)
    else:
        series = _series(uid, master, base, changed, limits, out)
    excluded = {
        _instant(v, tzid, limits, base.timezone).ms for v, tzid in _values(master.get("EXDATE"))
    }
    for original, block in rdates.items():
        if original in excluded or (series is not None and _occurs(series, original)):
            continue  # RFC 5545 §3.8.5.2: EXDATE excludes RDATEs too; a set has no twins
        _one_of_many(block, of_rdates.get(original), free, limits, out)
    if series is None:
        _instances_apart(uid, changed, limits, out)


def _occurs(series: ImportedBlock, start_ms: int) -> bool:
    return recurrence.is_occurrence(
        recurrence.Series(
            start_ms=series.start_ms,
            duration_ms=series.end_ms - series.start_ms,
            zone=series.timezone,
            rule=recurrence.stored_rule(series.rrule or ""),
            last_start_ms=series.last_start_ms,
        ),
        start_ms,
    )


def _recurrence_id(component: Any, master: Any, limits: ImportLimits) -> int:
    """The start of the occurrence a RECURRENCE-ID names. Of a series of dates, a
    date-time names its day (some exports write `RECURRENCE-ID:20200921T000000Z`)."""
    value = component.decoded("RECURRENCE-ID")
    if isinstance(value, datetime) and not isinstance(master.decoded("DTSTART"), datetime):
        value = value.date()
    return _instant(value, _tzid(component.get("RECURRENCE-ID")), limits).ms


def _one_of_many(
    block: ImportedBlock, changed: Any, free: bool, limits: ImportLimits, out: ImportResult
) -> None:
    """An occurrence that is a block of its own: as its RECURRENCE-ID component says, if
    there is one; else as the series says (nothing, when the series is free time)."""
    if changed is not None:
        _one_off(block.key, changed, limits, out)
    elif not free:
        out.blocks.append(block)


def _rdate_blocks(
    uid: str, master: Any, base: ImportedBlock, limits: ImportLimits
) -> Iterator[tuple[int, ImportedBlock]]:
    """Each RDATE as a block of its own (slotblock's series hold one RRULE), by its start;
    an RDATE equal to DTSTART is DTSTART itself."""
    for value, tzid in _values(master.get("RDATE")):
        if isinstance(value, tuple):  # a PERIOD: (start, end or duration)
            begin = _instant(value[0], tzid, limits)
            end = value[1] if isinstance(value[1], datetime) else value[0] + value[1]
            end_ms = _instant(end, tzid, limits).ms
        else:
            begin = _instant(value, tzid, limits)
            end_ms = begin.ms + base.end_ms - base.start_ms
        if begin.ms != base.start_ms:
            key = f"{uid}/{begin.ms}"
            yield begin.ms, replace(base, key=key, start_ms=begin.ms, end_ms=end_ms)


def _values(prop: Any) -> Iterator[tuple[Any, str | None]]:
    """The values of a (possibly repeated) DATE/DATE-TIME/PERIOD list property, each
    with its TZID."""
    for item in prop if isinstance(prop, list) else [prop] if prop is not None else []:
        for one in item.dts:
            yield one.dt, _tzid(one) or _tzid(item)


def _instances_apart(
    uid: str, changed: dict[int, Any], limits: ImportLimits, out: ImportResult
) -> None:
    for original, component in changed.items():
        _one_off(f"{uid}/{original}", component, limits, out)


def _series(
    uid: str,
    master: Any,
    base: ImportedBlock,
    changed: dict[int, Any],
    limits: ImportLimits,
    out: ImportResult,
) -> ImportedBlock | None:
    """The series of an RRULE (added to `out`), its overrides applied; None when it is
    skipped or free time (then its busy instances are blocks of their own)."""
    start = _time(master, "DTSTART", limits)
    if start.zone is None:
        out.warn(uid, "skipped: a recurring event in a time zone that names no known zone")
        return None
    if _is_free(master):
        return None
    text = _rule_text(uid, master, out)
    series, alone = _anchored(uid, text, base, start, limits, out)
    if alone is not None:  # DTSTART, not an occurrence of the rule
        _one_of_many(alone, changed.pop(start.ms, None), False, limits, out)
    if series is None:
        return None
    exdates = {
        _instant(v, tzid, limits, start.zone).ms for v, tzid in _values(master.get("EXDATE"))
    }
    overrides, apart = _overrides(series, changed, exdates, limits)
    try:
        rule = _checked_rule(text, exdates | apart, series, limits)
        if len(rule.exdates) + len(overrides) > limits.max_exceptions:
            raise RecurrenceError(
                f"more than {limits.max_exceptions} changed or excluded instances"
            )
        last = recurrence.last_start(rule, series.start_ms, series.timezone, limits.rule_work)
    except (RecurrenceError, TooMuchWork) as exc:
        out.warn(uid, f"skipped: {exc}")
        return None
    done = replace(series, rrule=rule.text, last_start_ms=last)
    # A RECURRENCE-ID that names no occurrence of the rule changes nothing (RFC 5545
    # §3.8.4.4 names an instance of the set); the set's RDATEs are blocks of their own.
    kept = tuple(o for o in overrides if _occurs(done, o.original_start_ms))
    done = replace(done, overrides=kept)
    out.blocks.append(done)
    for original in list(changed):
        if original in {o.original_start_ms for o in overrides} or original in apart:
            del changed[original]
    return done


def _rule_text(uid: str, master: Any, out: ImportResult) -> str:
    rules = master.get("RRULE")
    if isinstance(rules, list):
        out.warn(uid, f"{len(rules)} RRULEs: only the first is followed")
        rules = rules[0]
    return "RRULE:" + bytes(rules.to_ical()).decode("ascii", "replace")


def _anchored(
    uid: str,
    text: str,
    base: ImportedBlock,
    start: _Time,
    limits: ImportLimits,
    out: ImportResult,
) -> tuple[ImportedBlock | None, ImportedBlock | None]:
    """(the series, starting at its rule's first occurrence; DTSTART as a block of its own
    when it is not one: RFC 5545 §3.8.5.3 counts DTSTART as the first instance always)."""
    assert start.zone is not None
    series = replace(base, timezone=start.zone)
    try:
        recurrence.parse_rule(
            text, start_ms=start.ms, zone_name=start.zone, max_count=10**9, work=limits.rule_work
        )
        return series, None
    except RecurrenceError as exc:
        if "DTSTART must be" not in str(exc):
            out.warn(uid, f"skipped: {exc}")
            return None, None
    except TooMuchWork as exc:
        out.warn(uid, f"skipped: {exc}")
        return None, None
    alone = replace(series, key=f"{uid}/dtstart")
    first_ms = _first_occurrence(text, start, zone(start.zone), limits)
    if first_ms is None:
        return None, alone  # the rule has no occurrence after DTSTART
    duration = base.end_ms - base.start_ms
    return replace(series, start_ms=first_ms, end_ms=first_ms + duration), alone


def _first_occurrence(text: str, start: _Time, tz: Any, limits: ImportLimits) -> int | None:
    body = text.removeprefix("RRULE:")
    try:
        rule = rrulestr(body, dtstart=start.wall)
        if not isinstance(rule, rrule):
            return None
        for wall in walk(rule, Budget(limits.rule_work)):
            if wall > start.wall:
                return to_ms(wall.replace(tzinfo=tz))
    except WorkExceeded:
        return None
    return None


def _overrides(
    series: ImportedBlock,
    changed: dict[int, Any],
    exdates: set[int],
    limits: ImportLimits,
) -> tuple[list[Override], set[int]]:
    """The overrides of the series' changed instances, and the instances to exclude:
    cancelled or made free ones."""
    overrides: list[Override] = []
    apart: set[int] = set()
    for original, component in changed.items():
        if _is_cancelled(component) or _is_free(component) or original in exdates:
            apart.add(original)
            continue
        block = _block(series.key, component, limits, ImportResult())
        if block is None:
            apart.add(original)
            continue
        fields = {k: v for k, v in block.texts.items() if v != series.texts.get(k)}
        overrides.append(Override(original, block.start_ms, block.end_ms, fields))
    return overrides, apart


def _checked_rule(
    text: str, exdates: set[int], series: ImportedBlock, limits: ImportLimits
) -> recurrence.Rule:
    """The rule as slotblock checks a client's, within the rule-work budget."""
    rule = recurrence.parse_rule(
        text,
        start_ms=series.start_ms,
        zone_name=series.timezone,
        max_count=limits.max_count,
        work=limits.rule_work,
    )
    return rule.excluding(*exdates)

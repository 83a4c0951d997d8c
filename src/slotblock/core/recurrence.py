"""RFC 5545 recurrence for blocked slots. Pure: no I/O, no clock, no framework.

A series is a first start (DTSTART, an instant), a duration, an IANA zone and a `Rule`
(one RRULE plus EXDATEs). Invariants this module keeps:

* Occurrences are computed in the series' wall clock (RFC 5545 §3.3.10): a weekly 09:00
  stays 09:00 local across DST. A wall time is turned into an instant with `fold=0`, which
  moves a time inside a spring-forward gap forward by the gap and gives an ambiguous
  fall-back time its first occurrence (RFC 5545 §3.3.5) — except DTSTART itself, which is
  the exact instant the client named (the second 01:30 of a fall-back night stays so).
* Work is bounded, not only output: every walk of a rule is metered (`rrule_work`). A rule
  must reach its first two occurrences within the write budget (`parse_rule(work=…)`), and a
  window's expansion stops at the window's end and charges the caller's budget.
* Every instance lasts the series' exact duration (RFC 5545 §3.8.5.3).
* UNTIL and EXDATE compare as §3.3.10 and §3.8.5.1 say: a UTC (`Z`) value against the
  instant; a floating or TZID value as a wall time in its zone.
* DTSTART must be the first occurrence of the rule (RFC 5545 leaves an unsynchronised
  DTSTART undefined; slotblock refuses it rather than guess).
* Expansion cost does not grow with a series' age: the rule is re-anchored (by whole
  periods of its FREQ×INTERVAL, after the implicit BY parts are made explicit) to just
  before the window, so only the window's occurrences are walked. COUNT is turned into the
  instant of the last occurrence once, when the series is written (`last_start`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from slotblock.core.bounded_cache import BoundedCache
from slotblock.core.errors import RecurrenceError, TooManyInstances, TooMuchWork
from slotblock.core.isotime import MAX_MS, MIN_MS, from_ms, to_ms, zone
from slotblock.core.rrule_work import Budget, WorkExceeded, walk

DAY_MS = 86_400_000
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_REFUSED_FREQS = ("MINUTELY", "SECONDLY")
_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)
# RFC 5545 §3.3.10: the numbers each BY part takes, (smallest, largest, may be negative).
_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_NUMBER = re.compile(r"([+-]?)([0-9]{1,3})")
_WEEKDAY_NUM = re.compile(r"(?:([+-]?)([0-9]{1,2}))?(MO|TU|WE|TH|FR|SA|SU)")
_DIGITS = re.compile(r"[0-9]{1,9}")
_DATE_TIME = re.compile(r"^(\d{8})T(\d{6})(Z?)$")
_DATE = re.compile(r"^\d{8}$")
_MAX_TEXT = 4096
_MAX_INTERVAL = 1000
_EXDATE_CHARS = 64  # room per allowed EXDATE (a value with its TZID line, generously)


_UNBOUNDED = 10**12  # the budget of callers that bound their walk otherwise


@dataclass(frozen=True)
class Rule:
    """One parsed, validated RRULE with its EXDATEs.

    `parts` keeps the RRULE's name/value pairs in the client's order (names upper-cased);
    `exdates` are instants in epoch ms.
    """

    parts: tuple[tuple[str, str], ...]
    exdates: frozenset[int]

    def part(self, name: str) -> str | None:
        return next((value for key, value in self.parts if key == name), None)

    @property
    def freq(self) -> str:
        return self.part("FREQ") or ""

    @property
    def interval(self) -> int:
        return int(self.part("INTERVAL") or 1)

    @property
    def text(self) -> str:
        """The normalized rule as stored and emitted: an RRULE line, then one EXDATE line."""
        line = "RRULE:" + ";".join(f"{k}={v}" for k, v in self.parts)
        if not self.exdates:
            return line
        return line + "\nEXDATE:" + ",".join(_utc_stamp(ms) for ms in sorted(self.exdates))

    def excluding(self, *starts_ms: int) -> Rule:
        """The same rule with more EXDATEs."""
        return replace(self, exdates=self.exdates | frozenset(starts_ms))


@dataclass(frozen=True)
class Series:
    """Everything needed to expand a recurring block."""

    start_ms: int
    duration_ms: int
    zone: str
    rule: Rule
    last_start_ms: int | None  # None: the rule never ends

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.zone)


def parse_rule(
    text: str | Sequence[str],
    *,
    start_ms: int,
    zone_name: str,
    max_count: int,
    work: int = _UNBOUNDED,
    max_exdates: int = _UNBOUNDED,
) -> Rule:
    """Parse the client's `rrule` (a string, or the list of lines the platform also sends).

    Accepts an `RRULE:` line (the prefix optional on a bare rule), `EXDATE` lines, and a
    `DTSTART` line equal to the block's start. Raises RecurrenceError with a clear message.
    """
    lines = _split_lines(text, max_exdates)
    tz = zone(zone_name)
    parts: tuple[tuple[str, str], ...] | None = None
    exdates: set[int] = set()
    for line in lines:
        name, params, value = _split_property(line)
        if name == "RRULE":
            if parts is not None:
                raise RecurrenceError("rrule must contain exactly one RRULE")
            parts = _parse_parts(value, max_count)
        elif name == "EXDATE":
            exdates.update(_parse_times(value, params, tz, "EXDATE"))
        elif name == "DTSTART":
            if _parse_times(value, params, tz, "DTSTART") != [start_ms - start_ms % 1000]:
                raise RecurrenceError("DTSTART in rrule must equal the block's startTime")
        else:
            raise RecurrenceError(f"rrule line {name} is not supported (RRULE, EXDATE, DTSTART)")
    if parts is None:
        raise RecurrenceError("rrule must contain an RRULE")
    if len(exdates) > max_exdates:
        raise RecurrenceError(f"rrule has more than {max_exdates} EXDATEs")
    rule = Rule(parts=parts, exdates=frozenset(exdates))
    _check_anchor(rule, start_ms, tz, Budget(work))
    return rule


def last_start(rule: Rule, start_ms: int, zone_name: str, work: int = _UNBOUNDED) -> int | None:
    """The instant of the last occurrence (COUNT), an upper bound of it (UNTIL), or None.

    TooMuchWork when COUNT occurrences cannot be walked within `work` units."""
    tz = zone(zone_name)
    until = _until_ms(rule, tz)
    count = rule.part("COUNT")
    if count is None:
        return until
    start_wall = _wall(start_ms, tz)
    last = start_ms
    try:
        for index, wall in enumerate(walk(_dateutil_rule(rule, start_wall), Budget(work))):
            if index >= int(count):
                break
            last = _series_instant(wall, tz, start_wall, start_ms)
    except WorkExceeded as exc:
        raise TooMuchWork("the RRULE's occurrences are too sparse to expand") from exc
    return last


def until_ms(rule: Rule, zone_name: str) -> int | None:
    """The instant UNTIL names (a floating value on the series' wall clock in `zone_name`,
    a date-only value at the end of that local day), or None without UNTIL."""
    return _until_ms(rule, zone(zone_name))


def occurrences(
    series: Series, lo_ms: int, hi_ms: int, limit: int, budget: Budget | None = None
) -> list[int]:
    """Starts (epoch ms) of the occurrences with lo_ms <= start <= hi_ms, EXDATEs removed.

    Raises TooManyInstances past `limit` occurrences, TooMuchWork when the walk costs more
    than `budget` (the walk ends at the window's end, whatever the rule).
    """
    if series.last_start_ms is not None:
        hi_ms = min(hi_ms, series.last_start_ms)
    lo_ms = max(lo_ms, series.start_ms)
    if lo_ms > hi_ms:
        return []
    tz = series.tz
    wall_lo = _wall(lo_ms, tz) - timedelta(days=1)
    wall_hi = _wall(hi_ms, tz) + timedelta(days=1)
    start_wall = _wall(series.start_ms, tz)
    found: set[int] = set()  # a set: two wall times can meet in one instant (a skipped day)
    walker = _walk(series.rule, start_wall, wall_lo, wall_hi, budget or Budget(_UNBOUNDED))
    try:
        for wall in walker:
            if wall > wall_hi:
                break
            instant = _series_instant(wall, tz, start_wall, series.start_ms)
            if lo_ms <= instant <= hi_ms and instant not in series.rule.exdates:
                found.add(instant)
                if len(found) > limit:
                    raise TooManyInstances(f"more than {limit} instances in the window")
    except WorkExceeded as exc:
        raise TooMuchWork("expanding the recurring blocks needs too much work") from exc
    return sorted(found)


def overlapping(
    series: Series, window_start: int, window_end: int, limit: int, budget: Budget | None = None
) -> list[int]:
    """Starts of the occurrences overlapping the half-open window [window_start, window_end)."""
    lo = window_start - series.duration_ms + 1
    return occurrences(series, lo, window_end - 1, limit, budget)


def is_occurrence(series: Series, start_ms: int) -> bool:
    """True when `start_ms` is the start of an (un-excluded) occurrence of the series."""
    return occurrences(series, start_ms, start_ms, 1) == [start_ms]


# --- parsing -----------------------------------------------------------------------------


def _split_lines(text: str | Sequence[str], max_exdates: int) -> list[str]:
    if isinstance(text, str):
        raw = [text]
    elif all(isinstance(line, str) for line in text):
        raw = list(text)
    else:
        raise RecurrenceError("rrule must be a string or an array of strings")
    longest = _MAX_TEXT + _EXDATE_CHARS * min(max_exdates, _MAX_TEXT)
    if sum(len(line) for line in raw) > longest:
        raise RecurrenceError(f"rrule is longer than {longest} characters")
    lines = [part.strip() for line in raw for part in re.split(r"\r\n|\r|\n", line)]
    lines = [line for line in lines if line]
    if not lines:
        raise RecurrenceError("rrule is empty")
    return lines


def _split_property(line: str) -> tuple[str, dict[str, str], str]:
    if ":" not in line:
        if line.upper().startswith("FREQ="):
            return "RRULE", {}, line
        raise RecurrenceError(f"rrule line {line[:40]!r} has no property name")
    head, value = line.split(":", 1)
    name, *raw_params = head.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, sep, val = raw.partition("=")
        if not sep:
            raise RecurrenceError(f"bad parameter {raw[:40]!r} in rrule")
        params[key.strip().upper()] = val.strip()
    return name.strip().upper(), params, value.strip()


def _parse_parts(value: str, max_count: int) -> tuple[tuple[str, str], ...]:
    parts: list[tuple[str, str]] = []
    for item in value.split(";"):
        key, sep, val = item.partition("=")
        key, val = key.strip().upper(), val.strip().upper()
        if not sep or not val:
            raise RecurrenceError(f"bad RRULE part {item[:40]!r}")
        if key not in _PARTS:
            raise RecurrenceError(f"unknown RRULE part {key[:20]}")
        if any(key == seen for seen, _ in parts):
            raise RecurrenceError(f"RRULE part {key} appears twice")
        parts.append((key, val))
    named = dict(parts)
    freq = named.get("FREQ")
    if freq in _REFUSED_FREQS:
        raise RecurrenceError(f"FREQ={freq} is not allowed for blocked slots")
    if freq not in _FREQS:
        raise RecurrenceError("RRULE needs FREQ=YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY")
    _check_ends(named, max_count)
    for key, bounds in _RANGES.items():
        if key in named:
            _check_numbers(key, named[key], *bounds)
    _check_byday(named)
    _check_combinations(named)
    return tuple(parts)


def _check_ends(named: dict[str, str], max_count: int) -> None:
    """COUNT, INTERVAL, UNTIL and WKST, each as RFC 5545 §3.3.10 writes it."""
    if "COUNT" in named and "UNTIL" in named:
        raise RecurrenceError("RRULE must not have both COUNT and UNTIL")
    for key, high in (("COUNT", max_count), ("INTERVAL", _MAX_INTERVAL)):
        if key in named and not (_DIGITS.fullmatch(named[key]) and 1 <= int(named[key]) <= high):
            raise RecurrenceError(f"{key} must be a whole number from 1 to {high}")
    if "UNTIL" in named and not (_DATE_TIME.match(named["UNTIL"]) or _DATE.match(named["UNTIL"])):
        raise RecurrenceError("UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ")
    if named.get("WKST", "MO") not in _WEEKDAYS:
        raise RecurrenceError("WKST must be one of MO, TU, WE, TH, FR, SA, SU")


def _check_numbers(key: str, value: str, low: int, high: int, signed: bool) -> None:
    """Every value of a numeric BY part within its RFC 5545 range (0 is never a position)."""
    allowed = f"from {low} to {high}" + (f" or from -{high} to -{low}" if signed else "")
    for item in value.split(","):
        match = _NUMBER.fullmatch(item)
        if not match or (match.group(1) and not signed):
            raise RecurrenceError(f"{key} values must be whole numbers {allowed}")
        number = int(match.group(2))
        if not low <= number <= high:
            raise RecurrenceError(f"{key} values must be {allowed}; {item} is not")
        if key == "BYSECOND" and number == 60:
            raise RecurrenceError("BYSECOND=60 (a leap second) is not supported")


def _check_byday(named: dict[str, str]) -> None:
    """BYDAY: weekdays, with an ordinal (±1..53; ±1..5 in a MONTHLY rule) only where
    RFC 5545 gives it a meaning: MONTHLY, or YEARLY without BYWEEKNO."""
    if "BYDAY" not in named:
        return
    freq = named["FREQ"]
    high = 5 if freq == "MONTHLY" else 53
    for item in named["BYDAY"].split(","):
        match = _WEEKDAY_NUM.fullmatch(item)
        if not match:
            raise RecurrenceError(f"BYDAY values must be weekdays (MO…SU); {item[:10]} is not")
        if match.group(2) is None:
            continue
        if freq not in ("MONTHLY", "YEARLY") or "BYWEEKNO" in named:
            raise RecurrenceError(
                "BYDAY ordinals (1MO, -1FR) are allowed only with FREQ=MONTHLY, "
                "or FREQ=YEARLY without BYWEEKNO"
            )
        if not 1 <= int(match.group(2)) <= high:
            raise RecurrenceError(
                f"BYDAY ordinals must be from 1 to {high} or from -{high} to -1 "
                f"with FREQ={freq}; {item} is not"
            )


def _check_combinations(named: dict[str, str]) -> None:
    """The BY parts RFC 5545 §3.3.10 forbids with a FREQ ("MUST NOT")."""
    freq = named["FREQ"]
    if "BYWEEKNO" in named and freq != "YEARLY":
        raise RecurrenceError("BYWEEKNO is allowed only with FREQ=YEARLY")
    if "BYYEARDAY" in named and freq in ("MONTHLY", "WEEKLY", "DAILY"):
        raise RecurrenceError(f"BYYEARDAY is not allowed with FREQ={freq}")
    if "BYMONTHDAY" in named and freq == "WEEKLY":
        raise RecurrenceError("BYMONTHDAY is not allowed with FREQ=WEEKLY")
    if "BYSETPOS" in named and not any(k.startswith("BY") and k != "BYSETPOS" for k in named):
        raise RecurrenceError("BYSETPOS needs another BY part (BYDAY, BYMONTHDAY…)")


def _parse_times(value: str, params: dict[str, str], tz: ZoneInfo, what: str) -> list[int]:
    if params.get("VALUE", "DATE-TIME").upper() != "DATE-TIME":
        raise RecurrenceError(f"{what} must be a DATE-TIME")
    where = tz
    if "TZID" in params:
        try:
            where = zone(params["TZID"])
        except ValueError as exc:
            raise RecurrenceError(f"{what} has an unknown TZID") from exc
    out = []
    for item in value.split(","):
        match = _DATE_TIME.match(item.strip().upper())
        if not match:
            raise RecurrenceError(f"{what} value {item[:30]!r} is not YYYYMMDDTHHMMSS[Z]")
        out.append(_stamp_ms(match, where))
    return out


def _stamp_ms(match: re.Match[str], where: ZoneInfo) -> int:
    try:
        # A wall time on purpose: its zone is applied below.
        wall = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")  # noqa: DTZ007
    except ValueError as exc:
        raise RecurrenceError(f"{match.group(0)} is not a valid date-time") from exc
    if match.group(3):
        return to_ms(wall.replace(tzinfo=UTC))
    return _instant(wall, where)


def _until_ms(rule: Rule, tz: ZoneInfo) -> int | None:
    until = rule.part("UNTIL")
    if until is None:
        return None
    # A DATE UNTIL with a DATE-TIME DTSTART: the whole of that local day is included.
    match = _DATE_TIME.match(until) or _DATE_TIME.match(until + "T235959")
    assert match is not None  # checked by _parse_parts
    return _stamp_ms(match, tz)


def _check_anchor(rule: Rule, start_ms: int, tz: ZoneInfo, budget: Budget) -> None:
    """DTSTART is the first occurrence, and the next one (if the rule has one before its
    COUNT ends) is found within `budget`: a rule too sparse to expand is refused here."""
    start_wall = _wall(start_ms, tz)
    wanted = 1 if rule.part("COUNT") == "1" else 2
    try:
        walls = list(itertools.islice(walk(_dateutil_rule(rule, start_wall), budget), wanted))
    except (ValueError, TypeError, OverflowError, IndexError, KeyError) as exc:
        raise RecurrenceError(f"RRULE cannot be parsed: {exc}") from exc
    except WorkExceeded as exc:
        raise TooMuchWork(
            "the RRULE's occurrences are too rare to find within the work limit"
        ) from exc
    if not walls or walls[0] != start_wall:
        raise RecurrenceError("startTime is not an occurrence of the RRULE (DTSTART must be)")
    until = _until_ms(rule, tz)
    if until is not None and until < start_ms - start_ms % 1000:
        raise RecurrenceError("UNTIL is before startTime")


# --- expansion ---------------------------------------------------------------------------


def _wall(ms: int, tz: ZoneInfo) -> datetime:
    """The naive wall time of an instant, to the second."""
    return from_ms(max(MIN_MS + 2 * DAY_MS, min(ms, MAX_MS - 2 * DAY_MS)), tz).replace(
        tzinfo=None, microsecond=0
    )


def _series_instant(wall: datetime, tz: ZoneInfo, start_wall: datetime, start_ms: int) -> int:
    """The instant of an occurrence: DTSTART's is the one the client named (either side of
    a fall-back), any other wall time's as `_instant` says."""
    return start_ms if wall == start_wall else _instant(wall, tz)


def _instant(wall: datetime, tz: ZoneInfo) -> int:
    """Epoch ms of a wall time (whole seconds): fold=0, so a time in a gap moves forward by
    the gap and an ambiguous time is its first occurrence."""
    return int(wall.replace(tzinfo=tz, fold=0).timestamp()) * 1000


def _explicit_parts(rule: Rule, start: datetime) -> list[tuple[str, str]]:
    """The RRULE parts without COUNT/UNTIL (handled as instants) and with the day parts
    dateutil would take from DTSTART written out, so that the rule can be re-anchored.
    The time-of-day parts need not be: a shift by whole periods keeps the wall time."""
    parts = [(k, v) for k, v in rule.parts if k not in ("COUNT", "UNTIL")]
    named = dict(parts)
    if not any(k in named for k in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")):
        if rule.freq == "YEARLY":
            named.setdefault("BYMONTH", str(start.month))
            named["BYMONTHDAY"] = str(start.day)
        elif rule.freq == "MONTHLY":
            named["BYMONTHDAY"] = str(start.day)
        elif rule.freq == "WEEKLY":
            named["BYDAY"] = _WEEKDAYS[start.weekday()]
    return list(named.items())


def _dateutil_rule(rule: Rule, start: datetime) -> rrule:
    """dateutil's rule for the wall-clock DTSTART `start` (COUNT kept, UNTIL dropped)."""
    parts = [(k, v) for k, v in rule.parts if k != "UNTIL"]
    text = "RRULE:" + ";".join(f"{k}={v}" for k, v in parts)
    result = rrulestr(text, dtstart=start, cache=False)
    assert isinstance(result, rrule)
    return result


def _periods(freq: str, start: datetime, target: datetime) -> int:
    """Whole FREQ periods from `start` to `target` (may undercount, never overcounts)."""
    if freq == "YEARLY":
        return target.year - start.year - 1
    if freq == "MONTHLY":
        return (target.year - start.year) * 12 + target.month - start.month - 1
    if freq == "WEEKLY":
        return (target - start).days // 7
    if freq == "DAILY":
        return (target - start).days
    return int((target - start).total_seconds() // 3600)


def _shift(freq: str, start: datetime, periods: int) -> datetime:
    if freq == "YEARLY":
        return start + relativedelta(years=periods)
    if freq == "MONTHLY":
        return start + relativedelta(months=periods)
    if freq == "WEEKLY":
        return start + timedelta(weeks=periods)
    if freq == "DAILY":
        return start + timedelta(days=periods)
    return start + timedelta(hours=periods)


def _walk(
    rule: Rule, start: datetime, target: datetime, horizon: datetime, budget: Budget
) -> Iterator[datetime]:
    """The rule's wall-clock occurrences, beginning at or before `target` when it is after
    `start`; occurrences before `target` may be skipped (never ones at or after it). The
    walk ends after `horizon` and charges `budget`."""
    whole = max(0, _periods(rule.freq, start, target) // rule.interval) * rule.interval
    if whole == 0:
        parts = [(k, v) for k, v in rule.parts if k not in ("COUNT", "UNTIL")]
        anchor = start
    else:
        parts = _explicit_parts(rule, start)
        anchor = _shift(rule.freq, start, whole)
    anchored = _parsed("RRULE:" + ";".join(f"{k}={v}" for k, v in parts)).replace(dtstart=anchor)
    return walk(anchored, budget, horizon)


# Parsed rules are kept by their text, in bytes: a rule with hundreds of EXDATEs takes about
# 20 bytes of memory a character of its text once parsed (measured), so a count of entries
# would not bound them (4,096 such rules held over 600 MB).
MEMO_BYTES = 8 * 1024 * 1024
_PARSED: BoundedCache[rrule] = BoundedCache(MEMO_BYTES)
_STORED: BoundedCache[Rule] = BoundedCache(MEMO_BYTES)


def _parsed(text: str) -> rrule:
    """dateutil's parse of an RRULE line, done once per distinct line (re-anchored with
    `replace`): parsing the text costs more than expanding a month of it."""
    found = _PARSED.get(text)
    if found is None:
        parsed = rrulestr(text, dtstart=datetime(2000, 1, 1), cache=False)  # noqa: DTZ001
        assert isinstance(parsed, rrule)
        _PARSED.put(text, parsed, 3_000 + 24 * len(text))
        return parsed
    return found


def _utc_stamp(ms: int) -> str:
    return from_ms(ms, ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def stored_rule(text: str) -> Rule:
    """A rule as `Rule.text` wrote it (validated when it was written): parsed once, kept
    while it fits in MEMO_BYTES."""
    found = _STORED.get(text)
    if found is None:
        found = _stored_rule(text)
        _STORED.put(text, found, 1_000 + 24 * len(text))
    return found


def _stored_rule(text: str) -> Rule:
    lines = text.split("\n")
    parts = tuple(
        (key, value)
        for key, _, value in (
            item.partition("=") for item in lines[0].removeprefix("RRULE:").split(";")
        )
    )
    exdates: frozenset[int] = frozenset()
    if len(lines) > 1:
        stamps = lines[1].removeprefix("EXDATE:").split(",")
        exdates = frozenset(
            _stamp_ms(m, ZoneInfo("UTC")) for m in map(_DATE_TIME.match, stamps) if m
        )
    return Rule(parts=parts, exdates=exdates)

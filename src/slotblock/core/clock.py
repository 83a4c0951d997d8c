"""The service's "now" under a test's control. Pure: the real time is always passed in.

A setting says: at the real instant `anchor_ms` the service's time was `now_ms`; from there
it ticks with real time, or stands still when `frozen`. No setting (None) is real time.

    set:      now_ms = the given instant,            anchor_ms = real now
    advance:  now_ms = the setting's now + amount,    anchor_ms = real now
    freeze:   now_ms = the setting's now,             anchor_ms = real now, frozen
    unfreeze: now_ms = the frozen instant,            anchor_ms = real now, ticking

Every node computes the same time from the same stored setting, as long as their real
clocks agree (NTP), which is what real time across nodes assumes anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from slotblock.core.isotime import EPOCH, MAX_MS, parse_iso

MAX_ADVANCE_MS = 100 * 366 * 86_400_000  # a century: far past any retention or expiry

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_COMPACT = re.compile(r"(\d{1,12})(ms|s|m|h|d|w)")
_COMPACTS = re.compile(rf"(?:{_COMPACT.pattern})+")
_ISO = re.compile(
    r"P(?:(?P<w>\d{1,9})W)?(?:(?P<d>\d{1,9})D)?"
    r"(?:T(?:(?P<h>\d{1,9})H)?(?:(?P<m>\d{1,9})M)?(?:(?P<s>\d{1,9}(?:\.\d{1,3})?)S)?)?"
)


@dataclass(frozen=True)
class ClockSetting:
    now_ms: int
    anchor_ms: int
    frozen: bool = False

    def at(self, real_ms: int) -> int:
        """The service's time when the real time is `real_ms`."""
        return self.now_ms if self.frozen else self.now_ms + (real_ms - self.anchor_ms)


def now_of(setting: ClockSetting | None, real_ms: int) -> int:
    return real_ms if setting is None else setting.at(real_ms)


def changed(
    current: ClockSetting | None,
    real_ms: int,
    *,
    now_ms: int | None = None,
    advance_ms: int | None = None,
    freeze: bool | None = None,
) -> ClockSetting:
    """The setting after a change: `now_ms` sets the time (else it goes on from the current
    one), `advance_ms` moves it forward, `freeze` stops or restarts it (else unchanged)."""
    base = now_of(current, real_ms) if now_ms is None else now_ms
    if advance_ms is not None:
        base += advance_ms
    if not 0 <= base <= MAX_MS:
        raise ValueError("the clock must stay between 1970 and 9999")
    frozen = freeze if freeze is not None else (current is not None and current.frozen)
    return ClockSetting(base, real_ms, frozen)


def shown(setting: ClockSetting | None, real_ms: int) -> dict[str, int | str | bool]:
    """The clock as the admin API and the CLI show it."""
    now = now_of(setting, real_ms)
    return {
        "now": now,
        "nowIso": iso_utc(now),
        "controlled": setting is not None,
        "frozen": setting is not None and setting.frozen,
        "offsetMs": now - real_ms,
    }


def iso_utc(ms: int) -> str:
    """`2026-01-05T08:00:00.000Z`: the instant in UTC, to the millisecond."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(value: int | str) -> int:
    """Epoch ms from epoch ms or an ISO 8601 date-time with an offset (or `Z`)."""
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds or an ISO 8601 date-time")
    if isinstance(value, int):
        if not 0 <= value <= MAX_MS:
            raise ValueError("epoch milliseconds must be between 1970 and 9999")
        return value
    try:
        found = parse_iso(value.strip())
    except ValueError as exc:
        raise ValueError(
            "must be epoch milliseconds or an ISO 8601 date-time with an offset, "
            "e.g. 2026-01-05T09:00:00+01:00"
        ) from exc
    if not 0 <= found <= MAX_MS:
        raise ValueError("the clock must stay between 1970 and 9999")
    return found


def parse_duration(value: int | str) -> int:
    """Milliseconds from milliseconds, a compact duration (`90s`, `15m`, `2h`, `7d`, `1w`,
    `1d2h30m`, `500ms`) or an ISO 8601 duration (`PT2H30M`, `P7D`, `P1W`). Not negative."""
    if isinstance(value, bool):
        raise ValueError("must be milliseconds or a duration such as 90s, 2h, 7d or PT2H")
    found = value if isinstance(value, int) else _duration_text(value.strip())
    if not 0 <= found <= MAX_ADVANCE_MS:
        raise ValueError("must be between 0 and 100 years")
    return found


def _duration_text(text: str) -> int:
    compact = text.replace(" ", "").lower()
    if compact.isdigit():
        return int(compact)
    if _COMPACTS.fullmatch(compact):
        return sum(int(n) * _UNIT_MS[unit] for n, unit in _COMPACT.findall(compact))
    iso = _ISO.fullmatch(compact.upper())
    if iso and any(iso.groupdict().values()):
        parts = {k: v or "0" for k, v in iso.groupdict().items()}
        whole = int(parts["w"]) * _UNIT_MS["w"] + int(parts["d"]) * _UNIT_MS["d"]
        whole += int(parts["h"]) * _UNIT_MS["h"] + int(parts["m"]) * _UNIT_MS["m"]
        return whole + round(float(parts["s"]) * 1000)
    raise ValueError("must be milliseconds or a duration such as 90s, 2h, 7d or PT2H")

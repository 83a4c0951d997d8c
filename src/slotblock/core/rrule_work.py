"""Metered walks over dateutil rules: a work budget and a horizon. Pure.

dateutil finds the next occurrence of a rule by walking its FREQ periods one by one, inside
a single `next()`: a rule whose days rarely or never match (`BYMONTH=2;BYMONTHDAY=30`) walks
every period up to the year 9999 before it gives up, seconds of CPU that nothing can
interrupt from outside. `UNTIL` does not stop it either (it is only compared with candidates).

So the walk is metered where the work happens: dateutil asks its `_iterinfo` for the day set
of every period it visits, and `walk` runs dateutil's own iteration code with an `_iterinfo`
that charges each period to a `Budget` and stops at a horizon. The weights are the relative
cost of one period of each FREQ (a YEARLY period filters ~366 days, a DAILY one a single
day); one unit is roughly a microsecond of CPU.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import dateutil.rrule as du
from dateutil.rrule import rrule

_WEIGHTS = {du.YEARLY: 20, du.MONTHLY: 3, du.WEEKLY: 2, du.DAILY: 1, du.HOURLY: 1}


class WorkExceeded(Exception):
    """A walk used up its budget before finding what it was asked for."""


class _PastHorizon(Exception):
    """The walk reached a period that starts after its horizon."""


class Budget:
    """Units of work one caller may spend on walks (shared by every walk it makes)."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.spent = 0

    def charge(self, units: int) -> None:
        """Spend `units` of work done outside a walk (free-slot candidates and checks)."""
        self.spent += units
        if self.spent > self.units:
            raise WorkExceeded(f"more than {self.units} units of recurrence work")


class _Meter:
    def __init__(self, freq: int, budget: Budget, horizon: date | None) -> None:
        self.weight = _WEIGHTS.get(freq, 1)
        self.budget = budget
        # A period starts on its (year, month, day), on the 1st for MONTHLY, on 1 January
        # for YEARLY: past the horizon, every candidate of the period is too.
        self.horizon = None if horizon is None else (horizon.year, horizon.month, horizon.day)
        self.by_year = freq == du.YEARLY
        self.by_month = freq == du.MONTHLY

    def step(self, year: int, month: int, day: int) -> None:
        if self.horizon is not None:
            start = (year, 1, 1) if self.by_year else (year, month, 1 if self.by_month else day)
            if start > self.horizon:
                raise _PastHorizon
        budget = self.budget
        budget.spent += self.weight
        if budget.spent > budget.units:
            raise WorkExceeded(f"more than {budget.units} units of recurrence work")


class _MeteredInfo(du._iterinfo):
    """dateutil's per-walk helper, charging every period it builds a day set for."""

    def _step(self, year: int, month: int, day: int) -> None:
        meter: _Meter = self.rrule._slotblock_meter  # type: ignore[attr-defined]
        meter.step(year, month, day)

    def ydayset(self, year: int, month: int, day: int) -> tuple[Iterable[int | None], int, int]:
        self._step(year, month, day)
        return super().ydayset(year, month, day)

    def mdayset(self, year: int, month: int, day: int) -> tuple[Iterable[int | None], int, int]:
        self._step(year, month, day)
        return super().mdayset(year, month, day)

    def wdayset(self, year: int, month: int, day: int) -> tuple[Iterable[int | None], int, int]:
        self._step(year, month, day)
        return super().wdayset(year, month, day)

    def ddayset(self, year: int, month: int, day: int) -> tuple[Iterable[int | None], int, int]:
        self._step(year, month, day)
        return super().ddayset(year, month, day)


# dateutil's own iteration, unchanged, with the metered helper in its globals.
_metered_iter = types.FunctionType(
    du.rrule._iter.__code__,  # type: ignore[attr-defined]
    {**vars(du), "_iterinfo": _MeteredInfo},
    "_metered_iter",
)


def walk(rule: rrule, budget: Budget, horizon: datetime | None = None) -> Iterator[datetime]:
    """The occurrences of `rule` (a fresh instance, not shared), in order, ending quietly at
    the first period after `horizon`; WorkExceeded when `budget` runs out first."""
    rule._slotblock_meter = _Meter(  # type: ignore[attr-defined]
        rule._freq,  # type: ignore[attr-defined]
        budget,
        None if horizon is None else horizon.date(),
    )
    found: Iterator[datetime] = _metered_iter(rule)
    try:
        yield from found
    except _PastHorizon:
        return

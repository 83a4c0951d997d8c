"""PURE: the events a stored block shows, and the rules of series instances.

A block (one-off or series master) has a 20-character id; an instance of a series is
`<masterId>_<originalStartMillis>_<durationSeconds>`, stable after the instance is edited.
An edited instance is an override keyed by its original start; a deleted one is an EXDATE.
No I/O, no clock: every function here takes what it needs (`now_ms` included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slotblock.core import recurrence
from slotblock.core.errors import InvalidInput, NotFound, Unprocessable
from slotblock.core.model import Block, Event, Override
from slotblock.core.recurrence import Series
from slotblock.core.rrule_work import Budget
from slotblock.core.tokens import is_id

Owner = tuple[str | None, str | None]  # (calendar id, assigned user id)


def parse_event_id(event_id: str) -> tuple[str, int | None]:
    """(block id, original start of the instance or None). 404 for a malformed id."""
    parts = event_id.split("_")
    if not is_id(parts[0]):
        raise NotFound("Event not found")
    if len(parts) == 1:
        return event_id, None
    if len(parts) == 3 and all(p.lstrip("-").isdigit() for p in parts[1:]) and len(parts[1]) < 17:
        return parts[0], int(parts[1])
    raise NotFound("Event not found")


def instance_id(block: Block, original_ms: int) -> str:
    return f"{block.id}_{original_ms}_{block.duration_ms // 1000}"


def series_of(block: Block) -> Series:
    return Series(
        start_ms=block.start_ms,
        duration_ms=block.duration_ms,
        zone=block.timezone,
        rule=recurrence.stored_rule(block.rrule or ""),
        last_start_ms=block.last_start_ms,
    )


def master_event(block: Block) -> Event:
    """The event of a one-off block, or of a series as a whole (its first occurrence)."""
    return Event(
        block=block,
        id=block.id,
        start_ms=block.start_ms,
        end_ms=block.end_ms,
        original_start_ms=None,
        fields={},
    )


def instances(
    block: Block, start: int, end: int, limit: int, budget: Budget | None = None
) -> list[Event]:
    """The instances of a series overlapping [start, end), overrides applied; finding them
    is charged to `budget` (TooMuchWork past it)."""
    series = series_of(block)
    moved = {o.original_start_ms: o for o in block.overrides}
    events = []
    for original in recurrence.overlapping(series, start, end, limit, budget):
        override = moved.pop(original, None)
        events.append(_instance(block, original, override))
    for override in moved.values():  # moved into the window from elsewhere
        events.append(_instance(block, override.original_start_ms, override))
    return [e for e in events if e.start_ms < end and e.end_ms > start]


def instance(block: Block, original: int) -> Event:
    """The instance of a series that was, originally, the occurrence at `original`."""
    return _instance(block, original, override_at(block, original))


def override_at(block: Block, original: int) -> Override | None:
    return next((o for o in block.overrides if o.original_start_ms == original), None)


def _instance(block: Block, original: int, override: Override | None) -> Event:
    event_id = instance_id(block, original)
    if override is None:
        return Event(
            block=block,
            id=event_id,
            start_ms=original,
            end_ms=original + block.duration_ms,
            original_start_ms=original,
            fields={},
        )
    return Event(
        block=block,
        id=event_id,
        start_ms=override.start_ms,
        end_ms=override.end_ms,
        original_start_ms=original,
        fields=override.fields,
    )


def check_instance(block: Block, event_id: str, original: int) -> None:
    """404 unless `event_id` names an occurrence of the series `block`."""
    if block.rrule is None or instance_id(block, original) != event_id:
        raise NotFound("Event not found")
    if not recurrence.is_occurrence(series_of(block), original):
        raise NotFound("Event not found")


def check_one_owner(owner: Owner, *, required: bool) -> None:
    """A body names a calendar or a user, not both (and one of them when `required`)."""
    if owner[0] is not None and owner[1] is not None:
        raise InvalidInput("Either calendarId or assignedUserId can be set, not both.")
    if required and owner == (None, None):
        raise InvalidInput("Either calendarId or assignedUserId is required")


def owner_of(block: Block) -> Owner:
    return block.calendar_id, block.assigned_user_id


def with_owner(block: Block, owner: Owner) -> Block:
    """`block` moved to `owner`; (None, None) means "not given": it stays where it is."""
    if owner == (None, None):
        return block
    return replace(block, calendar_id=owner[0], assigned_user_id=owner[1])


def keep_occurring(block: Block, old: Block) -> Block:
    """The series `block` (`old` after an edit) with the overrides and the EXDATEs of `old`
    that still name one of its occurrences: an instance deleted before stays deleted."""
    if block.rrule is None:
        return block
    series = series_of(block)
    kept = tuple(o for o in old.overrides if recurrence.is_occurrence(series, o.original_start_ms))
    rule = series.rule.excluding(*_kept_exdates(old, series))
    return replace(block, rrule=rule.text, overrides=kept)


def _kept_exdates(old: Block, new: Series) -> list[int]:
    """The EXDATEs stored on `old` that still name an occurrence of the new series."""
    if old.rrule is None:
        return []
    bare = replace(new, rule=replace(new.rule, exdates=frozenset()))
    stored = recurrence.stored_rule(old.rrule).exdates - new.rule.exdates
    return [ms for ms in sorted(stored) if recurrence.is_occurrence(bare, ms)]


def edit_instance(
    block: Block,
    original: int,
    times: tuple[int | None, int | None],
    texts: Mapping[str, Any],
    now_ms: int,
) -> Block:
    """The series with its instance at `original` moved to `times` (None: unchanged) and
    its texts changed; 422 when the instance would end before it starts."""
    current = override_at(block, original)
    start = _given(times[0], current.start_ms if current else original)
    end = _given(times[1], current.end_ms if current else original + block.duration_ms)
    if end <= start:
        raise Unprocessable("endTime must be after startTime")
    fields = {**(current.fields if current else {}), **texts}
    others = tuple(o for o in block.overrides if o.original_start_ms != original)
    return replace(
        block,
        overrides=(
            *others,
            Override(original_start_ms=original, start_ms=start, end_ms=end, fields=fields),
        ),
        updated_ms=now_ms,
    )


def _given(value: int | None, default: int) -> int:
    return default if value is None else value

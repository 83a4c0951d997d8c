"""The query answer, capped in bytes.

Every instance repeats its series' texts and rule, so a long window over a large series can
ask for hundreds of megabytes. The size is estimated before anything is built (characters
of the texts and rule plus the fixed fields of an event), refused with 422 past the limit,
and the encoded answer is checked again (an estimate counts characters, not UTF-8 bytes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slotblock.core.errors import Unprocessable
from slotblock.core.model import TEXT_FIELDS, Event, text_chars

EVENT_FIXED_BYTES = 560  # the keys, ids and timestamps of one CalendarEventDTO


ANSWER_FIXED_BYTES = 14  # `{"events":[]}`


def estimated_bytes(events: Sequence[Event]) -> int:
    """The answer's size, estimated: ANSWER_FIXED_BYTES and each event's `event_estimate`
    (the instances of a series that keep its texts are counted once per series and
    multiplied)."""
    size = ANSWER_FIXED_BYTES
    plain: dict[int, int] = {}  # id(block) -> the estimate of an event with its texts
    for event in events:
        if event.fields:
            size += event_estimate(event)
            continue
        known = plain.get(id(event.block))
        if known is None:
            known = event_estimate(event)
            plain[id(event.block)] = known
        size += known
    return size


def event_estimate(event: Event) -> int:
    """One event's share of `estimated_bytes` (kept beside its encoding by
    api/event_fragments.py, so that a window joined from encodings is refused exactly when
    the same window encoded here would be)."""
    if event.fields:
        return _fixed(event) + sum(len(event.text(name)) for name in TEXT_FIELDS)
    return _fixed(event) + text_chars(event.block)


def _fixed(event: Event) -> int:
    return EVENT_FIXED_BYTES + len(event.block.rrule or "") + len(event.block.location_id)


def too_large(max_bytes: int) -> Unprocessable:
    return Unprocessable(
        f"the answer would be larger than {max_bytes} bytes; query a shorter window"
    )


Encode = Callable[[Sequence[Event], str], bytes]


def capped(encode: Encode, max_bytes: int) -> Encode:
    """`encode`, refusing (422) an answer larger than `max_bytes` before building it when
    the estimate already says so, and after, by its real size."""

    def encoded(events: Sequence[Event], timezone: str) -> bytes:
        if estimated_bytes(events) > max_bytes:
            raise too_large(max_bytes)
        body = encode(events, timezone)
        if len(body) > max_bytes:
            raise too_large(max_bytes)
        return body

    return encoded

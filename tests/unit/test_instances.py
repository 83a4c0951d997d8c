"""Series and instances without a database: ids, overrides, moves, owners."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slotblock.core import instances as ins
from slotblock.core import recurrence as rec
from slotblock.core.errors import InvalidInput, NotFound, Unprocessable
from slotblock.core.isotime import parse_iso
from slotblock.core.model import Block, Override

H = 3_600_000
DAY = 24 * H
START = parse_iso("2026-01-05T09:00:00+01:00")
BLOCK_ID = "a" * 20


def block(rrule: str | None = "RRULE:FREQ=DAILY;COUNT=5") -> Block:
    one_off = Block(
        location_id="loc", id=BLOCK_ID, calendar_id="cal", assigned_user_id=None,
        title="Focus", description="", notes="", address="",
        start_ms=START, end_ms=START + H, timezone="Europe/Paris", rrule=None,
        last_start_ms=None, overrides=(), created_ms=0, updated_ms=0,
    )  # fmt: skip
    if rrule is None:
        return one_off
    rule = rec.parse_rule(rrule, start_ms=START, zone_name="Europe/Paris", max_count=1000)
    last = rec.last_start(rule, START, "Europe/Paris")
    return replace(one_off, rrule=rule.text, last_start_ms=last)


@pytest.mark.parametrize(
    ("event_id", "parsed"),
    [
        (BLOCK_ID, (BLOCK_ID, None)),
        (f"{BLOCK_ID}_{START}_3600", (BLOCK_ID, START)),
        (f"{BLOCK_ID}_-5_3600", (BLOCK_ID, -5)),
    ],
)
def test_parse_event_id(event_id: str, parsed: tuple[str, int | None]) -> None:
    assert ins.parse_event_id(event_id) == parsed


@pytest.mark.parametrize(
    "event_id", ["", "a-b", f"{BLOCK_ID}_x_1", f"{BLOCK_ID}_1", f"{BLOCK_ID}_{'1' * 17}_1"]
)
def test_malformed_event_ids_are_not_found(event_id: str) -> None:
    with pytest.raises(NotFound):
        ins.parse_event_id(event_id)


def test_instance_ids_name_master_original_start_and_duration() -> None:
    assert ins.instance_id(block(), START + DAY) == f"{BLOCK_ID}_{START + DAY}_3600"


def test_instances_in_a_window_and_a_moved_one_from_outside() -> None:
    moved = Override(START + 4 * DAY, START + DAY + 2 * H, START + DAY + 3 * H, {"title": "X"})
    series = replace(block(), overrides=(moved,))
    events = ins.instances(series, START + DAY, START + 2 * DAY, 100)
    assert [(e.start_ms, e.original_start_ms, e.text("title")) for e in events] == [
        (START + DAY, START + DAY, "Focus"),
        (START + DAY + 2 * H, START + 4 * DAY, "X"),
    ]
    assert events[1].id == ins.instance_id(series, START + 4 * DAY)


def test_master_event_is_the_first_occurrence() -> None:
    event = ins.master_event(block())
    assert (event.id, event.start_ms, event.original_start_ms) == (BLOCK_ID, START, None)


def test_check_instance() -> None:
    series = block()
    ins.check_instance(series, ins.instance_id(series, START + DAY), START + DAY)
    for bad in (START + H, START + 9 * DAY):  # not an occurrence; past COUNT
        with pytest.raises(NotFound):
            ins.check_instance(series, ins.instance_id(series, bad), bad)
    with pytest.raises(NotFound):  # a duration that is not the series'
        ins.check_instance(series, f"{BLOCK_ID}_{START}_60", START)
    with pytest.raises(NotFound):  # a one-off block has no instances
        ins.check_instance(block(None), f"{BLOCK_ID}_{START}_3600", START)


def test_edit_instance_keeps_earlier_changes() -> None:
    first = ins.edit_instance(block(), START + DAY, (None, START + DAY + 2 * H), {"title": "A"}, 7)
    again = ins.edit_instance(first, START + DAY, (START + DAY + H, None), {"notes": "n"}, 8)
    assert again.overrides == (
        Override(START + DAY, START + DAY + H, START + DAY + 2 * H, {"title": "A", "notes": "n"}),
    )
    assert again.updated_ms == 8
    event = ins.instance(again, START + DAY)
    assert (event.start_ms, event.text("title"), event.text("notes")) == (START + DAY + H, "A", "n")


def test_edit_instance_refuses_an_end_before_its_start() -> None:
    with pytest.raises(Unprocessable, match="endTime must be after startTime"):
        ins.edit_instance(block(), START + DAY, (START + DAY + H, None), {}, 0)


def test_overrides_that_are_no_longer_occurrences_are_dropped() -> None:
    kept = Override(START + 2 * DAY, START, START + H, {})
    gone = Override(START + 6 * DAY, START, START + H, {})
    old = replace(block(), overrides=(kept, gone))
    assert ins.keep_occurring(block(), old).overrides == (kept,)
    one_off = block(None)
    assert ins.keep_occurring(one_off, old) is one_off


def test_owners() -> None:
    ins.check_one_owner(("cal", None), required=True)
    ins.check_one_owner((None, None), required=False)
    with pytest.raises(InvalidInput, match="not both"):
        ins.check_one_owner(("cal", "user"), required=False)
    with pytest.raises(InvalidInput, match="is required"):
        ins.check_one_owner((None, None), required=True)
    moved = ins.with_owner(block(), (None, "user"))
    assert ins.owner_of(moved) == (None, "user")
    assert ins.with_owner(moved, (None, None)) is moved

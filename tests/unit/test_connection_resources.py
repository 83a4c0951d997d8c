"""The rebuild of a CalDAV collection's blocks from the resources that changed
(core/connection_resources.py) gives what a full read of every resource gives: the same
UID in two resources, an event moved from one resource to another, a resource that
reports a change but keeps its ETag."""

from __future__ import annotations

from collections.abc import Mapping

from slotblock.core.connection_import import ImportedBlock, ImportLimits, import_calendar
from slotblock.core.connection_resources import (
    ReadResource,
    Rebuild,
    ResourceState,
    totals,
    winners,
)

CONNECTION = "conn1"
LIMITS = ImportLimits(location_zone="Europe/Paris")


def calendar(*events: tuple[str, str]) -> bytes:
    """A document of one-hour events (uid, title), each on its own day."""
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN"]
    for uid, title in events:
        day = 1 + sum(map(ord, uid)) % 27
        body += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART:202701{day:02d}T090000Z",
                 f"DTEND:202701{day:02d}T100000Z", f"SUMMARY:{title}", "END:VEVENT"]  # fmt: skip
    return ("\r\n".join([*body, "END:VCALENDAR"]) + "\r\n").encode()


def read(href: str, *events: tuple[str, str]) -> ReadResource:
    return ReadResource(href, f'"{href}-{events}"', import_calendar(calendar(*events), LIMITS))


def full(collection: Mapping[str, ReadResource]) -> dict[str, str]:
    return {i: b.texts["title"] for i, b in winners(CONNECTION, collection.values()).items()}


def incremental(
    before: Mapping[str, ReadResource], after: Mapping[str, ReadResource]
) -> tuple[dict[str, str], set[str], list[str]]:
    """The blocks after an incremental sync from `before` to `after` (the blocks outside the
    rebuild's scope kept), the hrefs read, and the blocks written or deleted."""
    stored = {h: r.state(CONNECTION) for h, r in before.items()}
    changed = {h: r.etag for h, r in after.items() if h not in before or before[h].etag != r.etag}
    rebuild = Rebuild.of(stored, changed, set(before) - set(after))
    rebuild.read |= {h: after[h] for h in rebuild.changed}
    sharing = rebuild.sharing()
    rebuild.read |= {h: after[h] for h in sharing}
    scope = rebuild.scope(CONNECTION)
    blocks = {i: t for i, t in full(before).items() if i not in scope}
    wanted = rebuild.wanted(CONNECTION)
    blocks |= {i: b.texts["title"] for i, b in wanted.items()}
    written = sorted(i for i in scope if full(before).get(i) != blocks.get(i))
    assert rebuild.states(CONNECTION) == {h: r.state(CONNECTION) for h, r in after.items()}
    return blocks, set(rebuild.read), written


def test_one_changed_resource_is_the_only_one_read() -> None:
    before = {f"/c/{n}.ics": read(f"/c/{n}.ics", (n, n.upper())) for n in "abcdef"}
    after = before | {"/c/c.ics": read("/c/c.ics", ("c", "C edited"))}
    blocks, reads, written = incremental(before, after)
    assert blocks == full(after) and reads == {"/c/c.ics"} and len(written) == 1


def test_an_event_moved_to_another_resource_keeps_its_block() -> None:
    before = {"/c/a.ics": read("/c/a.ics", ("a", "A")), "/c/b.ics": read("/c/b.ics", ("b", "B"))}
    after = {"/c/b.ics": before["/c/b.ics"], "/c/z.ics": read("/c/z.ics", ("a", "A"))}
    blocks, reads, written = incremental(before, after)
    assert blocks == full(after) == full(before) and reads == {"/c/z.ics"} and written == []


def test_one_uid_in_two_resources_the_first_href_wins_in_either_read() -> None:
    before = {
        "/c/1.ics": read("/c/1.ics", ("u", "first")),
        "/c/2.ics": read("/c/2.ics", ("u", "second"), ("v", "V")),
    }
    assert sorted(full(before).values()) == ["V", "first"]
    # the losing resource changes: the winner is read with it, nothing changes
    after = before | {"/c/2.ics": read("/c/2.ics", ("u", "second, edited"), ("v", "V"))}
    blocks, reads, written = incremental(before, after)
    assert blocks == full(after) and reads == {"/c/1.ics", "/c/2.ics"} and written == []
    # the winner goes: the other resource's event takes its block
    later = {"/c/2.ics": after["/c/2.ics"]}
    blocks, reads, written = incremental(after, later)
    assert blocks == full(later) and sorted(blocks.values()) == ["V", "second, edited"]
    assert reads == {"/c/2.ics"} and len(written) == 1


def test_a_reported_resource_with_its_stored_etag_is_not_read() -> None:
    before = {"/c/a.ics": read("/c/a.ics", ("a", "A"))}
    stored = {h: r.state(CONNECTION) for h, r in before.items()}
    same = Rebuild.of(stored, {"/c/a.ics": before["/c/a.ics"].etag}, set())
    assert same.nothing
    unknown = Rebuild.of(stored, {"/c/a.ics": None}, {"/c/never-seen.ics"})
    assert unknown.changed == {"/c/a.ics"} and unknown.removed == set()


def test_totals_count_events_distinct_blocks_and_warnings() -> None:
    states = {
        "/c/1.ics": ResourceState("/c/1.ics", None, {"u": ("id1",)}, 2, ("u: w1",)),
        "/c/2.ics": ResourceState("/c/2.ics", None, {"u": ("id1",), "v": ("id2",)}, 3),
    }
    assert totals(states) == (5, 2, ("u: w1",))


def test_blocks_carry_their_uid() -> None:
    result = import_calendar(calendar(("x@example.com", "X")), LIMITS)
    assert [b.uid for b in result.blocks] == ["x@example.com"]
    assert isinstance(result.blocks[0], ImportedBlock)

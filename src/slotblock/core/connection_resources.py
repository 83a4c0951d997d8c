"""PURE: a CalDAV collection as resources, so that a sync reads only what changed.

A CalDAV collection is a set of resources (RFC 4791 §4.1), each one iCalendar document
at its own href with its own ETag. The sync keeps, per resource, its ETag and the blocks it
produced, grouped by UID (`ResourceState`). When the collection's sync token says which
resources changed or went away (RFC 6578), only those are read and imported, and only the
blocks of the UIDs they held before or hold now are rebuilt (`Rebuild`): the other
resources that hold one of those UIDs (the same UID in two resources; an event moved from
one to another) are read with them, so the rebuilt blocks are what a full read would give.

Of two resources that give a block of the same id (one event in two resources), the one
whose href sorts first wins, in a full read as in an incremental one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from slotblock.core.connection_import import MAX_WARNINGS, ImportedBlock, ImportResult, block_id


@dataclass(frozen=True)
class ResourceState:
    """What the sync keeps of one resource of a collection."""

    href: str  # its path, percent-decoded
    etag: str | None
    uids: Mapping[str, tuple[str, ...]]  # UID -> the ids of the blocks it gave
    events: int = 0  # VEVENT components
    warnings: tuple[str, ...] = ()

    def ids_of(self, uids: Iterable[str]) -> set[str]:
        return {i for uid in uids for i in self.uids.get(uid, ())}


@dataclass(frozen=True)
class ReadResource:
    """A resource as read now, and imported."""

    href: str
    etag: str | None
    result: ImportResult

    def state(self, connection_id: str) -> ResourceState:
        uids: dict[str, list[str]] = {}
        for item in self.result.blocks:
            ids = uids.setdefault(item.uid, [])
            one = block_id(connection_id, item.key)
            if one not in ids:
                ids.append(one)
        return ResourceState(
            href=self.href,
            etag=self.etag,
            uids={uid: tuple(ids) for uid, ids in uids.items()},
            events=self.result.events,
            warnings=tuple(self.result.warnings),
        )


def winners(
    connection_id: str, read: Iterable[ReadResource], uids: set[str] | None = None
) -> dict[str, ImportedBlock]:
    """The imported blocks by id (of `uids` only, unless None): of one id, the block of the
    first href."""
    wanted: dict[str, ImportedBlock] = {}
    for resource in sorted(read, key=lambda r: r.href):
        for item in resource.result.blocks:
            if uids is None or item.uid in uids:
                wanted.setdefault(block_id(connection_id, item.key), item)
    return wanted


@dataclass
class Rebuild:
    """One incremental sync: the stored states, what the collection says changed, and what
    the sync reads to rebuild the affected UIDs."""

    stored: Mapping[str, ResourceState]
    changed: set[str]  # hrefs whose content changed (a new or different ETag)
    removed: set[str]  # hrefs that are gone
    read: dict[str, ReadResource] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        stored: Mapping[str, ResourceState],
        changed: Mapping[str, str | None],
        removed: Iterable[str],
    ) -> Rebuild:
        """Changed hrefs whose ETag is the stored one are left alone (a server may report
        a resource it did not change)."""
        fresh = {
            href
            for href, etag in changed.items()
            if etag is None or href not in stored or stored[href].etag != etag
        }
        return cls(stored, fresh, {href for href in removed if href in stored} - fresh)

    @property
    def nothing(self) -> bool:
        return not self.changed and not self.removed

    def affected_uids(self) -> set[str]:
        """The UIDs whose blocks may change: held by a changed or removed resource, before
        or now."""
        before = {
            uid
            for href in self.changed | self.removed
            if href in self.stored
            for uid in self.stored[href].uids
        }
        now = {item.uid for href in self.changed for item in self._blocks(href)}
        return before | now

    def sharing(self) -> list[str]:
        """The unchanged resources that hold an affected UID: read again with the changed
        ones, since their blocks of that UID take part in the rebuild."""
        affected = self.affected_uids()
        return sorted(
            href
            for href, state in self.stored.items()
            if href not in self.changed | self.removed and affected & state.uids.keys()
        )

    def _blocks(self, href: str) -> list[ImportedBlock]:
        found = self.read.get(href)
        return found.result.blocks if found else []

    def states(self, connection_id: str) -> dict[str, ResourceState]:
        """Every resource's state after this sync."""
        kept = {h: s for h, s in self.stored.items() if h not in self.removed}
        return kept | {h: r.state(connection_id) for h, r in self.read.items()}

    def scope(self, connection_id: str) -> set[str]:
        """The ids of every block this sync may write or delete: the blocks of the
        affected UIDs, before and now."""
        affected = self.affected_uids()
        before = {
            i
            for href in self.changed | self.removed | set(self.read)
            if href in self.stored
            for i in self.stored[href].ids_of(affected)
        }
        return before | set(winners(connection_id, self.read.values(), affected))

    def wanted(self, connection_id: str) -> dict[str, ImportedBlock]:
        return winners(connection_id, self.read.values(), self.affected_uids())


def totals(states: Mapping[str, ResourceState]) -> tuple[int, int, tuple[str, ...]]:
    """(events, distinct blocks, warnings) of a collection's resources."""
    events = sum(s.events for s in states.values())
    blocks = len({i for s in states.values() for ids in s.uids.values() for i in ids})
    warnings = [w for href in sorted(states) for w in states[href].warnings]
    return events, blocks, tuple(warnings[:MAX_WARNINGS])

"""One sync of a connected calendar: read it, map it (core/connection_import.py), and make
the user's synced blocks of that connection what the calendar says.

A block's id comes from the connection and the event's key (`block_id`), so the same event
keeps its id across syncs. A CalDAV collection is read resource by resource
(service/caldav.py): after the first read, a sync reads only the resources that changed,
and rebuilds only the blocks of the UIDs they hold (core/connection_resources.py). A block
is written only when what a reader sees of it changed: an unchanged calendar (a 304, an
unchanged sync token, or the same document) writes nothing, so the changes feed, webhooks
and versions see real changes only. The writes go through the change log in one
transaction, as a client's writes do.

A failed sync keeps the blocks of the last good one, records its error (the calendar's
address redacted out of it: core/connection_address.py), counts the failure and is tried
again after a backoff (the sync interval doubled per failure in a row, at most
SLOTBLOCK_CONNECTION_RETRY_MAX_SECONDS).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import fields, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.connection_address import scrubbed
from slotblock.core.connection_import import (
    ImportedBlock,
    ImportLimits,
    ImportRefused,
    ImportResult,
    block_id,
    import_calendar,
)
from slotblock.core.connection_resources import ReadResource, Rebuild, totals, winners
from slotblock.core.errors import NotFound
from slotblock.core.model import Block, Connection
from slotblock.service.caldav import CalDav, Changes, Resource
from slotblock.service.changes import ChangeLog
from slotblock.service.connection_fetch import (
    DestinationRefused,
    FetchFailed,
    Unreachable,
    auth_headers,
    fetch_ical,
)
from slotblock.service.connection_secrets import SecretBox, SecretUnreadable, is_unsealed
from slotblock.service.cpu import CpuWork
from slotblock.service.outbound import OutboundClient, OutboundPolicy
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store
from slotblock.store import connection_resources as resource_store
from slotblock.store import connections as connection_store
from slotblock.store.connections import SyncState

log = logging.getLogger("slotblock.connections")
_FAILURES = (DestinationRefused, Unreachable, FetchFailed, ImportRefused, SecretUnreadable)
_UNSEEN = ("created_ms", "updated_ms", "version", "group_id")


class ConnectionSync:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], int],
        *,
        outbound: OutboundClient | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.box = SecretBox(settings.connection_key)
        self.changes = ChangeLog(clock)
        self.cpu = CpuWork(settings.cpu_threads)
        self.outbound = outbound or OutboundClient(
            OutboundPolicy.from_settings(settings),
            timeout_s=settings.connection_timeout_seconds,
        )

    async def aclose(self) -> None:
        await self.outbound.aclose()

    @property
    def lease_ms(self) -> int:
        """How long a claimed connection is another syncer's to leave alone."""
        return int(self.settings.connection_timeout_seconds * 3000) + 60_000

    async def sync(self, connection: Connection) -> Connection:
        """Sync one (claimed) connection; the connection as the sync left it."""
        address = None
        try:
            address = await self._address(connection)
            state = await self._sync(replace(connection, url=address))
        except _FAILURES as exc:
            error = f"{type(exc).__name__}: {exc}"
            state = self._failed(connection, scrubbed(error, address) if address else error)
        except NotFound as exc:  # the user or the connection went away meanwhile
            state = self._failed(connection, str(exc))
        async with self.store.begin() as conn:
            await connection_store.record(conn, connection.location_id, connection.id, state)
            found = await connection_store.get(conn, connection.location_id, connection.id)
        return found or connection

    async def _sync(self, reach: Connection) -> SyncState:
        """Sync `reach`: the connection with its real address (never stored or shown)."""
        secret = await self._secret(reach)
        if reach.kind == "caldav":
            return await self._sync_caldav(reach, auth_headers(reach, secret))
        fetched = await fetch_ical(self.outbound, reach, secret, self.settings.connection_max_bytes)
        now = self.clock()
        if fetched.documents is None:  # 304
            return SyncState(now + self._interval_ms, 0, last_success_ms=now)
        limits = await self._limits(reach)
        result = await self.cpu.run(_import_all, fetched.documents, limits)
        count = await self._apply(reach, result.blocks)
        return SyncState(
            self.clock() + self._interval_ms,
            0,
            last_success_ms=now,
            event_count=count,
            warnings=tuple(result.warnings),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            validators=True,
        )

    async def _address(self, connection: Connection) -> str:
        """The calendar's URL, opened; sealed now if it was kept as given and a key is set
        (a connection made before the key, or before addresses were sealed)."""
        async with self.store.read() as conn:
            stored = await connection_store.address_of(conn, connection.location_id, connection.id)
        if stored is None:
            raise NotFound("Connection not found")
        address = self.box.open_address(stored)
        if is_unsealed(stored) and self.box.has_key:
            async with self.store.begin() as conn:
                await connection_store.set_address(
                    conn, connection.location_id, connection.id, self.box.seal_address(address)
                )
        return address

    async def _secret(self, connection: Connection) -> str | None:
        if not connection.has_secret:
            return None
        async with self.store.read() as conn:
            sealed = await connection_store.secret_of(conn, connection.location_id, connection.id)
        return None if sealed is None else self.box.open(sealed)

    # --- a CalDAV collection, resource by resource ---------------------------------------

    async def _sync_caldav(self, reach: Connection, auth: dict[str, str]) -> SyncState:
        dav = CalDav(self.outbound, reach.url, auth, self.settings.connection_max_bytes)
        if reach.sync_token:
            changes = await dav.changes_since(reach.sync_token)
            if changes is not None:
                state = await self._incremental(reach, dav, changes)
                if state is not None:
                    return state
        token = await dav.sync_token()
        return await self._full(reach, await dav.everything(), token)

    async def _incremental(
        self, connection: Connection, dav: CalDav, changes: Changes
    ) -> SyncState | None:
        """Read what changed, rebuild the blocks of its UIDs; None when a resource went
        away while it was read (then the collection is read in full)."""
        now = self.clock()
        async with self.store.read() as conn:
            stored = await resource_store.of_connection(conn, connection.location_id, connection.id)
        rebuild = Rebuild.of(stored, changes.changed, changes.removed)
        if rebuild.nothing:
            return self._synced(now, sync_token=changes.token)
        limits = await self._limits(connection)
        if not await self._read_into(rebuild, dav, sorted(rebuild.changed), limits):
            return None
        sharing = rebuild.sharing()
        if sharing and not await self._read_into(rebuild, dav, sharing, limits):
            return None
        states = rebuild.states(connection.id)
        events, count, warnings = totals(states)
        if events > limits.max_events:
            raise ImportRefused(f"the calendar holds more than {limits.max_events} events")
        wanted = {
            id_: _as_block(connection, item, now)
            for id_, item in rebuild.wanted(connection.id).items()
        }
        async with self.store.begin() as conn:
            await self._write(conn, connection, wanted, rebuild.scope(connection.id))
            await resource_store.put(
                conn,
                connection.location_id,
                connection.id,
                [states[href] for href in rebuild.read],
                rebuild.removed,
            )
        return self._synced(now, sync_token=changes.token, count=count, warnings=warnings)

    async def _read_into(
        self, rebuild: Rebuild, dav: CalDav, hrefs: list[str], limits: ImportLimits
    ) -> bool:
        if not hrefs:
            return True
        found, gone = await dav.multiget(hrefs)
        if gone:
            return False
        results = await self.cpu.run(_import_each, found, limits)
        for resource in found:
            rebuild.read[resource.href] = ReadResource(
                resource.href, resource.etag, results[resource.href]
            )
        return True

    async def _full(
        self, connection: Connection, resources: list[Resource], token: str | None
    ) -> SyncState:
        """Every resource read: the blocks and the resource table rebuilt."""
        now = self.clock()
        limits = await self._limits(connection)
        results = await self.cpu.run(_import_each, resources, limits)
        read = [ReadResource(href, r.etag, results[href]) for href, r in _by_href(resources)]
        states = {r.href: r.state(connection.id) for r in read}
        _, count, warnings = totals(states)
        wanted = {
            id_: _as_block(connection, item, now)
            for id_, item in winners(connection.id, read).items()
        }
        async with self.store.begin() as conn:
            await self._write(conn, connection, wanted, None)
            await resource_store.replace_all(conn, connection.location_id, connection.id, states)
        return self._synced(now, sync_token=token, count=count, warnings=warnings)

    def _synced(
        self,
        now: int,
        *,
        sync_token: str | None,
        count: int | None = None,
        warnings: tuple[str, ...] | None = None,
    ) -> SyncState:
        return SyncState(
            self.clock() + self._interval_ms,
            0,
            last_success_ms=now,
            event_count=count,
            warnings=warnings,
            sync_token=sync_token,
            validators=True,
        )

    async def _zone(self, connection: Connection) -> str:
        async with self.store.read() as conn:
            location = await directory.get_location(conn, connection.location_id)
        if location is None:
            raise NotFound("Location not found")
        return location.timezone

    async def _limits(self, connection: Connection) -> ImportLimits:
        s = self.settings
        return ImportLimits(
            location_zone=await self._zone(connection),
            busy_only=connection.busy_only,
            max_events=s.connection_max_events,
            max_count=s.max_count,
            rule_work=s.rule_work,
            max_exceptions=s.max_exceptions,
        )

    @property
    def _interval_ms(self) -> int:
        return int(self.settings.connection_sync_seconds * 1000)

    def _failed(self, connection: Connection, error: str) -> SyncState:
        now = self.clock()
        failures = connection.failures + 1
        delay_s = min(
            self.settings.connection_retry_max_seconds,
            self.settings.connection_sync_seconds * 2 ** min(failures, 20),
        )
        log.warning("connection %s failed to sync: %s", connection.id, error)
        return SyncState(
            now + int(delay_s * 1000), failures, last_error=error[:1000], last_error_ms=now
        )

    # --- applying an import ------------------------------------------------------------

    async def _apply(self, connection: Connection, imported: Sequence[ImportedBlock]) -> int:
        """Make the connection's blocks the imported ones; how many there are now."""
        now = self.clock()
        wanted: dict[str, Block] = {}
        for item in imported:
            block = _as_block(connection, item, now)
            wanted.setdefault(block.id, block)  # two events of one key: the first wins
        async with self.store.begin() as conn:
            await self._write(conn, connection, wanted, None)
        return len(wanted)

    async def _write(
        self,
        conn: AsyncConnection,
        connection: Connection,
        wanted: dict[str, Block],
        scope: set[str] | None,
    ) -> None:
        """Make the connection's blocks of ids in `scope` (None: all of them) `wanted`."""
        found = await block_store.blocks_of_connection(
            conn, connection.location_id, connection.id, lock=True
        )
        stored = {b.id: (b, v) for b, v in found if scope is None or b.id in scope}
        await self._write_changes(conn, stored, wanted)

    async def _write_changes(
        self,
        conn: AsyncConnection,
        stored: dict[str, tuple[Block, int]],
        wanted: dict[str, Block],
    ) -> None:
        for block_id_, (old, _) in stored.items():
            if block_id_ not in wanted:
                await block_store.delete_block(conn, old.location_id, old.id)
                await self.changes.record(conn, old, None)
        for new_id_, new in wanted.items():
            previous = stored.get(new_id_)
            if previous is None:
                await block_store.insert_block(conn, new)
                await self.changes.record(conn, None, replace(new, version=1))
            elif not same_block(previous[0], new):
                old, version = previous
                changed = replace(new, created_ms=old.created_ms)
                await block_store.replace_block(conn, changed, version)
                await self.changes.record(conn, old, replace(changed, version=version + 1))


def _import_all(documents: Sequence[bytes], limits: ImportLimits) -> ImportResult:
    """Every document's blocks in one result (a CalDAV collection is one per event)."""
    total = ImportResult()
    for document in documents:
        one = import_calendar(document, limits)
        total.blocks += one.blocks
        total.events += one.events
        for warning in one.warnings:
            total.warn("", warning)
        total.warning_count += one.warning_count - len(one.warnings)
        if total.events > limits.max_events:
            raise ImportRefused(f"the calendar holds more than {limits.max_events} events")
    return total


def _import_each(resources: Sequence[Resource], limits: ImportLimits) -> dict[str, ImportResult]:
    """Each resource's import, by href (one event count across them all)."""
    results: dict[str, ImportResult] = {}
    events = 0
    for resource in resources:
        results[resource.href] = one = import_calendar(resource.data, limits)
        events += one.events
        if events > limits.max_events:
            raise ImportRefused(f"the calendar holds more than {limits.max_events} events")
    return results


def _by_href(resources: Sequence[Resource]) -> list[tuple[str, Resource]]:
    return sorted({r.href: r for r in resources}.items())


def _as_block(connection: Connection, item: ImportedBlock, now: int) -> Block:
    return Block(
        location_id=connection.location_id,
        id=block_id(connection.id, item.key),
        calendar_id=None,
        assigned_user_id=connection.user_id,
        title=item.texts["title"],
        description=item.texts["description"],
        notes=item.texts["notes"],
        address=item.texts["address"],
        start_ms=item.start_ms,
        end_ms=item.end_ms,
        timezone=item.timezone,
        rrule=item.rrule,
        last_start_ms=item.last_start_ms,
        overrides=tuple(sorted(item.overrides, key=lambda o: o.original_start_ms)),
        created_ms=now,
        updated_ms=now,
        connection_id=connection.id,
        source=connection.source,
    )


def same_block(old: Block, new: Block) -> bool:
    """Whether a reader would see no difference (the times of the writes aside)."""
    return all(
        getattr(old, f.name) == getattr(new, f.name) for f in fields(Block) if f.name not in _UNSEEN
    )

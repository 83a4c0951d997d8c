"""One sync of a connected calendar: read it, map it (core/connection_import.py), and make
the user's synced blocks of that connection what the calendar says.

A block's id comes from the connection and the event's key (`block_id`), so the same event
keeps its id across syncs. A block is written only when what a reader sees of it changed:
an unchanged calendar (a 304, or the same document) writes nothing, so the changes feed,
webhooks and versions see real changes only. The writes go through the change log in one
transaction, as a client's writes do.

A failed sync keeps the blocks of the last good one, records its error, counts the failure
and is tried again after a backoff (the sync interval doubled per failure in a row, at most
SLOTBLOCK_CONNECTION_RETRY_MAX_SECONDS).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import fields, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.connection_import import (
    ImportedBlock,
    ImportLimits,
    ImportRefused,
    ImportResult,
    block_id,
    import_calendar,
)
from slotblock.core.errors import NotFound
from slotblock.core.model import Block, Connection
from slotblock.service.caldav import fetch_caldav
from slotblock.service.changes import ChangeLog
from slotblock.service.connection_fetch import (
    DestinationRefused,
    Fetched,
    FetchFailed,
    Unreachable,
    fetch_ical,
)
from slotblock.service.connection_secrets import SecretBox, SecretUnreadable
from slotblock.service.cpu import CpuWork
from slotblock.service.outbound import OutboundClient, OutboundPolicy
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store
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
        try:
            state = await self._sync(connection)
        except _FAILURES as exc:
            state = self._failed(connection, f"{type(exc).__name__}: {exc}")
        except NotFound as exc:  # the user or the connection went away meanwhile
            state = self._failed(connection, str(exc))
        async with self.store.begin() as conn:
            await connection_store.record(conn, connection.location_id, connection.id, state)
            found = await connection_store.get(conn, connection.location_id, connection.id)
        return found or connection

    async def _sync(self, connection: Connection) -> SyncState:
        fetched = await self._fetch(connection)
        now = self.clock()
        if fetched.documents is None:  # 304, or nothing changed since the sync token
            return SyncState(now + self._interval_ms, 0, last_success_ms=now)
        zone_name = await self._zone(connection)
        limits = self._limits(connection, zone_name)
        result = await self.cpu.run(_import_all, fetched.documents, limits)
        count = await self._apply(connection, result.blocks)
        return SyncState(
            self.clock() + self._interval_ms,
            0,
            last_success_ms=now,
            event_count=count,
            warnings=tuple(result.warnings),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            sync_token=fetched.sync_token,
            validators=True,
        )

    async def _fetch(self, connection: Connection) -> Fetched:
        secret = await self._secret(connection)
        if connection.kind == "caldav":
            return await fetch_caldav(
                self.outbound, connection, secret, self.settings.connection_max_bytes
            )
        return await fetch_ical(
            self.outbound, connection, secret, self.settings.connection_max_bytes
        )

    async def _secret(self, connection: Connection) -> str | None:
        if not connection.has_secret:
            return None
        async with self.store.read() as conn:
            sealed = await connection_store.secret_of(conn, connection.location_id, connection.id)
        return None if sealed is None else self.box.open(sealed)

    async def _zone(self, connection: Connection) -> str:
        async with self.store.read() as conn:
            location = await directory.get_location(conn, connection.location_id)
        if location is None:
            raise NotFound("Location not found")
        return location.timezone

    def _limits(self, connection: Connection, zone_name: str) -> ImportLimits:
        s = self.settings
        return ImportLimits(
            location_zone=zone_name,
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
            found = await block_store.blocks_of_connection(
                conn, connection.location_id, connection.id, lock=True
            )
            stored = {block.id: (block, version) for block, version in found}
            await self._write_changes(conn, stored, wanted)
        return len(wanted)

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

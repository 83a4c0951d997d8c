"""Connected calendars of a location's users: create, list, read, delete, sync now.

Reads need `calendars.readonly`, writes `calendars.write`. A connection's URL is checked
by the outbound policy when it is given (http(s) only; no private, loopback or link-local
destination unless SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS allows it) and again at every
request of a sync. Its password or token is sealed (service/connection_secrets.py) and
never returned; so is its URL, which may be the calendar's only credential: a connection
shows `scheme://host[:port]/…` (core/connection_address.py). Deleting a connection
deletes its synced blocks (each a change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.connection_address import is_redacted, redacted
from slotblock.core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from slotblock.core.model import (
    CALENDARS_READ,
    CALENDARS_WRITE,
    CONNECTION_KINDS,
    CONNECTION_SOURCES,
    Connection,
    Principal,
)
from slotblock.core.tokens import new_id
from slotblock.service.auth import check_location, require_scope
from slotblock.service.changes import ChangeLog
from slotblock.service.connection_secrets import SecretBox
from slotblock.service.connection_sync import ConnectionSync
from slotblock.service.outbound import OutboundPolicy
from slotblock.store import Store, locks
from slotblock.store import blocks as block_store
from slotblock.store import connections as connection_store

_SOURCES_BY_HOST = (
    ("google.com", "google_calendar"),
    ("googleusercontent.com", "google_calendar"),
    ("outlook.office365.com", "outlook_calendar"),
    ("outlook.live.com", "outlook_calendar"),
    ("office.com", "outlook_calendar"),
    ("icloud.com", "icloud_calendar"),
)


@dataclass(frozen=True)
class ConnectionInput:
    location_id: str
    user_id: str
    url: str
    kind: str | None = None  # ical | caldav; default: caldav when credentials are given
    source: str | None = None  # default from the URL's host and the kind
    busy_only: bool = False
    username: str | None = None
    password: str | None = None  # or a token (without a username: sent as Bearer)


def default_source(url: str, kind: str) -> str:
    host = url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()
    for suffix, source in _SOURCES_BY_HOST:
        if host == suffix or host.endswith("." + suffix):
            return source
    return "caldav" if kind == "caldav" else "ical"


@dataclass(frozen=True)
class NewConnection:
    connection: Connection  # its `url` redacted
    secret: str | None  # the password or token, sealed
    address: str  # the URL, sealed (as given when there is no key)


class ConnectionFactory:
    """A new connection from what a client, the CLI or a fixture gives: the URL checked by
    the outbound policy, the type and source settled, the password and the URL sealed."""

    def __init__(self, settings: Settings) -> None:
        self.policy = OutboundPolicy.from_settings(settings)
        self.box = SecretBox(settings.connection_key)

    def new(
        self, body: ConnectionInput, now_ms: int, connection_id: str | None = None
    ) -> NewConnection:
        if is_redacted(body.url):
            raise InvalidInput(
                "url is a redacted address (as slotblock shows one): give the calendar's "
                "full address"
            )
        url = self.policy.check_url(body.url)
        kind = body.kind or ("caldav" if body.password else "ical")
        if kind not in CONNECTION_KINDS:
            raise InvalidInput(f"type must be one of {', '.join(CONNECTION_KINDS)}")
        source = body.source or default_source(url, kind)
        if source not in CONNECTION_SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(CONNECTION_SOURCES)}")
        if body.username and not body.password:
            raise InvalidInput("password should not be empty when username is given")
        secret = self.box.seal(body.password) if body.password else None
        connection = Connection(
            location_id=body.location_id,
            id=connection_id or new_id(),
            user_id=body.user_id,
            url=redacted(url),
            kind=kind,
            source=source,
            busy_only=body.busy_only,
            username=body.username or None,
            has_secret=secret is not None,
            created_ms=now_ms,
            next_sync_ms=now_ms,
        )
        return NewConnection(connection, secret, self.box.seal_address(url))


class ConnectionService:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.factory = ConnectionFactory(settings)
        self.syncer = ConnectionSync(store, settings, clock)
        self.changes = ChangeLog(clock)

    async def create(self, principal: Principal, body: ConnectionInput) -> Connection:
        require_scope(principal, CALENDARS_WRITE)
        check_location(principal, body.location_id)
        return await self.create_in(body)

    async def create_in(self, body: ConnectionInput) -> Connection:
        """Create a connection (the CLI's and the fixtures' way: no token involved)."""
        new = self.factory.new(body, self.clock())
        async with self.store.begin() as conn:
            await self._check_room(conn, body)
            await connection_store.insert(conn, new.connection, new.secret, new.address)
        return new.connection

    async def _check_room(self, conn: AsyncConnection, body: ConnectionInput) -> None:
        if not await locks.hold_users(conn, body.location_id, [body.user_id]):
            raise NotFound("User not found")
        most = self.settings.connection_max_per_location
        if await connection_store.count_of(conn, body.location_id) >= most:
            raise Unprocessable(f"a location may hold at most {most} connected calendars")

    async def list_own(self, principal: Principal, location_id: str) -> list[Connection]:
        require_scope(principal, CALENDARS_READ)
        check_location(principal, location_id)
        async with self.store.read() as conn:
            return await connection_store.list_of(conn, location_id)

    async def list_all(self, location_id: str | None = None) -> list[Connection]:
        async with self.store.read() as conn:
            return await connection_store.list_of(conn, location_id)

    async def find(self, connection_id: str) -> Connection:
        """A connection by its id alone, in any location (the CLI names it so)."""
        for connection in await self.list_all():
            if connection.id == connection_id:
                return connection
        raise NotFound("Connection not found")

    async def get(self, principal: Principal, connection_id: str) -> Connection:
        require_scope(principal, CALENDARS_READ)
        async with self.store.read() as conn:
            found = await connection_store.get(conn, principal.location.id, connection_id)
        if found is None:
            raise NotFound("Connection not found")
        return found

    async def delete(self, principal: Principal, connection_id: str) -> None:
        require_scope(principal, CALENDARS_WRITE)
        await self.delete_in(principal.location.id, connection_id)

    async def delete_in(self, location_id: str, connection_id: str) -> None:
        """Delete a connection and its synced blocks (each block's deletion is a change)."""
        async with self.store.begin() as conn:
            found = await block_store.blocks_of_connection(
                conn, location_id, connection_id, lock=True
            )
            if not await connection_store.delete(conn, location_id, connection_id):
                raise NotFound("Connection not found")
            for block, _ in found:
                await block_store.delete_block(conn, location_id, block.id)
                await self.changes.record(conn, block, None)

    async def sync_now(self, principal: Principal, connection_id: str) -> Connection:
        """Sync at once (claimed like a syncer's sync: no other syncer runs it meanwhile)."""
        require_scope(principal, CALENDARS_WRITE)
        return await self.sync_in(principal.location.id, connection_id)

    async def sync_in(self, location_id: str, connection_id: str) -> Connection:
        now = self.clock()
        async with self.store.begin() as conn:
            found = await connection_store.get(conn, location_id, connection_id)
            if found is None:
                raise NotFound("Connection not found")
            lease = now + self.syncer.lease_ms
            if not await connection_store.claim(conn, location_id, connection_id, now, lease):
                raise Conflict("this connection is being synced now; try again in a moment")
        return await self.syncer.sync(found)

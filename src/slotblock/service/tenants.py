"""Tenants, as the operator manages them (CLI, demo, the admin API): locations, their users
and tokens — created, listed, revoked and removed; and a token's own location, as the API
reads it (get-location)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slotblock.core.errors import InvalidInput, NotFound, ScopeMissing, Unprocessable
from slotblock.core.isotime import zone
from slotblock.core.model import (
    CALENDARS_READ,
    LOCATIONS_READ,
    SCOPES,
    Location,
    Principal,
    TokenInfo,
)
from slotblock.core.tokens import hash_token, is_id, new_id, new_token
from slotblock.service.auth import NO_SCOPE, check_location
from slotblock.store import Store, directory
from slotblock.store import oauth as oauth_store
from slotblock.store import tenants as tenant_store
from slotblock.store import tokens as token_store

# A token minted with an expiry lives one minute to a year.
MIN_EXPIRY_S = 60
MAX_EXPIRY_S = 366 * 86_400


class TenantService:
    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock

    async def create_location(
        self, name: str, timezone: str, location_id: str | None = None
    ) -> Location:
        try:
            zone(timezone)
        except ValueError as exc:
            raise InvalidInput(f"unknown IANA timezone {timezone!r}") from exc
        location = Location(_chosen_id(location_id), name, timezone)
        async with self.store.begin() as conn:
            await directory.insert_location(conn, location, self.clock())
        return location

    async def location(self, location_id: str) -> Location:
        async with self.store.read() as conn:
            found = await directory.get_location(conn, location_id)
        if found is None:
            raise NotFound(f"location {location_id} not found")
        return found

    async def own_location(
        self, principal: Principal, location_id: str
    ) -> tuple[Location, str | None]:
        """The caller's own location (get-location) and the company (agency) that owns it,
        if one does. The platform's scope is `locations.readonly`; `calendars.readonly` is
        enough too, since a token that reads a location's calendars needs its zone to read
        their times. Another location: 403, as for every `locationId` the client names."""
        if not principal.scopes & {LOCATIONS_READ, CALENDARS_READ}:
            raise ScopeMissing(NO_SCOPE)
        check_location(principal, location_id)
        async with self.store.read() as conn:
            found = await directory.get_location(conn, location_id)
            company = await oauth_store.company_of(conn, location_id)
        if found is None:
            raise NotFound(f"location {location_id} not found")
        return found, company

    async def create_user(
        self, location_id: str, name: str, email: str = "", user_id: str | None = None
    ) -> str:
        await self.location(location_id)
        new = _chosen_id(user_id)
        async with self.store.begin() as conn:
            await directory.insert_user(conn, location_id, new, name, email, self.clock())
        return new

    async def create_token(
        self,
        location_id: str,
        scopes: Sequence[str] = (),
        name: str = "",
        expires_in_s: int | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token (returned once, in clear) and what is stored of it; with
        `expires_in_s`, refused that many seconds from now (by the service's clock) and then
        deleted by the housekeeping."""
        if expires_in_s is not None and not MIN_EXPIRY_S <= expires_in_s <= MAX_EXPIRY_S:
            raise InvalidInput(
                f"a token's expiry must be {MIN_EXPIRY_S} to {MAX_EXPIRY_S} seconds away"
            )
        await self.location(location_id)
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise InvalidInput(
                f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}"
            )
        token = new_token()
        info = TokenInfo(
            id=new_id(),
            location_id=location_id,
            name=name,
            scopes=tuple(scopes or SCOPES),
            created_ms=(now := self.clock()),
            revoked_ms=None,
            expires_ms=None if expires_in_s is None else now + expires_in_s * 1000,
        )
        async with self.store.begin() as conn:
            await token_store.insert_token(conn, info, hash_token(token))
        return token, info

    async def list_tokens(self, location_id: str) -> list[TokenInfo]:
        await self.location(location_id)
        async with self.store.read() as conn:
            return await token_store.list_tokens(conn, location_id)

    async def revoke_token(self, token_id: str) -> None:
        async with self.store.begin() as conn:
            if not await token_store.revoke(conn, token_id, self.clock()):
                raise NotFound(f"no live token {token_id}")

    async def principal(self, location_id: str) -> Principal:
        """The operator acting in a location, with every scope (for the API's use cases)."""
        async with self.store.read() as conn:
            location = await directory.get_location(conn, location_id)
        if location is None:
            raise NotFound(f"location {location_id} not found")
        return Principal(token_id="operator", location=location, scopes=frozenset(SCOPES))

    async def locations(self) -> list[Location]:
        async with self.store.read() as conn:
            return await tenant_store.list_locations(conn)

    async def delete_location(self, location_id: str) -> None:
        """Refused while users, groups, calendars or blocks remain; its tokens go with it."""
        await self.principal(location_id)
        async with self.store.begin() as conn:
            if left := await tenant_store.location_contents(conn, location_id):
                raise Unprocessable(f"the location still has {', '.join(left)}; delete them first")
            await tenant_store.delete_location(conn, location_id)

    async def users(self, location_id: str) -> list[tuple[str, str, str]]:
        await self.principal(location_id)
        async with self.store.read() as conn:
            return await tenant_store.list_users(conn, location_id)

    async def delete_user(self, location_id: str, user_id: str) -> None:
        async with self.store.begin() as conn:
            if await tenant_store.user_in_use(conn, location_id, user_id):
                raise Unprocessable("the user is on a calendar or has blocks; remove those first")
            if not await tenant_store.delete_user(conn, location_id, user_id):
                raise NotFound(f"user {user_id} not found in location {location_id}")


def _chosen_id(value: str | None) -> str:
    if value is None:
        return new_id()
    if not is_id(value):
        raise InvalidInput(f"id {value!r} must be 1-64 letters and digits")
    return value

"""What the operator's CLI lists and removes, beside what it creates (service/admin.py)."""

from __future__ import annotations

from slotblock.errors import NotFound, Unprocessable
from slotblock.model import SCOPES, Location, Principal
from slotblock.store import Store
from slotblock.store import operators as store
from slotblock.store.directory import get_location


class OperatorService:
    def __init__(self, store_: Store) -> None:
        self.store = store_

    async def principal(self, location_id: str) -> Principal:
        """The operator acting in a location, with every scope (for the API's use cases)."""
        async with self.store.read() as conn:
            location = await get_location(conn, location_id)
        if location is None:
            raise NotFound(f"location {location_id} not found")
        return Principal(token_id="operator", location=location, scopes=frozenset(SCOPES))

    async def locations(self) -> list[Location]:
        async with self.store.read() as conn:
            return await store.list_locations(conn)

    async def delete_location(self, location_id: str) -> None:
        """Refused while users, groups, calendars or blocks remain; its tokens go with it."""
        await self.principal(location_id)
        async with self.store.begin() as conn:
            if left := await store.location_contents(conn, location_id):
                raise Unprocessable(f"the location still has {', '.join(left)}; delete them first")
            await store.delete_location(conn, location_id)

    async def users(self, location_id: str) -> list[tuple[str, str, str]]:
        await self.principal(location_id)
        async with self.store.read() as conn:
            return await store.list_users(conn, location_id)

    async def delete_user(self, location_id: str, user_id: str) -> None:
        async with self.store.begin() as conn:
            if await store.user_in_use(conn, location_id, user_id):
                raise Unprocessable("the user is on a calendar or has blocks; remove those first")
            if not await store.delete_user(conn, location_id, user_id):
                raise NotFound(f"user {user_id} not found in location {location_id}")

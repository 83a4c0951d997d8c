"""store.directory on every backend: locations, users, groups, calendars, team members,
each scoped by location."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slotblock.core.model import Location
from slotblock.store import Store, directory
from tests.store.rows import NOW, place

pytestmark = pytest.mark.anyio


async def test_locations(store: Store) -> None:
    location = Location("loc1", "Clinic", "Asia/Kolkata")
    async with store.begin() as conn:
        await directory.insert_location(conn, location, NOW)
    async with store.read() as conn:
        assert await directory.get_location(conn, "loc1") == location
        assert await directory.get_location(conn, "nowhere") is None


async def test_users_are_per_location(store: Store) -> None:
    a, b = await place(store, "1"), await place(store, "2")
    async with store.begin() as conn:
        await directory.insert_user(conn, a.location.id, "u2", "Two", "", NOW)
    async with store.read() as conn:
        assert await directory.existing_users(conn, a.location.id, ["usr", "u2", "u3"]) == {
            "usr",
            "u2",
        }
        assert await directory.existing_users(conn, b.location.id, ["u2"]) == set()
        assert await directory.existing_users(conn, a.location.id, []) == set()


async def test_groups(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    second = replace(p.group, id="g2", name="Another", slug="another", is_active=False)
    async with store.begin() as conn:
        await directory.insert_group(conn, second, NOW)
    async with store.read() as conn:
        assert await directory.get_group(conn, p.location.id, "g2") == second
        assert await directory.get_group(conn, other.location.id, "g2") is None
        assert await directory.list_groups(conn, p.location.id) == [second, p.group]  # by name
    renamed = replace(second, name="Zed", description="d", slug="zed", is_active=True)
    async with store.begin() as conn:
        await directory.update_group(conn, renamed, NOW + 1)
    async with store.read() as conn:
        assert await directory.get_group(conn, p.location.id, "g2") == renamed
        assert await directory.group_has_calendars(conn, p.location.id, p.group.id)
        assert not await directory.group_has_calendars(conn, p.location.id, "g2")
    async with store.begin() as conn:
        await directory.delete_group(conn, p.location.id, "g2")
    async with store.read() as conn:
        assert await directory.list_groups(conn, p.location.id) == [p.group]
        assert await directory.list_groups(conn, other.location.id) == [other.group]


async def test_calendars_keep_members_in_order_with_their_fields(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    async with store.begin() as conn:
        await directory.insert_user(conn, p.location.id, "u2", "Two", "", NOW)
        second = replace(
            p.calendar, id="c2", name="Another", group_id=None,
            team_members=({"userId": "u2", "priority": 0.5}, {"userId": "usr"}),
            extra={"slotDuration": 30},
        )  # fmt: skip
        await directory.insert_calendar(conn, second, NOW)
    async with store.read() as conn:
        assert await directory.get_calendar(conn, p.location.id, "c2") == second
        assert await directory.get_calendar(conn, other.location.id, "c2") is None
        assert await directory.list_calendars(conn, p.location.id) == [second, p.calendar]
        in_group = await directory.list_calendars(conn, p.location.id, group_id=p.group.id)
        assert in_group == [p.calendar]
    changed = replace(second, name="Zed", team_members=({"userId": "usr", "isPrimary": True},))
    async with store.begin() as conn:
        await directory.update_calendar(conn, changed, NOW + 1)
    async with store.read() as conn:
        assert await directory.get_calendar(conn, p.location.id, "c2") == changed
    async with store.begin() as conn:
        await directory.delete_calendar(conn, p.location.id, "c2")  # its members go with it
    async with store.read() as conn:
        assert await directory.list_calendars(conn, p.location.id) == [p.calendar]
        assert await directory.list_calendars(conn, other.location.id) == [other.calendar]

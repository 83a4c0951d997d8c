"""The (calendar, user, group) target filter as SQL: the one builder every query that
filters by target uses (the window statement, which the direct-driver reader compiles to
its own SQL text, and the changes feed's queries).

The conditions hold bound parameters named `location_id`, `calendar_id`, `user_id` and
`group_id`, valued by `target_params`: a statement depends only on which targets are given
(`Targets.shape`), so one built statement serves every value.

Which blocks a target holds:

- a calendar: the blocks on that calendar (a synced block has none: never one);
- a user: the blocks assigned to that user, synced ones included;
- a group G: the blocks on the calendars of G, and the blocks synced from a connected
  calendar (`connection_id` set, no calendar) whose user is a team member
  (`calendar_members`) of at least one calendar of G. A user-level block a client wrote
  is in no group. Membership is read when the statement runs: a user who leaves the team
  takes their synced blocks out of the group's answers at once. Every write to
  `calendar_members` writes its calendar's row too (`directory.update_calendar`), which
  moves the data version (PostgreSQL: the `calendars` triggers; SQLite: any commit), so
  the answers cached against it never outlive a membership;
- a change (the changes feed) by the groups it recorded when it was written: a synced
  block's change records the groups of its user then (one row per group), and a change of
  a team or of a calendar's group records the synced blocks of the users who entered or
  left a group (`store.changes.log_member_moves`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from slotblock.core.model import Targets
from slotblock.store.tables import calendar_members, calendars

Column = sa.ColumnElement[Any]


GroupPath = Literal["calendars", "members", "either"]


@dataclass(frozen=True)
class Synced:
    """A block's way into a group as a team member's synced block: its `connection`
    column, and the `path` a statement keeps — the group's calendars' blocks only, its
    members' synced blocks only, or either."""

    connection: Column
    path: GroupPath = "either"


def target_scope(
    shape: tuple[bool, bool, bool],
    location: Column,
    calendar: Sequence[Column],
    user: Sequence[Column],
    groups: Sequence[Column] = (),
    synced: Synced | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The conditions of a filter of this shape (calendar, user, group given): `location`
    is the location's id column; a target holds when any of its columns (`calendar`, the
    calendar ids; `user`, the user ids) names it — one each for a block, the values before
    and after the write for a change; a group holds for the calendars of the group, and,
    with `synced` (blocks), for the synced blocks of the group's team members
    (`group_members`). Its `path` may keep one of the two ways into a group (the window
    statement reads each by its own index: they never hold the same block, as a synced
    block has no calendar). A change records its groups too (`groups`, before and after):
    a group holds when either names it, and for a change recorded without groups (both
    NULL) by the calendars' groups of now."""
    by_calendar, by_user, by_group = shape
    location_id: sa.BindParameter[str] = sa.bindparam("location_id")
    scope: list[sa.ColumnElement[bool]] = [location == location_id]
    if by_calendar:
        scope.append(sa.or_(*(column == sa.bindparam("calendar_id") for column in calendar)))
    if by_user:
        scope.append(sa.or_(*(column == sa.bindparam("user_id") for column in user)))
    if by_group:
        scope.append(_group_scope(calendar, user, groups, synced))
    return scope


def _group_scope(
    calendar: Sequence[Column],
    user: Sequence[Column],
    groups: Sequence[Column],
    synced: Synced | None,
) -> sa.ColumnElement[bool]:
    path = "either" if synced is None else synced.path
    ways: list[sa.ColumnElement[bool]] = []
    if path != "members":
        ways.append(sa.or_(*(column.in_(group_calendars()) for column in calendar)))
    if path != "calendars" and synced is not None:
        # Neither `calendar IS NULL` (a synced block has none anyway) nor a bare
        # `connection IS NOT NULL`: either leads SQLite's planner (no statistics) to an index
        # of every user-level or synced block of the location, where the user index reads
        # the members' blocks of the window only.
        empty: Column = sa.literal_column("''")  # a constant: no parameter of its own
        connected = sa.func.coalesce(synced.connection, empty) != empty
        ways.append(sa.and_(connected, *(column.in_(group_members()) for column in user)))
    now = sa.or_(*ways)
    if not groups:
        return now
    recorded = sa.or_(*(column == sa.bindparam("group_id") for column in groups))
    unrecorded = sa.and_(*(column.is_(None) for column in groups), now)
    return sa.or_(recorded, unrecorded)


def group_calendars() -> sa.Select[tuple[str]]:
    """The ids of the group's calendars (parameters `location_id` and `group_id`)."""
    return sa.select(calendars.c.id).where(
        calendars.c.location_id == sa.bindparam("location_id"),
        calendars.c.group_id == sa.bindparam("group_id"),
    )


def group_members() -> sa.Select[tuple[str]]:
    """The users on the team of a calendar of the group (parameters `location_id` and
    `group_id`): the users whose synced blocks the group holds. Read from the group's
    calendars to their teams (the members' primary key leads with the calendar)."""
    return sa.select(calendar_members.c.user_id).where(
        calendar_members.c.location_id == sa.bindparam("location_id"),
        calendar_members.c.calendar_id.in_(group_calendars()),
    )


def target_params(location_id: str, targets: Targets) -> dict[str, Any]:
    """The values of `target_scope`'s parameters."""
    params: dict[str, Any] = {"location_id": location_id}
    if targets.calendar_id is not None:
        params["calendar_id"] = targets.calendar_id
    if targets.user_id is not None:
        params["user_id"] = targets.user_id
    if targets.group_id is not None:
        params["group_id"] = targets.group_id
    return params

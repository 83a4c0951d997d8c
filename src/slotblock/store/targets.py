"""The (calendar, user, group) target filter as SQL: the one builder every query that
filters by target uses (the window statement, which the direct-driver reader compiles to
its own SQL text, and the changes feed's queries).

The conditions hold bound parameters named `location_id`, `calendar_id`, `user_id` and
`group_id`, valued by `target_params`: a statement depends only on which targets are given
(`Targets.shape`), so one built statement serves every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from slotblock.core.model import Targets
from slotblock.store.tables import calendars

Column = sa.ColumnElement[Any]


def target_scope(
    shape: tuple[bool, bool, bool],
    location: Column,
    calendar: Sequence[Column],
    user: Sequence[Column],
    groups: Sequence[Column] = (),
) -> list[sa.ColumnElement[bool]]:
    """The conditions of a filter of this shape (calendar, user, group given): `location`
    is the location's id column; a target holds when any of its columns (`calendar`, the
    calendar ids; `user`, the user ids) names it — one each for a block, the values before
    and after the write for a change; a group holds for the calendars of the group. A change
    records its groups too (`groups`, before and after): a group holds when either names it,
    and for a change recorded without groups (both NULL) by the calendars' groups of now."""
    by_calendar, by_user, by_group = shape
    location_id: sa.BindParameter[str] = sa.bindparam("location_id")
    scope: list[sa.ColumnElement[bool]] = [location == location_id]
    if by_calendar:
        scope.append(sa.or_(*(column == sa.bindparam("calendar_id") for column in calendar)))
    if by_user:
        scope.append(sa.or_(*(column == sa.bindparam("user_id") for column in user)))
    if by_group:
        in_group = sa.select(calendars.c.id).where(
            calendars.c.location_id == location_id,
            calendars.c.group_id == sa.bindparam("group_id"),
        )
        by_calendars = sa.or_(*(column.in_(in_group) for column in calendar))
        if groups:
            recorded = sa.or_(*(column == sa.bindparam("group_id") for column in groups))
            unrecorded = sa.and_(*(column.is_(None) for column in groups), by_calendars)
            scope.append(sa.or_(recorded, unrecorded))
        else:
            scope.append(by_calendars)
    return scope


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

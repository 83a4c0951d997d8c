"""PURE: the official JSON of the directory records, one encoder per record.

`GroupDTO` and `CalendarDTO` as the API answers them; the fixture export derives its
shape from these (toolkit/service/fixtures.py), so a field added here is exported too.
"""

from __future__ import annotations

from typing import Any

from slotblock.core.model import Calendar, Group


def calendar_json(calendar: Calendar) -> dict[str, Any]:
    """`CalendarDTO`: the stored fields, then the rest of the official body as given."""
    return {
        **calendar.extra,
        "id": calendar.id,
        "locationId": calendar.location_id,
        "name": calendar.name,
        "description": calendar.description,
        "groupId": calendar.group_id or "",
        "isActive": calendar.is_active,
        "calendarType": calendar.calendar_type,
        "slug": calendar.slug,
        "teamMembers": [dict(member) for member in calendar.team_members],
    }


def group_json(group: Group) -> dict[str, Any]:
    """`GroupDTO`."""
    return {
        "id": group.id,
        "locationId": group.location_id,
        "name": group.name,
        "description": group.description,
        "slug": group.slug,
        "isActive": group.is_active,
    }

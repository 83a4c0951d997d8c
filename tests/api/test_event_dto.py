"""`CalendarEventDTO` (the documented shape) and what the API really sends cannot drift:
real responses of every kind validate against the DTO with extra keys forbidden, and every
key the DTO documents is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ConfigDict

from slotblock.api.schemas import BlockSlotBody, CalendarEventDTO, CreatedOrUpdatedBy
from slotblock.core.model import TEXT_FIELDS
from tests.api.calls import create, edit, events
from tests.api.test_recurring import APRIL, series_with_moved_second
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


class ExactEventDTO(CalendarEventDTO):
    model_config = ConfigDict(extra="forbid", strict=True)


def check(event: dict[str, Any]) -> ExactEventDTO:
    """The event is an exact CalendarEventDTO: no key more, none of a wrong type, and
    dumping the model by its wire names gives back what was sent."""
    parsed = ExactEventDTO.model_validate(event)
    assert parsed.model_dump(exclude_unset=True) == event
    return parsed


async def test_real_responses_are_exact_dtos(client: httpx.AsyncClient, tenant: Tenant) -> None:
    one_off = await create(
        client, tenant, title="lunch", startTime="2023-04-03T13:00:00+05:30",
        endTime="2023-04-03T14:00:00+05:30", notes="n", description="d", address="a",
    )  # fmt: skip
    user_block = await create(
        client, tenant, assignedUserId=tenant.user_id,
        startTime="2023-04-04T13:00:00+05:30", endTime="2023-04-04T14:00:00+05:30",
    )  # fmt: skip
    master, moved_id = await series_with_moved_second(client, tenant)
    edited = await edit(client, tenant, moved_id, title="moved")
    assert edited.status_code == 201
    sent = [one_off, user_block, master, edited.json()]
    sent += await events(client, tenant, *APRIL)
    sent += await events(client, tenant, *APRIL, userId=tenant.user_id)
    kinds = {(e["isRecurring"], "masterEventId" in e, e["calendarId"] == "") for e in sent}
    assert kinds == {
        (False, False, False),  # one-off calendar block
        (False, False, True),  # user block
        (True, False, False),  # series master
        (True, True, False),  # instances, one of them moved
    }
    assert any(e.get("originalStartTime") not in (None, e["startTime"]) for e in sent)
    for event in sent:
        check(event)


def test_a_key_more_or_less_is_caught() -> None:
    """The check above can fail: a drift either way is refused."""
    event = ExactEventDTO.model_validate(
        {name: _example(info.annotation) for name, info in _wire_fields()}
    ).model_dump()
    with pytest.raises(ValueError, match="extra"):
        check({**event, "color": "red"})
    del event["contactId"]
    with pytest.raises(ValueError, match="contactId"):
        check(event)


def test_every_text_field_is_in_the_body_and_the_dto() -> None:
    for name in TEXT_FIELDS:
        assert name in BlockSlotBody.model_fields
        assert name in CalendarEventDTO.model_fields


def _wire_fields() -> list[tuple[str, Any]]:
    return [(info.alias or name, info) for name, info in CalendarEventDTO.model_fields.items()]


def _example(annotation: Any) -> Any:
    if annotation is bool:
        return False
    if annotation == list[str]:
        return []
    if annotation == CreatedOrUpdatedBy | None:
        return {"source": "google_calendar"}
    return "x"

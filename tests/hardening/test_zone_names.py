"""Zone names are checked before the lookup: a name the lookup cannot even open (a
300-character component is ENAMETOOLONG, a directory such as `America` is EISDIR) is an
unknown zone, answered 400/422 wherever a client can send one, never a 500."""

from __future__ import annotations

import zoneinfo

import httpx
import pytest

from slotblock.core import isotime
from slotblock.core.isotime import zone
from tests.api.calls import SEED_END, SEED_START, create
from tests.conftest import Tenant

LONG_COMPONENT = "Europe/" + "x" * 300
BAD_NAMES = [LONG_COMPONENT, "y" * 300, "America", "Etc", "zone.tab", "a//b", "../UTC", ""]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_the_lookup_cannot_open_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown IANA timezone"):
        zone(name)


def test_every_known_zone_still_passes() -> None:
    names = zoneinfo.available_timezones()
    assert names and all(zone(n).key == n for n in names)
    assert not any(map(isotime.zone_name_ok, ["America/" + "x" * 31, "a/b/c/d/e", "Europe/Paris "]))


@pytest.mark.anyio
@pytest.mark.parametrize("name", [LONG_COMPONENT, "America"])
async def test_every_zone_parameter_answers_400(
    client: httpx.AsyncClient, tenant: Tenant, name: str
) -> None:
    h, loc = tenant.headers(), tenant.location_id
    block = await create(
        client, tenant, startTime="2023-04-03T10:00:00Z", endTime="2023-04-03T11:00:00Z"
    )
    window = {"startTime": str(SEED_START), "endTime": str(SEED_END)}
    calls = [
        ("/calendars/blocked-slots", {"locationId": loc, "calendarId": tenant.calendar_id}),
        (f"/calendars/events/block-slots/{block['id']}", {}),
        ("/calendars/free-busy", {"locationId": loc, "calendarId": tenant.calendar_id}),
    ]
    for path, params in calls:
        answer = await client.get(path, params={**params, **window, "timeZone": name}, headers=h)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["message"][0].startswith("timeZone must be an IANA time zone")
    slots = await client.get(
        f"/calendars/{tenant.calendar_id}/free-slots",
        params={"startDate": str(SEED_START), "endDate": str(SEED_END), "timezone": name},
        headers=h,
    )
    assert slots.status_code == 400, slots.text
    assert len(slots.json()["message"][0]) < 200  # the name is not echoed whole


@pytest.mark.anyio
async def test_an_exdate_tzid_the_lookup_cannot_open_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": "2024-01-01T10:00:00Z",
        "endTime": "2024-01-01T11:00:00Z",
        "rrule": f"RRULE:FREQ=DAILY\nEXDATE;TZID={LONG_COMPONENT}:20240102T100000",
    }
    answer = await client.post("/calendars/events/block-slots", json=body, headers=tenant.headers())
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"] == ["rrule: EXDATE has an unknown TZID"]

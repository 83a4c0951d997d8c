"""Route of the token's own location: `GET /locations/{locationId}` (the platform's
get-location, Locations API), answered in the official SDK's shape
(`GetLocationByIdSuccessfulResponseDto`) with the fields slotblock keeps: id, name and
IANA timezone, and `companyId` when a company (agency) owns the location. The web view
reads its zone from it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS
from slotblock.api.schemas import GetLocationByIdSuccessfulResponseDto
from slotblock.core.model import Location

router = APIRouter(tags=["Locations"])


def location_json(location: Location) -> dict[str, str]:
    return {"id": location.id, "name": location.name, "timezone": location.timezone}


@router.get(
    "/locations/{locationId}",
    operation_id="get-location",
    summary="Get Sub-Account (Formerly Location)",
    description=(
        "Get details of a Sub-Account (Formerly Location) by passing the sub-account id. "
        "slotblock keeps a location's `id`, `name` and `timezone` (IANA) and answers those, "
        "and `companyId` when a company (agency) owns the location; "
        "the platform's other fields (address, business, settings…) are left out. Scope "
        "`locations.readonly`, or `calendars.readonly`; another location's id is 403."
    ),
    responses={200: {"model": GetLocationByIdSuccessfulResponseDto}, **ERRORS},
)
async def get_location(locationId: str, who: Caller, svc: Svc) -> Response:
    location, company = await svc.tenants.own_location(who, locationId)
    found: dict[str, str] = location_json(location)
    if company is not None:
        found["companyId"] = company
    return json_response({"location": found})

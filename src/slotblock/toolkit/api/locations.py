"""The control plane's locations and their tokens (`/_admin/locations…`, `/_admin/tokens…`):
every location (id, name, zone), and a location's private-integration tokens minted, listed
and revoked as `slotblock token create|list|revoke` does (the same service). The web view
signs in with the admin token this way: it lists the locations, mints a token of the one
picked, and from then on speaks the public API with that token only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from slotblock.api.dependencies import Svc, json_response
from slotblock.core.model import SCOPES, Location, TokenInfo
from slotblock.service.tenants import MAX_EXPIRY_S, MIN_EXPIRY_S
from slotblock.toolkit.api.routes import TAG, Control

router = APIRouter(prefix="/_admin", tags=[TAG])
MAX_NAME = 200


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    scopes: list[str] | None = Field(
        None,
        min_length=1,
        max_length=len(SCOPES),
        description=f"Default: all ({', '.join(SCOPES)}).",
    )
    name: str = Field("", max_length=MAX_NAME)
    expiresIn: int | None = Field(
        None,
        ge=MIN_EXPIRY_S,
        le=MAX_EXPIRY_S,
        description="Seconds until the token is refused (and then deleted); default: never.",
    )


def location_json(location: Location) -> dict[str, str]:
    return {"id": location.id, "name": location.name, "timezone": location.timezone}


def token_json(info: TokenInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "locationId": info.location_id,
        "name": info.name,
        "scopes": list(info.scopes),
        "dateAdded": info.created_ms,
        "revoked": info.revoked_ms is not None,
        "expiresAt": info.expires_ms,
    }


def _checked(control: Control, svc: Svc) -> Svc:
    del control  # checked: the caller holds an admin token
    return svc


@router.get("/locations", operation_id="admin-list-locations")
async def list_locations(control: Control, svc: Svc) -> Response:
    """Every location: `id`, `name`, `timezone` (IANA), ordered by id."""
    found = await _checked(control, svc).tenants.locations()
    return json_response({"locations": [location_json(place) for place in found]})


@router.post("/locations/{locationId}/tokens", operation_id="admin-create-token", status_code=201)
async def create_token(locationId: str, body: TokenBody, control: Control, svc: Svc) -> Response:
    """Mint a private-integration token of the location (404 if none; 400 for an unknown
    scope). `token` is shown only in this answer; only its hash is stored. With `expiresIn`
    (seconds), it is refused from `expiresAt` on (ms, by the service's clock)."""
    tenants = _checked(control, svc).tenants
    scopes = tuple(body.scopes or ())
    token, info = await tenants.create_token(locationId, scopes, body.name, body.expiresIn)
    return json_response({"token": token, **token_json(info)}, 201)


@router.get("/locations/{locationId}/tokens", operation_id="admin-list-tokens")
async def list_tokens(locationId: str, control: Control, svc: Svc) -> Response:
    """The location's tokens (never the tokens themselves), oldest first."""
    found = await _checked(control, svc).tenants.list_tokens(locationId)
    return json_response({"tokens": [token_json(info) for info in found]})


@router.delete("/tokens/{tokenId}", operation_id="admin-revoke-token")
async def revoke_token(tokenId: str, control: Control, svc: Svc) -> Response:
    """Revoke a live token by its id (404 if there is no live token of that id)."""
    await _checked(control, svc).tenants.revoke_token(tokenId)
    return json_response({"revoked": tokenId})

"""The control plane's OAuth declarations (`/_admin/oauth/…`): companies that own
locations, and marketplace apps, each added as the fixture document's `companies[]` and
`apps[]` entries are loaded (the same checks; 400 lists every problem), and listed as they
are exported (client secrets by hash)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from slotblock.api.dependencies import json_response
from slotblock.toolkit.api.routes import TAG, Control
from slotblock.toolkit.service.fixture_document import AppDoc, CompanyDoc

router = APIRouter(prefix="/_admin/oauth", tags=[TAG])


@router.post("/companies", operation_id="admin-add-company", status_code=201)
async def add_company(body: CompanyDoc, control: Control) -> Response:
    """Add a company owning stored locations (`locations`: their ids)."""
    await control.fixtures.load({"companies": [body.model_dump()]})
    return json_response(body.model_dump(), 201)


@router.post("/apps", operation_id="admin-add-app", status_code=201)
async def add_app(body: AppDoc, control: Control) -> Response:
    """Add a marketplace app: client id and secret, redirect URIs, scopes, distribution."""
    await control.fixtures.load({"apps": [body.model_dump(exclude_none=True)]})
    shown = body.model_dump(exclude_none=True, exclude={"clientSecret"})
    return json_response(shown, 201)


@router.get("/companies", operation_id="admin-list-companies")
async def list_companies(control: Control) -> Response:
    """Every company and the locations it owns."""
    found = await control.fixtures.export_oauth()
    return json_response({"companies": found.get("companies", [])})


@router.get("/apps", operation_id="admin-list-apps")
async def list_apps(control: Control) -> Response:
    """Every app, its client secret by hash (`clientSecretHash`)."""
    found = await control.fixtures.export_oauth()
    return json_response({"apps": found.get("apps", [])})

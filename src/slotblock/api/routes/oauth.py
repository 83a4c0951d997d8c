"""OAuth 2.0 routes of marketplace apps (the official `OAuth 2.0` document: `/oauth/token`,
`/oauth/locationToken`, `/oauth/installedLocations`), the kebab-case paths the official
SDKs (v3) call for the last two, and the authorize step the marketplace's consent page
(`/oauth/chooselocation`) would take, approved at once.

The token endpoint answers the platform's error body with the OAuth 2.0 code beside it:
`{"statusCode", "message", "error": "invalid_grant", "error_description"}`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, BaseModel, Field
from starlette.responses import RedirectResponse, Response

from slotblock.api import rate_limits
from slotblock.api.dependencies import Svc, json_response
from slotblock.api.headers import caller_token, check_version
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.api.schemas import IdText, clean
from slotblock.core.errors import InvalidInput
from slotblock.core.oauth import (
    Authorization,
    CompanyPrincipal,
    InstalledFilter,
    OAuthClientError,
    OAuthRequestError,
    parse_form,
    redirect_with,
    token_request,
)
from slotblock.service.container import Services

TAG = "OAuth 2.0"
router = APIRouter(tags=[TAG])
FORM = "application/x-www-form-urlencoded"
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
        },
    }
}


def _oauth_error(status: int, code: str, description: str) -> Response:
    body = {
        "statusCode": status,
        "message": description,
        "error": code,
        "error_description": description,
    }
    return json_response(body, status)


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM:
        raise OAuthRequestError("invalid_request", f"Invalid request: content must be {FORM}")
    return parse_form(await request.body())


class AuthorizeQuery(BaseModel):
    """The marketplace's authorize parameters, and whom to install the app for."""

    client_id: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(clean)]
    redirect_uri: Annotated[str, Field(max_length=2048), AfterValidator(clean)] | None = None
    scope: Annotated[str, Field(max_length=8192), AfterValidator(clean)] | None = None
    response_type: Literal["code"] = "code"
    state: Annotated[str, Field(max_length=2048), AfterValidator(clean)] | None = None
    locationId: IdText | None = None
    companyId: IdText | None = None
    userId: IdText | None = None


@router.get(
    "/oauth/chooselocation",
    operation_id="oauth-authorize",
    summary="Authorize an app (approved at once)",
    description=EXTENSION.format(what="route: the marketplace's consent page")
    + " Installs the app for `locationId` (a sub-account app) or `companyId` (an agency "
    "app), else for the location or company its declaration names, and redirects (302) to "
    "`redirect_uri` (else the app's first) with `code` and `state`.",
    status_code=302,
    responses=ERRORS,
)
@router.get("/v2/oauth/chooselocation", include_in_schema=False)
async def authorize(svc: Svc, query: Annotated[AuthorizeQuery, Query()]) -> Response:
    uri, code = await svc.oauth.authorize(
        Authorization(
            client_id=query.client_id,
            redirect_uri=query.redirect_uri,
            scope=query.scope,
            location_id=query.locationId,
            company_id=query.companyId,
            user_id=query.userId,
        )
    )
    return RedirectResponse(redirect_with(uri, code=code, state=query.state or ""), 302)


@router.post(
    "/oauth/token",
    operation_id="get-access-token",
    summary="Get Access Token",
    description="Use Access Tokens to access resources on behalf of an authenticated "
    "location/company. Form fields in snake_case (as documented) or camelCase (as the SDKs "
    "send them).",
    openapi_extra=FORM_BODY,
    responses=ERRORS,
)
async def get_access_token(request: Request, svc: Svc) -> Response:
    async def exchange() -> Response:
        try:
            return json_response(await svc.oauth.token(token_request(await _form(request))))
        except OAuthRequestError as exc:
            return _oauth_error(400, exc.code, exc.description)

    try:
        return await rate_limits.failures_limited(request, exchange)
    except OAuthClientError as exc:
        return _oauth_error(401, exc.code, exc.description)


async def _company(request: Request) -> CompanyPrincipal:
    async def authenticate() -> CompanyPrincipal:
        check_version(request.headers.get("version"))
        svc: Services = request.app.state.services
        return await svc.auth.company(caller_token(request.headers.get("authorization")))

    return await rate_limits.failures_limited(request, authenticate)


@router.post(
    "/oauth/locationToken",
    operation_id="get-location-access-token",
    summary="Get Location Access Token from Agency Token",
    description="This API allows you to generate locationAccessToken from AgencyAccessToken "
    "(a company's token with the `oauth.write` scope).",
    openapi_extra=FORM_BODY,
    responses=ERRORS,
)
@router.post("/oauth/location-token", include_in_schema=False)
async def get_location_access_token(request: Request, svc: Svc) -> Response:
    caller = await _company(request)
    try:
        fields = await _form(request)
    except OAuthRequestError as exc:
        raise InvalidInput(exc.description) from exc
    names = {"company_id": "companyId", "location_id": "locationId"}
    if missing := [f"{names[n]} should not be empty" for n in names if not fields.get(n)]:
        raise InvalidInput(*missing)
    body = await svc.oauth.location_token(caller, fields["company_id"], fields["location_id"])
    return json_response(body)


class InstalledQuery(BaseModel):
    companyId: IdText
    appId: IdText
    skip: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(20, ge=1, le=500)
    query: Annotated[str, Field(max_length=256), AfterValidator(clean)] | None = None
    isInstalled: bool | None = None
    versionId: IdText | None = None
    onTrial: bool | None = None
    planId: IdText | None = None


@router.get(
    "/oauth/installedLocations",
    operation_id="get-installed-location",
    summary="Get Location where app is installed",
    description="This API allows you fetch location where app is installed upon (a "
    "company's token with the `oauth.readonly` scope).",
    responses=ERRORS,
)
@router.get("/oauth/installed-locations", include_in_schema=False)
async def get_installed_location(
    request: Request, svc: Svc, query: Annotated[InstalledQuery, Query()]
) -> Response:
    caller = await _company(request)
    found = InstalledFilter(
        company_id=query.companyId,
        app_id=query.appId,
        skip=query.skip,
        limit=query.limit,
        name_contains=query.query,
        is_installed=query.isInstalled,
    )
    return json_response(await svc.oauth.installed_locations(caller, found))

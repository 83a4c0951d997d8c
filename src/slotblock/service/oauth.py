"""OAuth 2.0 as marketplace apps use it: the authorize step (auto-approved), the token
endpoint (authorization_code and refresh_token grants, rotating refresh tokens), the
location-token exchange and the installed locations of a company's token.

Codes, tokens and client secrets are kept by SHA-256 only; every expiry reads the service's
clock (service/clock.py), so a test moves tokens past their lifetime by moving the clock.
Authenticating an access token on the API routes is service/auth.py's."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.errors import InvalidInput, NotFound, ScopeMissing
from slotblock.core.model import Location
from slotblock.core.oauth import (
    ACCESS,
    AGENCY,
    CODE,
    CODE_SECONDS,
    COMPANY,
    LOCATION,
    OAUTH_READ,
    OAUTH_WRITE,
    REFRESH,
    REFRESH_SECONDS,
    App,
    Authorization,
    CompanyPrincipal,
    Grant,
    InstalledFilter,
    OAuthClientError,
    OAuthRequestError,
    TokenRequest,
    WrongTenant,
    granted_scopes,
    new_secret,
)
from slotblock.core.tokens import hash_token, new_id
from slotblock.service.auth import NO_SCOPE
from slotblock.store import Store, directory
from slotblock.store import oauth as oauth_store

INVALID_CODE = "Invalid grant: authorization code is invalid"
EXPIRED_CODE = "Invalid grant: authorization code has expired"
INVALID_REFRESH = "Invalid grant: refresh token is invalid"
EXPIRED_REFRESH = "Invalid grant: refresh token has expired"
BAD_REDIRECT = "Invalid grant: `redirect_uri` is invalid"
_REFUSALS = {CODE: (INVALID_CODE, EXPIRED_CODE), REFRESH: (INVALID_REFRESH, EXPIRED_REFRESH)}


class OAuthService:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.access_ms = settings.oauth_access_token_seconds * 1000
        self.live = settings.oauth_live_tokens
        self.clock = clock

    # --- the authorize step -------------------------------------------------------------

    async def authorize(self, asked: Authorization) -> tuple[str, str]:
        """Approve at once: install the app for the location (a sub-account app) or the
        company (an agency app) the request names, else the app's own, and answer the
        redirect URI and a fresh code for it."""
        async with self.store.read() as conn:
            found = await oauth_store.find_app(conn, asked.client_id)
        if found is None:
            raise InvalidInput("client_id is invalid: no app has this client id")
        app = found[0]
        uri = asked.redirect_uri or app.redirect_uris[0]
        if uri not in app.redirect_uris:
            raise InvalidInput("redirect_uri is not one of the app's redirect URIs")
        scopes = granted_scopes(app.scopes, asked.scope)
        now = self.clock()
        async with self.store.begin() as conn:
            target, user_type, company = await self._target(conn, app, asked)
            await oauth_store.install(conn, app.id, target, user_type, company, now)
            code = new_secret()
            grant = Grant(
                id=new_id(),
                kind=CODE,
                app_id=app.id,
                target_id=target,
                user_type=user_type,
                company_id=company,
                location_id=target if user_type == LOCATION else None,
                user_id=asked.user_id or app.user_id or new_id(),
                scopes=scopes,
                expires_ms=now + CODE_SECONDS * 1000,
                redirect_uri=uri,
            )
            await self._store(conn, grant, code, now)
        return uri, code

    async def _target(
        self, conn: AsyncConnection, app: App, asked: Authorization
    ) -> tuple[str, str, str]:
        """(installed-for id, user type, company id) of an authorization."""
        location_id, company_id = asked.location_id, asked.company_id
        if app.distribution == AGENCY and not location_id:
            company = company_id or app.company_id
            if not company or not await oauth_store.company_exists(conn, company):
                raise InvalidInput(f"companyId is invalid: no company {company or '(none)'}")
            return company, COMPANY, company
        location = location_id or app.location_id
        if not location or await directory.get_location(conn, location) is None:
            raise InvalidInput(f"locationId is invalid: no location {location or '(none)'}")
        owner = await oauth_store.company_of(conn, location)
        if company_id and owner != company_id:
            raise InvalidInput(f"location {location} is not a location of company {company_id}")
        return location, LOCATION, owner or ""

    # --- the token endpoint -------------------------------------------------------------

    async def token(self, request: TokenRequest) -> dict[str, Any]:
        """Exchange a code or a refresh token (used once: it is deleted) for a new pair."""
        now = self.clock()
        async with self.store.begin() as conn:
            app = await self._client(conn, request)
            return await self._pair(conn, await self._used(conn, app, request, now), now)

    async def _client(self, conn: AsyncConnection, request: TokenRequest) -> App:
        found = await oauth_store.find_app(conn, request.client_id)
        if found is None:
            raise OAuthClientError()
        app, secret_hash = found
        if not hmac.compare_digest(hash_token(request.client_secret), secret_hash):
            raise OAuthClientError()
        return app

    async def _used(
        self, conn: AsyncConnection, app: App, request: TokenRequest, now: int
    ) -> Grant:
        """The code or refresh token of the request, deleted as it is used (once)."""
        kind, secret = (
            (CODE, request.code)
            if request.grant_type == "authorization_code"
            else (REFRESH, request.refresh_token)
        )
        invalid, expired = _REFUSALS[kind]
        grant = await oauth_store.find_grant(conn, hash_token(secret or ""), kind)
        if grant is None or grant.app_id != app.id:
            raise OAuthRequestError("invalid_grant", invalid)
        if not await oauth_store.use_grant(conn, grant.id):
            raise OAuthRequestError("invalid_grant", invalid)
        if grant.expires_ms <= now:
            raise OAuthRequestError("invalid_grant", expired)
        if kind == CODE and request.redirect_uri not in (None, grant.redirect_uri):
            raise OAuthRequestError("invalid_grant", BAD_REDIRECT)
        return grant

    async def _pair(self, conn: AsyncConnection, grant: Grant, now: int) -> dict[str, Any]:
        """A new access and refresh token for the grant's installation, as the platform
        answers them (snake_case tokens, camelCase ids)."""
        access, refresh = new_secret(), new_secret()
        base = replace(grant, redirect_uri=None)
        await self._store(
            conn, replace(base, id=new_id(), kind=ACCESS, expires_ms=now + self.access_ms),
            access, now,
        )  # fmt: skip
        await self._store(
            conn, replace(base, id=new_id(), kind=REFRESH, expires_ms=now + REFRESH_SECONDS * 1000),
            refresh, now,
        )  # fmt: skip
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ms // 1000,
            "refresh_token": refresh,
            "scope": " ".join(grant.scopes),
            "userType": grant.user_type,
            "companyId": grant.company_id,
        }
        if grant.location_id is not None:
            body["locationId"] = grant.location_id
        else:
            body["approvedLocations"] = await self._company_location_ids(conn, grant.company_id)
            body["isBulkInstallation"] = True
        return body | {"userId": grant.user_id}

    async def _company_location_ids(self, conn: AsyncConnection, company_id: str) -> list[str]:
        return [loc.id for loc in await oauth_store.company_locations_of(conn, company_id, None)]

    async def _store(self, conn: AsyncConnection, grant: Grant, secret: str, now: int) -> None:
        await oauth_store.prune(conn, grant.app_id, grant.target_id, grant.kind, now, self.live - 1)
        await oauth_store.insert_grant(conn, grant, hash_token(secret), now)

    # --- the agency routes --------------------------------------------------------------

    async def location_token(
        self, caller: CompanyPrincipal, company_id: str, location_id: str
    ) -> dict[str, Any]:
        """A location's token pair from a company's token, for one of its locations."""
        require_scope_of(caller, OAUTH_WRITE)
        if company_id != caller.company_id:
            raise WrongTenant("The token does not have access to this company.")
        now = self.clock()
        async with self.store.begin() as conn:
            if await oauth_store.company_of(conn, location_id) != company_id:
                raise WrongTenant("The location is not a location of this company.")
            await oauth_store.install(conn, caller.app_id, location_id, LOCATION, company_id, now)
            grant = Grant(
                id=new_id(),
                kind=ACCESS,
                app_id=caller.app_id,
                target_id=location_id,
                user_type=LOCATION,
                company_id=company_id,
                location_id=location_id,
                user_id=caller.user_id,
                scopes=tuple(sorted(caller.scopes)),
                expires_ms=now,
            )
            body = await self._pair(conn, grant, now)
        return body | {"appId": caller.app_id}

    async def installed_locations(
        self, caller: CompanyPrincipal, asked: InstalledFilter
    ) -> dict[str, Any]:
        """The company's locations, each saying whether the app is installed there."""
        require_scope_of(caller, OAUTH_READ)
        if asked.company_id != caller.company_id:
            raise WrongTenant("The token does not have access to this company.")
        if asked.app_id != caller.app_id:
            raise NotFound("app not found")
        async with self.store.read() as conn:
            found = await oauth_store.company_locations_of(
                conn, asked.company_id, asked.name_contains
            )
            installs = await oauth_store.installed_targets(conn, asked.app_id)
        whole_company = asked.company_id in installs
        rows = [_installed(loc, whole_company or loc.id in installs) for loc in found]
        if asked.is_installed is not None:
            rows = [row for row in rows if row["isInstalled"] == asked.is_installed]
        return {
            "locations": rows[asked.skip : asked.skip + asked.limit],
            "count": len(rows),
            "installToFutureLocations": whole_company,
        }


def _installed(location: Location, installed: bool) -> dict[str, Any]:
    return {"_id": location.id, "name": location.name, "address": "", "isInstalled": installed}


def require_scope_of(caller: CompanyPrincipal, scope: str) -> None:
    if scope not in caller.scopes:
        raise ScopeMissing(NO_SCOPE)

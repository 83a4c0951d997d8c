"""The OAuth part of a fixture document: companies owning locations, and marketplace apps
(fixture_document.py's `companies` and `apps`): checked with every problem named by its
JSON path, written in the load's transaction, exported back (client secrets by hash)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.oauth import DISTRIBUTIONS, App, app_id_of, redirect_uri_ok
from slotblock.core.tokens import hash_token, is_id
from slotblock.store import oauth as oauth_store
from slotblock.toolkit.service.fixture_document import AppDoc, CompanyDoc, FixtureDoc
from slotblock.toolkit.store import control as admin_store

_HASH = re.compile(r"[0-9a-f]{64}")
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SCOPE = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass
class OAuthPlan:
    companies: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, path
    owned: list[tuple[str, str, str]] = field(default_factory=list)  # company, location, path
    apps: list[tuple[App, str, str]] = field(default_factory=list)  # app, secret hash, path

    def counts(self) -> dict[str, int]:
        return {"companies": len(self.companies), "apps": len(self.apps)}


def plan(doc: FixtureDoc, problem: Callable[[str, str], None]) -> OAuthPlan:
    """The rows of the document's companies and apps; each problem given to `problem`."""
    out = OAuthPlan()
    companies: set[str] = set()
    owned: set[str] = set()
    for index, company in enumerate(doc.companies):
        _company(company, f"$.companies[{index}]", out, problem, (companies, owned))
    app_ids: set[str] = set()
    for index, app in enumerate(doc.apps):
        _app(app, f"$.apps[{index}]", out, problem, app_ids)
    return out


def _company(
    doc: CompanyDoc,
    path: str,
    out: OAuthPlan,
    problem: Callable[[str, str], None],
    seen: tuple[set[str], set[str]],
) -> None:
    companies, owned = seen
    if not is_id(doc.id):
        problem(f"{path}.id", "must be 1-64 letters and digits")
    elif doc.id in companies:
        problem(f"{path}.id", f"duplicate company {doc.id}")
    companies.add(doc.id)
    out.companies.append((doc.id, doc.name, path))
    for index, location in enumerate(doc.locations):
        where = f"{path}.locations[{index}]"
        if location in owned:
            problem(where, f"location {location} belongs to two companies")
        owned.add(location)
        out.owned.append((doc.id, location, where))


def _app(
    doc: AppDoc, path: str, out: OAuthPlan, problem: Callable[[str, str], None], seen: set[str]
) -> None:
    app_id = app_id_of(doc.clientId)
    if not _CLIENT_ID.fullmatch(doc.clientId) or not is_id(app_id):
        problem(f"{path}.clientId", "must be <appId>-<suffix>: letters, digits, '-', '_', '.'")
    elif app_id in seen:
        problem(f"{path}.clientId", f"duplicate app id {app_id}")
    seen.add(app_id)
    digest = _secret_hash(doc, path, problem)
    for index, uri in enumerate(doc.redirectUris):
        if len(uri) > 2048 or not redirect_uri_ok(uri):
            problem(f"{path}.redirectUris[{index}]", "must be an absolute http(s) URI")
    for index, scope in enumerate(doc.scopes):
        if not _SCOPE.fullmatch(scope):
            problem(f"{path}.scopes[{index}]", "must be 1-128 printable characters, no spaces")
    for name in ("companyId", "locationId", "userId"):
        value = getattr(doc, name)
        if value is not None and not is_id(value):
            problem(f"{path}.{name}", "must be 1-64 letters and digits")
    app = App(
        id=app_id,
        client_id=doc.clientId,
        name=doc.name,
        redirect_uris=tuple(doc.redirectUris),
        scopes=tuple(dict.fromkeys(doc.scopes)),
        distribution=doc.distribution,
        company_id=doc.companyId,
        location_id=doc.locationId,
        user_id=doc.userId,
    )
    assert app.distribution in DISTRIBUTIONS
    if digest is not None:
        out.apps.append((app, digest, path))


def _secret_hash(doc: AppDoc, path: str, problem: Callable[[str, str], None]) -> str | None:
    if (doc.clientSecret is None) == (doc.clientSecretHash is None):
        problem(path, "exactly one of clientSecret or clientSecretHash is required")
    elif doc.clientSecretHash is not None and not _HASH.fullmatch(doc.clientSecretHash):
        problem(f"{path}.clientSecretHash", "must be 64 lowercase hex digits (SHA-256)")
    elif doc.clientSecret is not None:
        return hash_token(doc.clientSecret)
    else:
        return doc.clientSecretHash
    return None


async def taken(conn: AsyncConnection, out: OAuthPlan, new_locations: set[str]) -> list[str]:
    """Problems with what is stored: companies and apps that exist, locations that do not."""
    problems: list[str] = []
    existing = await oauth_store.existing_companies(conn, [c for c, _, _ in out.companies])
    problems += [
        f"{p}.id: company {c} already exists" for c, _, p in out.companies if c in existing
    ]
    referenced = [loc for _, loc, _ in out.owned if loc not in new_locations]
    stored = await admin_store.existing_locations(conn, referenced)
    for _, location, where in out.owned:
        if location not in new_locations and location not in stored:
            problems.append(f"{where}: no location {location}")
        elif location not in new_locations and await oauth_store.company_of(conn, location):
            problems.append(f"{where}: location {location} already belongs to a company")
    ids, client_ids = await oauth_store.taken_apps(
        conn, [a.id for a, _, _ in out.apps], [a.client_id for a, _, _ in out.apps]
    )
    for app, _, path in out.apps:
        if app.id in ids or app.client_id in client_ids:
            problems.append(f"{path}.clientId: app {app.id} already exists")
    return problems


async def write(conn: AsyncConnection, out: OAuthPlan, now: int) -> None:
    for company_id, name, _ in out.companies:
        await oauth_store.insert_company(conn, company_id, name, now)
    for company_id, location_id, _ in out.owned:
        await oauth_store.own_location(conn, company_id, location_id)
    for app, digest, _ in out.apps:
        await oauth_store.insert_app(conn, app, digest, now)


async def export(conn: AsyncConnection) -> dict[str, Any]:
    """The `companies` and `apps` of the stored state (absent when there are none)."""
    found: dict[str, Any] = {}
    companies = await oauth_store.list_companies(conn)
    if companies:
        found["companies"] = [{"id": i, "name": n, "locations": owned} for i, n, owned in companies]
    apps = await oauth_store.list_apps(conn)
    if apps:
        found["apps"] = [_app_doc(app, digest) for app, digest in apps]
    return found


def _app_doc(app: App, digest: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "clientId": app.client_id,
        "clientSecretHash": digest,
        "name": app.name,
        "redirectUris": list(app.redirect_uris),
        "scopes": list(app.scopes),
        "distribution": app.distribution,
    }
    for name, value in (
        ("companyId", app.company_id),
        ("locationId", app.location_id),
        ("userId", app.user_id),
    ):
        if value is not None:
            doc[name] = value
    return doc

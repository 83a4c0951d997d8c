"""Queries of OAuth: companies and their locations, apps, installations and grants (codes,
access and refresh tokens, stored by hash only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Location
from slotblock.core.oauth import App, Grant
from slotblock.store.tables import (
    companies,
    company_locations,
    locations,
    oauth_apps,
    oauth_grants,
    oauth_installs,
)


async def insert_company(conn: AsyncConnection, company_id: str, name: str, now: int) -> None:
    await conn.execute(companies.insert().values(id=company_id, name=name, created_ms=now))


async def own_location(conn: AsyncConnection, company_id: str, location_id: str) -> None:
    await conn.execute(
        company_locations.insert().values(location_id=location_id, company_id=company_id)
    )


async def company_of(conn: AsyncConnection, location_id: str) -> str | None:
    query = sa.select(company_locations.c.company_id).where(
        company_locations.c.location_id == location_id
    )
    found: str | None = (await conn.execute(query)).scalar_one_or_none()
    return found


async def company_exists(conn: AsyncConnection, company_id: str) -> bool:
    query = sa.select(companies.c.id).where(companies.c.id == company_id)
    return (await conn.execute(query)).scalar_one_or_none() is not None


async def existing_companies(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await conn.execute(sa.select(companies.c.id).where(companies.c.id.in_(ids)))
    return set(rows.scalars())


async def list_companies(conn: AsyncConnection) -> list[tuple[str, str, list[str]]]:
    """(id, name, owned location ids) of every company, by id."""
    owned: dict[str, list[str]] = {}
    for row in await conn.execute(
        sa.select(company_locations).order_by(company_locations.c.location_id)
    ):
        owned.setdefault(row.company_id, []).append(row.location_id)
    rows = await conn.execute(sa.select(companies).order_by(companies.c.id))
    return [(row.id, row.name, owned.get(row.id, [])) for row in rows]


async def company_locations_of(
    conn: AsyncConnection, company_id: str, name_contains: str | None
) -> list[Location]:
    query = (
        sa.select(locations)
        .join(company_locations, company_locations.c.location_id == locations.c.id)
        .where(company_locations.c.company_id == company_id)
        .order_by(locations.c.id)
    )
    if name_contains:
        query = query.where(locations.c.name.contains(name_contains, autoescape=True))
    return [Location(row.id, row.name, row.timezone) for row in await conn.execute(query)]


# --- apps -------------------------------------------------------------------------------


def _app(row: Any) -> App:
    return App(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris),
        scopes=tuple(row.scopes.split()),
        distribution=row.distribution,
        company_id=row.company_id,
        location_id=row.location_id,
        user_id=row.user_id,
    )


async def insert_app(conn: AsyncConnection, app: App, secret_hash: str, now: int) -> None:
    await conn.execute(
        oauth_apps.insert().values(
            id=app.id,
            client_id=app.client_id,
            secret_hash=secret_hash,
            name=app.name,
            redirect_uris=list(app.redirect_uris),
            scopes=" ".join(app.scopes),
            distribution=app.distribution,
            company_id=app.company_id,
            location_id=app.location_id,
            user_id=app.user_id,
            created_ms=now,
        )
    )


async def find_app(conn: AsyncConnection, client_id: str) -> tuple[App, str] | None:
    """The app of a client id, and its secret's hash."""
    query = sa.select(oauth_apps).where(oauth_apps.c.client_id == client_id)
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else (_app(row), row.secret_hash)


async def list_apps(conn: AsyncConnection) -> list[tuple[App, str]]:
    rows = await conn.execute(sa.select(oauth_apps).order_by(oauth_apps.c.id))
    return [(_app(row), row.secret_hash) for row in rows]


async def taken_apps(
    conn: AsyncConnection, ids: Sequence[str], client_ids: Sequence[str]
) -> tuple[set[str], set[str]]:
    query = sa.select(oauth_apps.c.id, oauth_apps.c.client_id).where(
        sa.or_(oauth_apps.c.id.in_(ids), oauth_apps.c.client_id.in_(client_ids))
    )
    rows = (await conn.execute(query)).all()
    return {row.id for row in rows}, {row.client_id for row in rows}


# --- installations ----------------------------------------------------------------------


async def install(
    conn: AsyncConnection, app_id: str, target_id: str, user_type: str, company_id: str, now: int
) -> None:
    """Record the installation (kept as it was when it exists)."""
    exists = await conn.execute(
        sa.select(oauth_installs.c.app_id).where(
            oauth_installs.c.app_id == app_id, oauth_installs.c.target_id == target_id
        )
    )
    if exists.scalar_one_or_none() is None:
        await conn.execute(
            oauth_installs.insert().values(
                app_id=app_id,
                target_id=target_id,
                user_type=user_type,
                company_id=company_id,
                installed_ms=now,
            )
        )


async def installed_targets(conn: AsyncConnection, app_id: str) -> dict[str, int]:
    """Target (location or company) id → installation time, of one app."""
    query = sa.select(oauth_installs.c.target_id, oauth_installs.c.installed_ms).where(
        oauth_installs.c.app_id == app_id
    )
    return {row.target_id: row.installed_ms for row in await conn.execute(query)}


# --- grants -----------------------------------------------------------------------------


def _grant(row: Any) -> Grant:
    return Grant(
        id=row.id,
        kind=row.kind,
        app_id=row.app_id,
        target_id=row.target_id,
        user_type=row.user_type,
        company_id=row.company_id,
        location_id=row.location_id,
        user_id=row.user_id,
        scopes=tuple(row.scopes.split()),
        expires_ms=row.expires_ms,
        redirect_uri=row.redirect_uri,
    )


async def insert_grant(conn: AsyncConnection, grant: Grant, token_hash: str, now: int) -> None:
    await conn.execute(
        oauth_grants.insert().values(
            id=grant.id,
            kind=grant.kind,
            token_hash=token_hash,
            app_id=grant.app_id,
            target_id=grant.target_id,
            user_type=grant.user_type,
            company_id=grant.company_id,
            location_id=grant.location_id,
            user_id=grant.user_id,
            scopes=" ".join(grant.scopes),
            redirect_uri=grant.redirect_uri,
            expires_ms=grant.expires_ms,
            created_ms=now,
        )
    )


async def find_grant(conn: AsyncConnection, token_hash: str, kind: str) -> Grant | None:
    query = sa.select(oauth_grants).where(
        oauth_grants.c.token_hash == token_hash, oauth_grants.c.kind == kind
    )
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else _grant(row)


async def find_access(
    conn: AsyncConnection, token_hash: str
) -> tuple[Grant, Location | None] | None:
    """An access token's grant and, for a location's, its location, in one indexed query."""
    query = (
        sa.select(
            oauth_grants,
            locations.c.name.label("location_name"),
            locations.c.timezone,
        )
        .outerjoin(locations, locations.c.id == oauth_grants.c.location_id)
        .where(oauth_grants.c.token_hash == token_hash, oauth_grants.c.kind == "access")
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    grant = _grant(row)
    if grant.location_id is None or row.timezone is None:
        return grant, None
    return grant, Location(grant.location_id, row.location_name, row.timezone)


async def use_grant(conn: AsyncConnection, grant_id: str) -> bool:
    """Delete a code or refresh token as it is used; False when another use came first."""
    result = await conn.execute(oauth_grants.delete().where(oauth_grants.c.id == grant_id))
    return result.rowcount == 1


async def prune(
    conn: AsyncConnection, app_id: str, target_id: str, kind: str, now: int, keep: int
) -> None:
    """Delete the installation's expired grants of `kind`, and all but the newest `keep`
    of those left (room for one more is made by the caller asking for keep - 1)."""
    where = (
        oauth_grants.c.app_id == app_id,
        oauth_grants.c.target_id == target_id,
        oauth_grants.c.kind == kind,
    )
    await conn.execute(oauth_grants.delete().where(*where, oauth_grants.c.expires_ms <= now))
    newest = (
        sa.select(oauth_grants.c.id)
        .where(*where)
        .order_by(oauth_grants.c.created_ms.desc(), oauth_grants.c.id.desc())
        .limit(max(keep, 0))
    )
    kept = set((await conn.execute(newest)).scalars())
    older = sa.select(oauth_grants.c.id).where(*where)
    stale = [i for i in (await conn.execute(older)).scalars() if i not in kept]
    if stale:
        await conn.execute(oauth_grants.delete().where(oauth_grants.c.id.in_(stale)))


async def delete_location(conn: AsyncConnection, location_id: str) -> None:
    """What OAuth holds of one location (before the location itself is deleted)."""
    await conn.execute(
        oauth_grants.delete().where(
            sa.or_(
                oauth_grants.c.location_id == location_id,
                oauth_grants.c.target_id == location_id,
            )
        )
    )
    await conn.execute(oauth_installs.delete().where(oauth_installs.c.target_id == location_id))
    await conn.execute(
        company_locations.delete().where(company_locations.c.location_id == location_id)
    )

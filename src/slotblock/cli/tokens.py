"""`slotblock token`: create, list and revoke a location's private-integration tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from slotblock.cli.common import DatabaseUrl, LocationOpt, run
from slotblock.core.model import TokenInfo
from slotblock.service.container import Services

app = typer.Typer(help="Private-integration tokens.", no_args_is_help=True)


@app.command("create")
def create(
    location: LocationOpt,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Repeatable; default: all.")
    ] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    expires_in: Annotated[
        int | None,
        typer.Option(
            "--expires-in", help="Seconds until it is refused (60..31622400); default: never."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; print it (it is shown only this once)."""

    async def work(s: Services) -> str:
        token, info = await s.tenants.create_token(location, scope or (), name, expires_in)
        print(f"token id: {info.id}", file=sys.stderr)
        return token

    typer.echo(run(database_url, work))


@app.command("list")
def list_(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's tokens (id, state, name, scopes), one per line; the state is active,
    revoked, or expired (by the service's clock; an expired token is deleted by the
    workers' housekeeping)."""

    async def work(s: Services) -> tuple[list[TokenInfo], int]:
        return await s.tenants.list_tokens(location), s.tenants.clock()

    found, now = run(database_url, work)
    for info in found:
        state = "revoked" if info.revoked_ms else "active"
        if state == "active" and info.expires_ms is not None and info.expires_ms <= now:
            state = "expired"
        typer.echo(f"{info.id}\t{state}\t{info.name}\t{' '.join(info.scopes)}")


@app.command("revoke")
def revoke(token_id: str, database_url: DatabaseUrl = None) -> None:
    """Revoke a token by its id."""
    run(database_url, lambda s: s.tenants.revoke_token(token_id))
    typer.echo(f"revoked {token_id}", err=True)

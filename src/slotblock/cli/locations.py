"""`slotblock location`: create, list and delete locations (sub-accounts)."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock.cli.common import DatabaseUrl, IdOpt, NameOpt, run
from slotblock.service.container import Services

app = typer.Typer(help="Locations (sub-accounts).", no_args_is_help=True)


@app.command("create")
def create(
    name: NameOpt,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Asia/Kolkata.")],
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a location; print its id."""

    async def work(s: Services) -> str:
        return (await s.tenants.create_location(name, timezone, id)).id

    typer.echo(run(database_url, work))


@app.command("list")
def list_(database_url: DatabaseUrl = None) -> None:
    """List the locations (id, timezone, name), one per line."""
    for location in run(database_url, lambda s: s.tenants.locations()):
        typer.echo(f"{location.id}\t{location.timezone}\t{location.name}")


@app.command("delete")
def delete(location_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete an empty location (and its tokens)."""
    run(database_url, lambda s: s.tenants.delete_location(location_id))
    typer.echo(f"deleted {location_id}", err=True)

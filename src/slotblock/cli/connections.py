"""`slotblock connection`: a user's own calendar whose busy time becomes the user's blocks."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock.cli.common import AnyLocationOpt, DatabaseUrl, LocationOpt, run
from slotblock.core.model import Connection
from slotblock.service.connections import ConnectionInput
from slotblock.service.container import Services

app = typer.Typer(help="Connected calendars (iCalendar or CalDAV).", no_args_is_help=True)


@app.command("add")
def add(  # noqa: PLR0913 - a Typer command: each option is a parameter
    location: LocationOpt,
    user: Annotated[str, typer.Option("--user", help="The user whose calendar it is.")],
    url: Annotated[str, typer.Option("--url", help="iCalendar address or CalDAV collection.")],
    kind: Annotated[str | None, typer.Option("--type", help="ical or caldav.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="createdBy.source (default from the URL).")
    ] = None,
    busy_only: Annotated[
        bool, typer.Option("--busy-only", help='Titles "Busy", no details.')
    ] = False,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", envvar="SLOTBLOCK_CONNECTION_PASSWORD", help="Or its env."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Connect a user's calendar; print the connection id (synced by `serve`, or `sync`)."""
    body = ConnectionInput(
        location_id=location,
        user_id=user,
        url=url,
        kind=kind,
        source=source,
        busy_only=busy_only,
        username=username,
        password=password,
    )

    async def work(s: Services) -> str:
        return (await s.connections.create_in(body)).id

    typer.echo(run(database_url, work))


def _line(c: Connection) -> str:
    state = "error: " + c.last_error if c.last_error else f"{c.event_count} events"
    return f"{c.id}\t{c.location_id}\t{c.user_id}\t{c.source}\t{c.url}\t{state}"


@app.command("list")
def list_(location: AnyLocationOpt = None, database_url: DatabaseUrl = None) -> None:
    """List connections (id, location, user, source, url, state), one per line."""
    for connection in run(database_url, lambda s: s.connections.list_all(location)):
        typer.echo(_line(connection))


@app.command("remove")
def remove(connection_id: str, database_url: DatabaseUrl = None) -> None:
    """Disconnect a calendar; its synced blocks are deleted."""

    async def work(s: Services) -> None:
        found = await s.connections.find(connection_id)
        await s.connections.delete_in(found.location_id, found.id)

    run(database_url, work)
    typer.echo(f"removed {connection_id}", err=True)


@app.command("sync")
def sync(connection_id: str, database_url: DatabaseUrl = None) -> None:
    """Sync a connection now; print its state line (status 1 when the sync failed)."""

    async def work(s: Services) -> Connection:
        found = await s.connections.find(connection_id)
        try:
            return await s.connections.sync_in(found.location_id, found.id)
        finally:
            await s.connections.syncer.aclose()

    connection = run(database_url, work)
    typer.echo(_line(connection))
    if connection.last_error:
        raise typer.Exit(1)

"""`slotblock group`: create, list and delete the calendar groups of a location."""

from __future__ import annotations

import typer

from slotblock.cli.common import DatabaseUrl, IdOpt, LocationOpt, NameOpt, run
from slotblock.service.calendars import GroupInput
from slotblock.service.container import Services

app = typer.Typer(help="Calendar groups.", no_args_is_help=True)


@app.command("create")
def create(
    location: LocationOpt,
    name: NameOpt,
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a calendar group; print its id."""

    async def work(s: Services) -> str:
        return (await s.calendars.add_group(location, GroupInput(name=name, id=id))).id

    typer.echo(run(database_url, work))


@app.command("list")
def list_(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's calendar groups (id, name), one per line."""

    async def work(s: Services) -> list[tuple[str, str]]:
        who = await s.tenants.principal(location)
        return [(g.id, g.name) for g in await s.calendars.list_groups(who, location)]

    for group_id, name in run(database_url, work):
        typer.echo(f"{group_id}\t{name}")


@app.command("delete")
def delete(location: LocationOpt, group_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete a group that has no calendars."""

    async def work(s: Services) -> None:
        await s.calendars.delete_group(await s.tenants.principal(location), group_id)

    run(database_url, work)
    typer.echo(f"deleted {group_id}", err=True)

"""`slotblock calendar`: create, list and delete the calendars of a location."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock.cli.common import DatabaseUrl, IdOpt, LocationOpt, NameOpt, run
from slotblock.service.calendars import CalendarInput
from slotblock.service.container import Services

app = typer.Typer(help="Calendars.", no_args_is_help=True)


@app.command("create")
def create(
    location: LocationOpt,
    name: NameOpt,
    group: Annotated[str | None, typer.Option("--group", help="Group id.")] = None,
    team_member: Annotated[
        list[str] | None, typer.Option("--team-member", help="User id; repeatable.")
    ] = None,
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a calendar; print its id."""
    members = tuple({"userId": user} for user in team_member or ())

    async def work(s: Services) -> str:
        body = CalendarInput(name=name, group_id=group, team_members=members, id=id)
        return (await s.calendars.add_calendar(location, body)).id

    typer.echo(run(database_url, work))


@app.command("list")
def list_(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's calendars (id, group id or -, name), one per line."""

    async def work(s: Services) -> list[tuple[str, str, str]]:
        who = await s.tenants.principal(location)
        found = await s.calendars.list_calendars(who, location, None)
        return [(c.id, c.group_id or "-", c.name) for c in found]

    for calendar_id, group_id, name in run(database_url, work):
        typer.echo(f"{calendar_id}\t{group_id}\t{name}")


@app.command("delete")
def delete(location: LocationOpt, calendar_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete a calendar that has no blocked slots."""

    async def work(s: Services) -> None:
        await s.calendars.delete_calendar(await s.tenants.principal(location), calendar_id)

    run(database_url, work)
    typer.echo(f"deleted {calendar_id}", err=True)

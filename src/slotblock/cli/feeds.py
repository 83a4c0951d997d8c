"""`slotblock feed`: iCalendar subscription feeds of a calendar, user or group."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from slotblock.cli.common import AnyLocationOpt, DatabaseUrl, fail, run
from slotblock.core.model import TargetKind
from slotblock.service.container import Services
from slotblock.service.feeds import FeedInput

app = typer.Typer(help="iCalendar subscription feeds.", no_args_is_help=True)


@app.command("create")
def create(  # noqa: PLR0913 - a command's options are its parameters
    calendar: Annotated[str | None, typer.Option("--calendar", help="Publish a calendar.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Publish a user's blocks.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Publish a group's.")] = None,
    location: Annotated[
        str | None,
        typer.Option("--location", help="Location id (default: the one holding the target)."),
    ] = None,
    busy_only: Annotated[
        bool, typer.Option("--busy-only", help='Every event says "Busy" and nothing else.')
    ] = False,
    include_connected: Annotated[
        bool,
        typer.Option("--include-connected", help="Include blocks synced from connected calendars."),
    ] = False,
    name: Annotated[str, typer.Option("--name", help="The calendar's name in the app.")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a feed; print its token (shown only this once): the feed is
    GET /calendars/ical/<token>.ics."""
    given: tuple[tuple[TargetKind, str | None], ...] = (
        ("calendar", calendar),
        ("user", user),
        ("group", group),
    )
    named = [(kind, value) for kind, value in given if value is not None]
    if len(named) != 1:
        raise fail("give exactly one of --calendar, --user or --group")
    kind, target_id = named[0]

    async def work(s: Services) -> str:
        where = location or await s.feeds.location_of(kind, target_id)
        token, feed = await s.feeds.create(
            FeedInput(where, kind, target_id, busy_only, include_connected, name)
        )
        print(f"feed id: {feed.id}", file=sys.stderr)
        return token

    typer.echo(run(database_url, work))


@app.command("list")
def list_(location: AnyLocationOpt = None, database_url: DatabaseUrl = None) -> None:
    """List feeds (id, location, state, target kind, target id, options, name), one per line."""
    for feed in run(database_url, lambda s: s.feeds.list_all(location)):
        state = "revoked" if feed.revoked_ms else "active"
        options = ",".join(
            name
            for name, on in (("busy-only", feed.busy_only), ("connected", feed.include_connected))
            if on
        )
        typer.echo(
            f"{feed.id}\t{feed.location_id}\t{state}\t{feed.target_kind}\t{feed.target_id}"
            f"\t{options or '-'}\t{feed.name}"
        )


@app.command("revoke")
def revoke(feed_id: str, database_url: DatabaseUrl = None) -> None:
    """Revoke a feed by its id: its address answers 404 from now on."""
    run(database_url, lambda s: s.feeds.revoke(feed_id))
    typer.echo(f"revoked {feed_id}", err=True)

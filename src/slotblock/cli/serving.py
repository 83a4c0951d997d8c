"""`migrate`, `demo` and `serve`: the database's schema, the demo data, the server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from slotblock.cli.common import DatabaseUrl, fail, nothing, run, settings_for
from slotblock.cli.state import fixtures_of, fresh
from slotblock.core.errors import SlotblockError
from slotblock.service import demo as demo_data
from slotblock.service.container import Services, wall_clock_ms


def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema, and say which."""
    run(database_url, nothing, _say_migrated)


def _say_migrated(before: str | None, after: str | None) -> None:
    if before is None:
        done = f"created the schema (revision {after}); "
    elif before != after:
        done = f"upgraded the schema from revision {before} to {after}; "
    else:
        done = ""
    typer.echo(f"{done}database is up to date (revision {after})", err=True)


def demo(database_url: DatabaseUrl = None) -> None:
    """Create the demo data (idempotent) and print a new demo token."""
    token = run(database_url, _demo_token)
    typer.echo(token)


async def _demo_token(svc: Services) -> str:
    created = await demo_data.ensure_demo(svc.tenants, svc.calendars, svc.blocks)
    print("demo data created" if created else "demo data already present", file=sys.stderr)
    token, _ = await svc.tenants.create_token(demo_data.LOCATION_ID, name="demo")
    return token


def _kept_token_file(svc: Services) -> Path | None:
    """Where `serve --demo` keeps its demo token: beside an SQLite database file."""
    database = svc.store.url.database
    if not svc.store.is_sqlite or not database or database == ":memory:":
        return None
    return Path(f"{database}.demo-token")


async def _kept_demo_token(svc: Services) -> str:
    """The demo token an earlier `serve --demo` kept, while it still works; else a new one,
    kept for the next start (so that `make run` does not mint a token at every start)."""
    kept = _kept_token_file(svc)
    if kept is not None and kept.exists():
        await demo_data.ensure_demo(svc.tenants, svc.calendars, svc.blocks)
        token = kept.read_text().strip()
        try:
            if (await svc.auth.authenticate(token)).location.id == demo_data.LOCATION_ID:
                print(f"demo data present; the demo token kept in {kept}", file=sys.stderr)
                return token
        except SlotblockError:
            pass
    token = await _demo_token(svc)
    if kept is not None:
        kept.touch(mode=0o600)
        kept.write_text(f"{token}\n")
    return token


def serve(
    host: Annotated[
        str, typer.Option(envvar="HOST", help="Interface to listen on (else $HOST).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port (else $PORT).")] = 8000,
    database_url: DatabaseUrl = None,
    with_demo: Annotated[
        bool, typer.Option("--demo", help="Create demo data, print a token and a curl.")
    ] = False,
    fixture: Annotated[
        Path | None,
        typer.Option(
            "--fixture",
            help="Empty the database, then load this fixture document, first.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Worker processes on the port (about one per core)."),
    ] = 1,
) -> None:
    """Migrate the database, then serve the API."""
    # Imported here so that the other commands start without loading the web stack.
    from slotblock import server  # noqa: PLC0415

    settings = settings_for(database_url)
    try:
        server.check_port(host, port)
    except server.PortInUse as exc:
        raise fail(str(exc)) from None
    if fixture is not None:
        text = fixture.read_bytes()
        run(database_url, lambda s: fresh(fixtures_of(s, database_url), text))
    token = run(database_url, _kept_demo_token if with_demo else nothing)
    if token:
        _print_demo(host, port, token, web_ui=settings.web_ui)
    server.serve(settings, host, port, workers)


def _print_demo(host: str, port: int, token: str, *, web_ui: bool) -> None:
    base = f"http://{host}:{port}"
    start, end = demo_data.SEED_WINDOW
    location, calendar, user = demo_data.LOCATION_ID, demo_data.CALENDAR_ID, demo_data.USER_ID
    typer.echo(
        f"\nslotblock is serving on {base} (docs: {base}/docs)\n"
        f"demo token: {token}\n\n"
        f"curl -s '{base}/calendars/blocked-slots?locationId={location}"
        f"&calendarId={calendar}&startTime={start}&endTime={end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n",
        err=True,
    )
    if web_ui:
        typer.echo(
            f"the demo week in a browser (sign in with the demo token): "
            f"{base}/ui/#location={location}\n",
            err=True,
        )
    week_start, week_end = demo_data.coming_week(wall_clock_ms())
    typer.echo(
        "this week's blocked slots of the demo calendar and its user, then its free slots:\n\n"
        f"curl -s '{base}/calendars/free-busy?locationId={location}"
        f"&calendarId={calendar}&userId={user}"
        f"&startTime={week_start}&endTime={week_end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n"
        f"curl -s '{base}/calendars/{calendar}/free-slots"
        f"?startDate={week_start}&endDate={week_end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n",
        err=True,
    )

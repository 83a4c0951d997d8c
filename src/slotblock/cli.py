"""The `slotblock` command. Each `create` prints only the new id (`token create` only the
token) on stdout; everything else goes to stderr. Bad input: one line, exit status 1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from slotblock import __version__
from slotblock.config import Settings
from slotblock.config_errors import check_consistency, describe, unknown_variables
from slotblock.core.errors import InvalidInput, SlotblockError
from slotblock.service import demo
from slotblock.service.calendars import CalendarInput, GroupInput
from slotblock.service.container import Services, build_services, wall_clock_ms
from slotblock.service.webhooks import new_key_pair
from slotblock.store import Timeouts, open_store
from slotblock.store.migrate import upgrade
from slotblock.toolkit.service.admin_auth import create_admin_token
from slotblock.toolkit.service.fixtures import FixtureService

T = TypeVar("T")

app = typer.Typer(
    help="slotblock: the Calendars blocked-slots API, self-hosted.", no_args_is_help=True
)
location_app = typer.Typer(help="Locations (sub-accounts).", no_args_is_help=True)
user_app = typer.Typer(help="Users of a location.", no_args_is_help=True)
group_app = typer.Typer(help="Calendar groups.", no_args_is_help=True)
calendar_app = typer.Typer(help="Calendars.", no_args_is_help=True)
token_app = typer.Typer(help="Private-integration tokens.", no_args_is_help=True)
for sub, name in (
    (location_app, "location"),
    (user_app, "user"),
    (group_app, "group"),
    (calendar_app, "calendar"),
    (token_app, "token"),
):
    app.add_typer(sub, name=name)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"slotblock {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """slotblock: the Calendars blocked-slots API, self-hosted."""


DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Default: SLOTBLOCK_DATABASE_URL, else data/slotblock.db."),
]
LocationOpt = Annotated[str, typer.Option("--location", help="Location id.")]
IdOpt = Annotated[str | None, typer.Option("--id", help="Choose the id (default: random).")]


def _settings(database_url: str | None) -> Settings:
    try:
        settings = Settings()
        check_consistency(settings.metrics, settings.metrics_token)
    except ValidationError as exc:
        raise _fail(describe(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for name in unknown_variables(os.environ, Settings):
        typer.echo(f"warning: {name} is not a slotblock setting (ignored)", err=True)
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _run(database_url: str | None, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` against a migrated store, turning every expected failure into one line."""
    settings = _settings(database_url)

    async def main() -> T:
        # No statement timeout: migrations and bulk loads may take long; connecting may not.
        timeouts = Timeouts(
            connect=settings.database_connect_timeout_seconds,
            pool=settings.database_pool_timeout_seconds,
        )
        store = open_store(settings.database_url, pool_size=2, timeouts=timeouts)
        try:
            await upgrade(store)
            return await work(build_services(store, settings))
        finally:
            await store.dispose()

    try:
        return asyncio.run(main())
    except SlotblockError as exc:
        raise _fail(exc.message) from None
    except (ValueError, OSError) as exc:
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except Exception as exc:  # noqa: BLE001 - e.g. the database refused the connection
        raise _fail(
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    _run(database_url, _noop)
    typer.echo("database is up to date", err=True)


async def _noop(_: Services) -> None:
    return None


@app.command("demo")
def demo_command(database_url: DatabaseUrl = None) -> None:
    """Create the demo data (idempotent) and print a new demo token."""
    token = _run(database_url, _demo_token)
    typer.echo(token)


async def _demo_token(svc: Services) -> str:
    created = await demo.ensure_demo(svc.tenants, svc.calendars, svc.blocks)
    print("demo data created" if created else "demo data already present", file=sys.stderr)
    token, _ = await svc.tenants.create_token(demo.LOCATION_ID, name="demo")
    return token


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
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

    settings = _settings(database_url)
    try:
        server.check_port(host, port)
    except server.PortInUse as exc:
        raise _fail(str(exc)) from None
    if fixture is not None:
        text = fixture.read_bytes()
        _run(database_url, lambda s: _fresh(_fixtures(s, database_url), text))
    token = _run(database_url, _demo_token if with_demo else _noop)
    if token:
        _print_demo(host, port, token)
    server.serve(settings, host, port, workers)


async def _fresh(fixtures: FixtureService, text: bytes) -> None:
    await fixtures.reset()
    loaded = await _load(fixtures, text)
    print(f"loaded {json.dumps(loaded)}", file=sys.stderr)


def _print_demo(host: str, port: int, token: str) -> None:
    base = f"http://{host}:{port}"
    start, end = demo.SEED_WINDOW
    typer.echo(
        f"\nslotblock is serving on {base} (docs: {base}/docs)\n"
        f"demo token: {token}\n\n"
        f"curl -s '{base}/calendars/blocked-slots?locationId={demo.LOCATION_ID}"
        f"&calendarId={demo.CALENDAR_ID}&startTime={start}&endTime={end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n",
        err=True,
    )
    week_start, week_end = demo.coming_week(wall_clock_ms())
    typer.echo(
        "this week's blocked slots of the demo calendar and its user, then its free slots:\n\n"
        f"curl -s '{base}/calendars/free-busy?locationId={demo.LOCATION_ID}"
        f"&calendarId={demo.CALENDAR_ID}&userId={demo.USER_ID}"
        f"&startTime={week_start}&endTime={week_end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n"
        f"curl -s '{base}/calendars/{demo.CALENDAR_ID}/free-slots"
        f"?startDate={week_start}&endDate={week_end}' \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'\n",
        err=True,
    )


@location_app.command("create")
def location_create(
    name: Annotated[str, typer.Option("--name")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Asia/Kolkata.")],
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a location; print its id."""

    async def work(s: Services) -> str:
        return (await s.tenants.create_location(name, timezone, id)).id

    typer.echo(_run(database_url, work))


@user_app.command("create")
def user_create(
    location: LocationOpt,
    name: Annotated[str, typer.Option("--name")],
    email: Annotated[str, typer.Option("--email")] = "",
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user; print its id."""
    typer.echo(_run(database_url, lambda s: s.tenants.create_user(location, name, email, id)))


@group_app.command("create")
def group_create(
    location: LocationOpt,
    name: Annotated[str, typer.Option("--name")],
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a calendar group; print its id."""

    async def work(s: Services) -> str:
        return (await s.calendars.add_group(location, GroupInput(name=name, id=id))).id

    typer.echo(_run(database_url, work))


@calendar_app.command("create")
def calendar_create(
    location: LocationOpt,
    name: Annotated[str, typer.Option("--name")],
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

    typer.echo(_run(database_url, work))


@token_app.command("create")
def token_create(
    location: LocationOpt,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Repeatable; default: all.")
    ] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; print it (it is shown only this once)."""

    async def work(s: Services) -> str:
        token, info = await s.tenants.create_token(location, scope or (), name)
        print(f"token id: {info.id}", file=sys.stderr)
        return token

    typer.echo(_run(database_url, work))


@token_app.command("list")
def token_list(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's tokens (id, state, name, scopes), one per line."""
    for info in _run(database_url, lambda s: s.tenants.list_tokens(location)):
        state = "revoked" if info.revoked_ms else "active"
        typer.echo(f"{info.id}\t{state}\t{info.name}\t{' '.join(info.scopes)}")


@token_app.command("revoke")
def token_revoke(token_id: str, database_url: DatabaseUrl = None) -> None:
    """Revoke a token by its id."""
    _run(database_url, lambda s: s.tenants.revoke_token(token_id))
    typer.echo(f"revoked {token_id}", err=True)


def main() -> None:
    app()


# --- the admin twins: state for test suites and scripts -----------------------------------

FixtureFile = Annotated[
    Path, typer.Argument(help="A fixture document, JSON or YAML.", exists=True, dir_okay=False)
]


def _fixtures(svc: Services, database_url: str | None) -> FixtureService:
    return FixtureService(svc.store, _settings(database_url).max_count, wall_clock_ms)


async def _load(fixtures: FixtureService, text: bytes) -> dict[str, Any]:
    """Load a document; its problems, one per line on stderr (then exit status 1)."""
    try:
        return await fixtures.load_text(text)
    except InvalidInput as exc:
        for problem in exc.messages:
            typer.echo(problem, err=True)
        count = len(exc.messages)
        raise InvalidInput(f"{count} problem(s) in the fixture; nothing was loaded") from exc


@app.command()
def reset(
    location: Annotated[
        str | None, typer.Option("--location", help="Only this location (default: all).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Empty the database (admin tokens kept), or one location."""
    _run(database_url, lambda s: _fixtures(s, database_url).reset(location))
    typer.echo(f"reset {location or 'everything'}", err=True)


@app.command("load")
def load_command(file: FixtureFile, database_url: DatabaseUrl = None) -> None:
    """Load a fixture document, all or nothing; its problems are listed on stderr."""
    text = file.read_bytes()
    loaded = _run(database_url, lambda s: _load(_fixtures(s, database_url), text))
    typer.echo(f"loaded {json.dumps(loaded)}", err=True)


@app.command("export")
def export_command(
    location: Annotated[
        str | None, typer.Option("--location", help="Only this location (default: all).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the stored state as a fixture document (JSON)."""
    document = _run(database_url, lambda s: _fixtures(s, database_url).export(location))
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command("admin-token")
def admin_token_command(database_url: DatabaseUrl = None) -> None:
    """Create an admin token (turns the admin API on) and print it, this once."""
    typer.echo(_run(database_url, lambda s: create_admin_token(s.store, wall_clock_ms())))


# --- listing and deleting what the commands above create ---------------------------------


@location_app.command("list")
def location_list(database_url: DatabaseUrl = None) -> None:
    """List the locations (id, timezone, name), one per line."""
    for location in _run(database_url, lambda s: s.tenants.locations()):
        typer.echo(f"{location.id}\t{location.timezone}\t{location.name}")


@location_app.command("delete")
def location_delete(location_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete an empty location (and its tokens)."""
    _run(database_url, lambda s: s.tenants.delete_location(location_id))
    typer.echo(f"deleted {location_id}", err=True)


@user_app.command("list")
def user_list(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's users (id, email, name), one per line."""
    for user_id, name, email in _run(database_url, lambda s: s.tenants.users(location)):
        typer.echo(f"{user_id}\t{email}\t{name}")


@user_app.command("delete")
def user_delete(location: LocationOpt, user_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete a user no calendar or block refers to."""
    _run(database_url, lambda s: s.tenants.delete_user(location, user_id))
    typer.echo(f"deleted {user_id}", err=True)


@group_app.command("list")
def group_list(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's calendar groups (id, name), one per line."""

    async def work(s: Services) -> list[tuple[str, str]]:
        who = await s.tenants.principal(location)
        return [(g.id, g.name) for g in await s.calendars.list_groups(who, location)]

    for group_id, name in _run(database_url, work):
        typer.echo(f"{group_id}\t{name}")


@group_app.command("delete")
def group_delete(location: LocationOpt, group_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete a group that has no calendars."""

    async def work(s: Services) -> None:
        await s.calendars.delete_group(await s.tenants.principal(location), group_id)

    _run(database_url, work)
    typer.echo(f"deleted {group_id}", err=True)


@calendar_app.command("list")
def calendar_list(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's calendars (id, group id or -, name), one per line."""

    async def work(s: Services) -> list[tuple[str, str, str]]:
        who = await s.tenants.principal(location)
        found = await s.calendars.list_calendars(who, location, None)
        return [(c.id, c.group_id or "-", c.name) for c in found]

    for calendar_id, group_id, name in _run(database_url, work):
        typer.echo(f"{calendar_id}\t{group_id}\t{name}")


@calendar_app.command("delete")
def calendar_delete(
    location: LocationOpt, calendar_id: str, database_url: DatabaseUrl = None
) -> None:
    """Delete a calendar that has no blocked slots."""

    async def work(s: Services) -> None:
        await s.calendars.delete_calendar(await s.tenants.principal(location), calendar_id)

    _run(database_url, work)
    typer.echo(f"deleted {calendar_id}", err=True)


# --- webhooks ----------------------------------------------------------------------------

webhook_app = typer.Typer(help="Webhook subscriptions and signing keys.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")


@webhook_app.command("add")
def webhook_add(
    location: LocationOpt,
    url: Annotated[str, typer.Option("--url", help="Where deliveries are POSTed.")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="BlockedSlotCreate|Update|Delete; repeatable; default all."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Subscribe a URL to a location's blocked-slot events; print the subscription id."""

    async def work(s: Services) -> str:
        return (await s.webhooks.add(location, url, event or ())).id

    typer.echo(_run(database_url, work))


@webhook_app.command("list")
def webhook_list(
    location: Annotated[
        str | None, typer.Option("--location", help="Only this location (default: all).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List subscriptions (id, location, url, events), one per line."""
    for hook in _run(database_url, lambda s: s.webhooks.list_all(location)):
        typer.echo(f"{hook.id}\t{hook.location_id}\t{hook.url}\t{' '.join(hook.events)}")


@webhook_app.command("remove")
def webhook_remove(webhook_id: str, database_url: DatabaseUrl = None) -> None:
    """Remove a subscription (and its pending deliveries) by its id."""
    _run(database_url, lambda s: s.webhooks.remove(webhook_id))
    typer.echo(f"removed {webhook_id}", err=True)


@webhook_app.command("keygen")
def webhook_keygen() -> None:
    """Print a new Ed25519 key pair: the private key for SLOTBLOCK_WEBHOOK_SIGNING_KEY, and
    the public key receivers verify x-ghl-signature with (PEM, then raw base64)."""
    pair = new_key_pair()
    typer.echo(pair.private_pem + pair.public_pem + pair.public_base64)

"""`slotblock user`: create, list and delete the users of a location."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock.cli.common import DatabaseUrl, IdOpt, LocationOpt, NameOpt, run

app = typer.Typer(help="Users of a location.", no_args_is_help=True)


@app.command("create")
def create(
    location: LocationOpt,
    name: NameOpt,
    email: Annotated[str, typer.Option("--email")] = "",
    id: IdOpt = None,  # noqa: A002
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user; print its id."""
    typer.echo(run(database_url, lambda s: s.tenants.create_user(location, name, email, id)))


@app.command("list")
def list_(location: LocationOpt, database_url: DatabaseUrl = None) -> None:
    """List a location's users (id, email, name), one per line."""
    for user_id, name, email in run(database_url, lambda s: s.tenants.users(location)):
        typer.echo(f"{user_id}\t{email}\t{name}")


@app.command("delete")
def delete(location: LocationOpt, user_id: str, database_url: DatabaseUrl = None) -> None:
    """Delete a user no calendar or block refers to."""
    run(database_url, lambda s: s.tenants.delete_user(location, user_id))
    typer.echo(f"deleted {user_id}", err=True)

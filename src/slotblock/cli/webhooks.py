"""`slotblock webhook`: subscriptions to a location's blocked-slot events, and signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock.cli.common import AnyLocationOpt, DatabaseUrl, LocationOpt, run
from slotblock.service.container import Services
from slotblock.service.webhooks import new_key_pair

app = typer.Typer(help="Webhook subscriptions and signing keys.", no_args_is_help=True)


@app.command("add")
def add(
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

    typer.echo(run(database_url, work))


@app.command("list")
def list_(location: AnyLocationOpt = None, database_url: DatabaseUrl = None) -> None:
    """List subscriptions (id, location, url, events), one per line."""
    for hook in run(database_url, lambda s: s.webhooks.list_all(location)):
        typer.echo(f"{hook.id}\t{hook.location_id}\t{hook.url}\t{' '.join(hook.events)}")


@app.command("remove")
def remove(subscription_id: str, database_url: DatabaseUrl = None) -> None:
    """Remove a subscription (and its pending deliveries) by its id."""
    run(database_url, lambda s: s.webhooks.remove(subscription_id))
    typer.echo(f"removed {subscription_id}", err=True)


@app.command("keygen")
def keygen() -> None:
    """Print a new Ed25519 key pair: the private key for SLOTBLOCK_WEBHOOK_SIGNING_KEY, and
    the public key receivers verify x-ghl-signature with (PEM, then raw base64)."""
    pair = new_key_pair()
    typer.echo(pair.private_pem + pair.public_pem + pair.public_base64)

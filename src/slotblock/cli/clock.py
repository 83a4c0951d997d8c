"""`slotblock clock`: the twin of /_admin/clock, the service's "now" a test controls, for
every node of the database (followed while the admin API is on). Each command prints the
clock as GET /_admin/clock shows it, as one line of JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from slotblock.cli.common import DatabaseUrl, run
from slotblock.core.clock import parse_duration, parse_instant, shown
from slotblock.core.errors import InvalidInput
from slotblock.service.clock import StoredClock
from slotblock.service.container import Services

app = typer.Typer(
    help="The service's clock, for every node of the database (followed while the admin "
    "API is on). Each command prints the clock as GET /_admin/clock shows it.",
    no_args_is_help=True,
)


def _clock(database_url: str | None, **change: Any) -> None:
    """Apply `change` (none: show) to the stored clock; print it as one line of JSON."""

    async def work(s: Services) -> dict[str, Any]:
        clock = StoredClock(s.store)
        if change.get("real"):
            await clock.release()
        elif change:
            now, advance = change.get("now"), change.get("advance")
            await clock.change(
                now_ms=None if now is None else _parsed(parse_instant, now, "WHEN"),
                advance_ms=None if advance is None else _parsed(parse_duration, advance, "AMOUNT"),
                freeze=change.get("freeze"),
            )
        return shown(await clock.stored(), clock.real())

    typer.echo(json.dumps(run(database_url, work)))


def _parsed(parse: Callable[[int | str], int], text: str, name: str) -> int:
    try:
        return parse(int(text) if text.isdigit() else text)
    except ValueError as exc:
        raise InvalidInput(f"{name} {exc}") from None


@app.command("show")
def show(database_url: DatabaseUrl = None) -> None:
    """Print the clock."""
    _clock(database_url)


@app.command("set")
def set_(
    when: Annotated[str, typer.Argument(help="Epoch ms, or ISO 8601 with an offset.")],
    freeze: Annotated[
        bool | None, typer.Option("--freeze/--tick", help="Stop it there, or let it tick.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the time (it ticks on from there unless frozen)."""
    _clock(database_url, now=when, freeze=freeze)


@app.command("advance")
def advance(
    amount: Annotated[str, typer.Argument(help="ms, or 90s, 15m, 2h, 7d, 1d2h, PT2H.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Move the time forward."""
    _clock(database_url, advance=amount)


@app.command("freeze")
def freeze(database_url: DatabaseUrl = None) -> None:
    """Stop the time where it is."""
    _clock(database_url, freeze=True)


@app.command("unfreeze")
def unfreeze(database_url: DatabaseUrl = None) -> None:
    """Let a frozen time tick again."""
    _clock(database_url, freeze=False)


@app.command("real")
def real(database_url: DatabaseUrl = None) -> None:
    """Back to real time."""
    _clock(database_url, real=True)

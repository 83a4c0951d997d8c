"""The `slotblock` command: one module per noun (`location`, `user`, `group`, `calendar`,
`token`, `webhook`, `feed`), the server's commands (`serving.py`) and the admin API's twins
(`state.py`, and `clock.py` for /_admin/clock). Each `create` prints only the new id
(`token create` only the token) on stdout; everything else goes to stderr. Bad input: one
line, exit status 1."""

from __future__ import annotations

from typing import Annotated

import typer

from slotblock import __version__
from slotblock.cli import (
    calendars,
    clock,
    connections,
    feeds,
    groups,
    locations,
    serving,
    state,
    tokens,
    users,
    webhooks,
)

app = typer.Typer(
    help="slotblock: the Calendars blocked-slots API, self-hosted.", no_args_is_help=True
)


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


app.command("migrate")(serving.migrate)
app.command("demo")(serving.demo)
app.command("serve")(serving.serve)
for noun, module in (
    ("location", locations),
    ("user", users),
    ("group", groups),
    ("calendar", calendars),
    ("token", tokens),
    ("webhook", webhooks),
    ("feed", feeds),
    ("connection", connections),
    ("clock", clock),
):
    app.add_typer(module.app, name=noun)
app.command("reset")(state.reset)
app.command("load")(state.load)
app.command("export")(state.export)
app.command("admin-token")(state.admin_token)


def main() -> None:
    app()

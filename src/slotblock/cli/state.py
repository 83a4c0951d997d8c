"""The admin API's twins, for test suites and scripts: `reset`, `load`, `export` and
`admin-token`; `serve --fixture` uses the same loading."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from slotblock.cli.common import AnyLocationOpt, DatabaseUrl, run, settings_for
from slotblock.core.errors import InvalidInput
from slotblock.service.container import Services, wall_clock_ms
from slotblock.toolkit.service.admin_auth import create_admin_token
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits

FixtureFile = Annotated[
    Path, typer.Argument(help="A fixture document, JSON or YAML.", exists=True, dir_okay=False)
]


def fixtures_of(svc: Services, database_url: str | None) -> FixtureService:
    return FixtureService(svc.store, RuleLimits.of(settings_for(database_url)), wall_clock_ms)


async def load_text(fixtures: FixtureService, text: bytes) -> dict[str, Any]:
    """Load a document; its problems, one per line on stderr (then exit status 1)."""
    try:
        return await fixtures.load_text(text)
    except InvalidInput as exc:
        for problem in exc.messages:
            typer.echo(problem, err=True)
        count = len(exc.messages)
        raise InvalidInput(f"{count} problem(s) in the fixture; nothing was loaded") from exc


async def fresh(fixtures: FixtureService, text: bytes) -> None:
    """Empty the database, then load the document `text`."""
    await fixtures.reset()
    loaded = await load_text(fixtures, text)
    print(f"loaded {json.dumps(loaded)}", file=sys.stderr)


def reset(location: AnyLocationOpt = None, database_url: DatabaseUrl = None) -> None:
    """Empty the database (admin tokens kept), or one location."""
    run(database_url, lambda s: fixtures_of(s, database_url).reset(location))
    typer.echo(f"reset {location or 'everything'}", err=True)


def load(file: FixtureFile, database_url: DatabaseUrl = None) -> None:
    """Load a fixture document, all or nothing; its problems are listed on stderr."""
    text = file.read_bytes()
    loaded = run(database_url, lambda s: load_text(fixtures_of(s, database_url), text))
    typer.echo(f"loaded {json.dumps(loaded)}", err=True)


def export(location: AnyLocationOpt = None, database_url: DatabaseUrl = None) -> None:
    """Print the stored state as a fixture document (JSON)."""
    document = run(database_url, lambda s: fixtures_of(s, database_url).export(location))
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def admin_token(database_url: DatabaseUrl = None) -> None:
    """Create an admin token (turns the admin API on) and print it, this once."""
    typer.echo(run(database_url, lambda s: create_admin_token(s.store, wall_clock_ms())))

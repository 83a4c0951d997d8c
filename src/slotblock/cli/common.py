"""What every command shares: the settings, one store per command, one-line failures, and
the options several nouns take."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from slotblock.config import Settings
from slotblock.config_errors import (
    check_consistency,
    describe,
    unknown_variables,
    unreachable_database,
)
from slotblock.core.errors import SlotblockError, Unavailable
from slotblock.service.container import Services, build_services
from slotblock.store import Timeouts, open_store
from slotblock.store.migrate import upgrade

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Default: SLOTBLOCK_DATABASE_URL, else data/slotblock.db."),
]
LocationOpt = Annotated[str, typer.Option("--location", help="Location id.")]
AnyLocationOpt = Annotated[
    str | None, typer.Option("--location", help="Only this location (default: all).")
]
IdOpt = Annotated[str | None, typer.Option("--id", help="Choose the id (default: random).")]
NameOpt = Annotated[str, typer.Option("--name")]


def settings_for(database_url: str | None) -> Settings:
    """The settings from the environment (one line and exit status 1 when they do not
    parse), with `database_url` when given."""
    try:
        settings = Settings()
        check_consistency(settings.metrics, settings.metrics_token)
    except ValidationError as exc:
        raise fail(describe(exc)) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    for name in unknown_variables(os.environ, Settings):
        typer.echo(f"warning: {name} is not a slotblock setting (ignored)", err=True)
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def run(
    database_url: str | None,
    work: Callable[[Services], Awaitable[T]],
    migrated: Callable[[str | None, str | None], None] | None = None,
) -> T:
    """Run `work` against a migrated store, turning every expected failure into one line;
    `migrated` is told the schema revision before and after the migration."""
    settings = settings_for(database_url)

    async def main() -> T:
        # No statement timeout: migrations and bulk loads may take long; connecting may not.
        timeouts = Timeouts(
            connect=settings.database_connect_timeout_seconds,
            pool=settings.database_pool_timeout_seconds,
        )
        store = open_store(settings.database_url, pool_size=2, timeouts=timeouts)
        try:
            before, after = await upgrade(store)
            if migrated is not None:
                migrated(before, after)
            return await work(build_services(store, settings))
        finally:
            await store.dispose()

    try:
        return asyncio.run(main())
    except Unavailable as exc:
        raise fail(unreachable_database(settings.database_url, exc)) from None
    except SlotblockError as exc:
        raise fail(exc.message) from None
    except (ValueError, OSError) as exc:
        raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except Exception as exc:  # noqa: BLE001 - e.g. the database refused the connection
        raise fail(
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None


async def nothing(_: Services) -> None:
    return None

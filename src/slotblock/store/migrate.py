"""Bringing a database to the newest schema with Alembic, programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from slotblock.store.engine import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(store: Store) -> None:
    """Apply every pending migration (idempotent)."""
    async with store.begin() as conn:
        await conn.run_sync(_upgrade_sync)


def _upgrade_sync(connection: object) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


__all__ = ["alembic_config", "upgrade"]

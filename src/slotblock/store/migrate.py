"""Bringing a database to the newest schema with Alembic, programmatically.

Several nodes may start at the same moment on an empty database: each takes a lock first, so
that exactly one applies the migrations and the others then find them applied. On PostgreSQL
the lock is a transaction-scoped advisory lock (released at commit, or when a killed node's
connection drops); beside an SQLite file it is a file lock (`<database>.migrate.lock`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from filelock import FileLock

from slotblock.store.engine import Store

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by every node; this one spells "slotblk" in ASCII.
ADVISORY_LOCK_KEY = 0x736C6F74626C6B
LOCK_TIMEOUT_SECONDS = 300.0


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def lock_path(store: Store) -> Path | None:
    """The lock file beside an SQLite database file (None in memory and on PostgreSQL)."""
    database = store.url.database
    if not store.is_sqlite or not database or database == ":memory:":
        return None
    return Path(f"{database}.migrate.lock")


async def upgrade(store: Store) -> tuple[str | None, str | None]:
    """Apply every pending migration (idempotent, safe to run from many nodes at once).
    Returns the schema revision before and after (None: no schema)."""
    path = lock_path(store)
    if path is None:
        return await _upgrade_locked(store)
    lock = FileLock(path, timeout=LOCK_TIMEOUT_SECONDS)
    await asyncio.to_thread(lock.acquire)
    try:
        return await _upgrade_locked(store)
    finally:
        lock.release()


async def _upgrade_locked(store: Store) -> tuple[str | None, str | None]:
    async with store.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        return await conn.run_sync(_upgrade_sync)


def _upgrade_sync(connection: sa.Connection) -> tuple[str | None, str | None]:
    before = MigrationContext.configure(connection).get_current_revision()
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return before, MigrationContext.configure(connection).get_current_revision()


__all__ = ["alembic_config", "lock_path", "upgrade"]

"""Alembic environment: slotblock always passes the connection in (store.migrate.upgrade)."""

from __future__ import annotations

from alembic import context

from slotblock.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `slotblock migrate`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Storage: tables, queries, migrations. The only package that knows SQL."""

from slotblock.store.engine import Store, async_url, open_store

__all__ = ["Store", "async_url", "open_store"]

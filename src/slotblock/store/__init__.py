"""Storage: tables, queries, migrations. The product's only package that knows SQL (the
integrator toolkit's own queries are in toolkit/store/)."""

from slotblock.store.engine import Store, async_url, open_store

__all__ = ["Store", "async_url", "open_store"]

"""Storage: tables, queries, migrations. The product's only package that knows SQL (the
integrator toolkit's own queries are in toolkit/store/)."""

from slotblock.store.engine import Store, Timeouts, async_url, open_store
from slotblock.store.integrity import is_database_outage

__all__ = ["Store", "Timeouts", "async_url", "is_database_outage", "open_store"]

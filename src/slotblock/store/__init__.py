"""Storage: tables, queries, migrations. The only package that knows SQL."""

from slotblock.store.engine import Store, Timeouts, async_url, open_store
from slotblock.store.integrity import is_outage

__all__ = ["Store", "Timeouts", "async_url", "is_outage", "open_store"]

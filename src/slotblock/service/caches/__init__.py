"""The service's caches of query work: answers and feed documents validated against the
data version, and series instances per (series version, week)."""

"""The service's caches of query work: answers validated against the data version, and
series instances per (series version, week)."""

"""The store's contract suite, on SQLite and PostgreSQL: `store.blocks` (with the window
statement and its `store.targets` filters), `store.directory`, `store.tokens`, `store.engine`
and `store.migrate` (test_engine.py, with the connection pools per process),
`store.sqlite_connection` (SQLite only), and the schema (test_store.py: tables = migrations,
the keys, the index range scans).

The other store modules are tested through their services, on both backends too, not here:
`changes` (tests/changes/test_changes_feed.py), `idempotency` (test_idempotency.py),
`webhooks` (test_webhooks.py, test_webhook_deliveries.py), `locks` and `integrity` (tests/hardening/test_races.py and
test_edge.py), `window_query`'s answers (tests/api/test_fast_path_differential.py), `tenants`
(tests/cli/test_cli_lists.py), `feeds` and `window_query.mapped_rows` (tests/feeds/), and
`counters` (Redis and in-process:
tests/api/test_rate_limits.py).
"""

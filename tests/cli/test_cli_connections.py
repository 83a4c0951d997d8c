"""`slotblock connection add|list|sync|remove` against a calendar served on loopback."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import ok, run
from tests.connections.calendar_server import hosting
from tests.connections.test_connections_api import HOLIDAY, document


def test_connection_add_list_sync_remove(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8")
    location = ok(database_url, "location", "create", "--name", "L", "--timezone", "Europe/Paris")
    user = ok(database_url, "user", "create", "--location", location, "--name", "Ann")
    with hosting(document(HOLIDAY)) as host:
        connection = ok(database_url, "connection", "add", "--location", location,
                        "--user", user, "--url", host.url)  # fmt: skip
        shown = host.url.removesuffix("calendar.ics") + "…"  # the address itself: never
        line = f"{connection}\t{location}\t{user}\tical\t{shown}"
        assert ok(database_url, "connection", "list") == f"{line}\t0 events"
        assert ok(database_url, "connection", "sync", connection) == f"{line}\t1 events"
        host.status = 500
        failed = run(database_url, "connection", "sync", connection)
        assert failed.returncode == 1 and "error: Unreachable: HTTP 500" in failed.stdout
        assert "calendar.ics" not in failed.stdout + failed.stderr
    assert ok(database_url, "connection", "list", "--location", "other") == ""
    assert run(database_url, "connection", "remove", connection).returncode == 0
    assert ok(database_url, "connection", "list") == ""
    missing = run(database_url, "connection", "remove", connection)
    assert missing.returncode == 1 and "Connection not found" in missing.stderr


def test_connection_add_refuses_what_the_guard_refuses(database_url: str) -> None:
    location = ok(database_url, "location", "create", "--name", "L", "--timezone", "UTC")
    user = ok(database_url, "user", "create", "--location", location, "--name", "Ann")
    add = ("connection", "add", "--location", location, "--user", user)
    refused = run(database_url, *add, "--url", "http://10.0.0.1/cal.ics")
    assert refused.returncode == 1 and "private" in refused.stderr
    secret = run(database_url, *add, "--url", "https://example.com/c", "--password", "pw")
    assert secret.returncode == 1 and "SLOTBLOCK_CONNECTION_KEY" in secret.stderr

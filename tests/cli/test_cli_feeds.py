"""`slotblock feed create|list|revoke`: the operator's twins of /calendars/feeds."""

from __future__ import annotations

import hashlib
import sqlite3

from tests.cli.test_cli import ok, run


def test_feed_create_list_revoke(database_url: str) -> None:
    location = ok(database_url, "location", "create", "--name", "L", "--timezone", "Europe/Paris")
    user = ok(database_url, "user", "create", "--location", location, "--name", "Ann")
    group = ok(database_url, "group", "create", "--location", location, "--name", "Desk")
    token = ok(database_url, "feed", "create", "--user", user, "--busy-only")  # location found
    assert token.startswith("ical-") and len(token) == 45
    ok(database_url, "feed", "create", "--group", group, "--location", location, "--name", "Desk")
    lines = [line.split("\t") for line in ok(database_url, "feed", "list").splitlines()]
    assert sorted(line[1:] for line in lines) == sorted([
        [location, "active", "user", user, "busy-only", ""],
        [location, "active", "group", group, "-", "Desk"],
    ])  # fmt: skip
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            stored = [row[0] for row in db.execute("SELECT token_hash FROM feed_tokens")]
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    feed_id = next(line[0] for line in lines if line[3] == "user")
    assert run(database_url, "feed", "revoke", feed_id).returncode == 0
    assert "\trevoked\tuser\t" in ok(database_url, "feed", "list", "--location", location)
    again = run(database_url, "feed", "revoke", feed_id)
    assert again.returncode == 1 and "Feed not found" in again.stderr
    for wrong in (("--user", user, "--group", group), (), ("--calendar", "nowhere")):
        refused = run(database_url, "feed", "create", *wrong)
        assert refused.returncode == 1, wrong
        assert refused.stderr.startswith("error: ")

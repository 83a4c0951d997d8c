"""The CLI lists and deletes what it creates."""

from __future__ import annotations

from tests.cli.test_cli import ok, run


def test_list_and_delete_everything(database_url: str) -> None:
    location = ok(
        database_url, "location", "create", "--name", "Clinic", "--timezone", "Europe/Paris"
    )
    user = ok(
        database_url,
        "user",
        "create",
        "--location",
        location,
        "--name",
        "Ann",
        "--email",
        "a@x.org",
    )
    group = ok(database_url, "group", "create", "--location", location, "--name", "Front")
    calendar = ok(
        database_url, "calendar", "create", "--location", location, "--name", "Desk",
        "--group", group, "--team-member", user,
    )  # fmt: skip
    assert f"{location}\tEurope/Paris\tClinic" in ok(database_url, "location", "list").splitlines()
    assert ok(database_url, "user", "list", "--location", location) == f"{user}\ta@x.org\tAnn"
    assert ok(database_url, "group", "list", "--location", location) == f"{group}\tFront"
    assert (
        ok(database_url, "calendar", "list", "--location", location) == f"{calendar}\t{group}\tDesk"
    )

    refused = run(database_url, "location", "delete", location)
    assert refused.returncode == 1
    assert (
        refused.stderr
        == "error: the location still has users, groups, calendars; delete them first\n"
    )
    assert run(database_url, "user", "delete", "--location", location, user).returncode == 1
    assert run(database_url, "group", "delete", "--location", location, group).returncode == 1

    ok(database_url, "calendar", "delete", "--location", location, calendar)
    ok(database_url, "group", "delete", "--location", location, group)
    ok(database_url, "user", "delete", "--location", location, user)
    ok(database_url, "token", "create", "--location", location)
    ok(database_url, "location", "delete", location)
    assert location not in ok(database_url, "location", "list")
    missing = run(database_url, "calendar", "list", "--location", location)
    assert missing.returncode == 1
    assert "not found" in missing.stderr

"""The `slotblock` command: stdout carries only the new id or token, errors are one line on
stderr with exit status 1. Most tests call the Typer app in-process (the same object the
console script runs); the last ones run the installed `slotblock` script itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slotblock.cli import app

SLOTBLOCK = [sys.executable, "-m", "slotblock"]


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run(database_url: str, *args: str) -> Outcome:
    result = CliRunner().invoke(app, [*args, "--database-url", database_url])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def ok(database_url: str, *args: str) -> str:
    result = run(database_url, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_create_everything(database_url: str) -> None:
    location = ok(
        database_url, "location", "create", "--name", "Clinic", "--timezone", "Europe/Paris"
    )
    assert len(location) == 20 and location.isalnum()
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
    group = ok(
        database_url,
        "group",
        "create",
        "--location",
        location,
        "--name",
        "Front desk",
        "--id",
        "grp1",
    )
    assert group == "grp1"
    calendar = ok(
        database_url,
        "calendar", "create", "--location", location, "--name", "Room 1",
        "--group", group, "--team-member", user,
    )  # fmt: skip
    assert len(calendar) == 20
    token = ok(
        database_url, "token", "create", "--location", location, "--scope", "calendars.readonly"
    )
    assert token.startswith("pit-") and "\n" not in token
    listed = ok(database_url, "token", "list", "--location", location)
    [line] = listed.splitlines()
    token_id, state, _, scopes = line.split("\t")
    assert (state, scopes) == ("active", "calendars.readonly")
    revoke = run(database_url, "token", "revoke", token_id)
    assert revoke.returncode == 0 and revoke.stdout == ""
    assert "revoked" in ok(database_url, "token", "list", "--location", location)
    again = run(database_url, "token", "revoke", token_id)
    assert again.returncode == 1
    ok(database_url, "token", "create", "--location", location, "--expires-in", "3600")
    states = [
        line.split("\t")[1]
        for line in ok(database_url, "token", "list", "--location", location).splitlines()
    ]
    assert states == ["revoked", "active"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("location", "create", "--name", "X", "--timezone", "Mars/Olympus"),
            "unknown IANA timezone",
        ),
        (
            ("location", "create", "--name", "X", "--timezone", "UTC", "--id", "bad id!"),
            "letters and digits",
        ),
        (("user", "create", "--location", "nowhere", "--name", "X"), "location nowhere not found"),
        (("calendar", "create", "--location", "nowhere", "--name", "X"), "not found"),
        (("group", "create", "--location", "nowhere", "--name", "X"), "location nowhere not found"),
        (("token", "create", "--location", "nowhere"), "not found"),
        (("token", "create", "--location", "nowhere", "--expires-in", "59"), "60 to 31622400"),
    ],
)
def test_bad_input_is_one_line(database_url: str, args: tuple[str, ...], message: str) -> None:
    result = run(database_url, *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_id(database_url: str) -> None:
    ok(database_url, "location", "create", "--name", "A", "--timezone", "UTC", "--id", "loc1")
    result = run(
        database_url, "location", "create", "--name", "B", "--timezone", "UTC", "--id", "loc1"
    )
    assert result.returncode == 1
    assert "already exists" in result.stderr and "Traceback" not in result.stderr


def test_calendar_with_unknown_group_or_member(database_url: str) -> None:
    location = ok(database_url, "location", "create", "--name", "A", "--timezone", "UTC")
    for extra in (("--group", "nogroup"), ("--team-member", "nouser")):
        result = run(
            database_url, "calendar", "create", "--location", location, "--name", "C", *extra
        )
        assert result.returncode == 1 and "not found" in result.stderr


def test_demo_is_idempotent_and_prints_only_a_token(database_url: str) -> None:
    first = run(database_url, "demo")
    second = run(database_url, "demo")
    assert first.returncode == second.returncode == 0
    assert first.stdout.startswith("pit-") and second.stdout.startswith("pit-")
    assert first.stdout != second.stdout
    assert "created" in first.stderr and "already present" in second.stderr


def test_migrate_is_idempotent(database_url: str) -> None:
    assert run(database_url, "migrate").returncode == 0
    assert run(database_url, "migrate").returncode == 0


def test_unreachable_database_is_one_line() -> None:
    result = run("postgresql://nobody@127.0.0.1:1/none", "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_unsupported_database_url() -> None:
    result = run("mysql://x@localhost/db", "migrate")
    assert result.returncode == 1
    assert "unsupported database" in result.stderr


SCRIPT = shutil.which("slotblock", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(
    SCRIPT is None, reason="the slotblock script is not installed beside this Python"
)
def test_console_script(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert SCRIPT is not None
    created = subprocess.run(
        [SCRIPT, "location", "create", "--name", "A", "--timezone", "UTC", "--database-url", url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert created.returncode == 0 and len(created.stdout.strip()) == 20
    refused = subprocess.run(
        [SCRIPT, "location", "create", "--name", "A", "--timezone", "Nowhere", "--database-url", url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == "error: unknown IANA timezone 'Nowhere'\n"
    module = subprocess.run([*SLOTBLOCK, "--help"], capture_output=True, text=True, check=False)
    assert module.returncode == 0 and "serve" in module.stdout

"""The pytest plugin of slotblock (entry point `pytest11: slotblock`).

Fixtures:

* `slotblock_server` (session): a live slotblock on a free loopback port, with the admin
  API on and no rate limits (`--slotblock-rate-limits` turns the platform's on), on SQLite
  in a temporary directory (or `--slotblock-database-url`); stopped at the end of the
  session. A database it cannot use stops the session with one line saying why.
* `slotblock` (function): the server's state emptied (data, clock, fault rules, logged
  requests), then the fixture document loaded — the one of
  `@pytest.mark.slotblock_fixture(doc)` (a dict, or a path relative to the test file), else
  `--slotblock-fixture FILE`. It gives the base URL (`url`), the document's tokens
  (`tokens`, `token`) and ids (`location_id`, `ids(kind)`), the clock (`clock.set(...)`,
  `.advance(...)`, …), and the helpers `requests()`, `fault(...)`, `faults()`,
  `clear_faults()`, `reset()`, `load(doc)` and `export()`. A test marked
  `@pytest.mark.slotblock_rate_limits(...)` gets a server of its own, on the same
  database, that enforces rate limits (the platform's, or those given).
  `webhooks.receiver()` starts a capturing receiver, subscribed, whose `wait(n, timeout)`
  gives the next n deliveries, each signature verified (testing/webhook_receiver.py).

So that those receivers get deliveries, the plugin's server may send webhooks to loopback
(`127.0.0.0/8` and `::1` are added to SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS), signs them with
SLOTBLOCK_WEBHOOK_SIGNING_KEY or else a key made for the session, and looks for due
deliveries every 0.1 s unless SLOTBLOCK_WEBHOOK_POLL_SECONDS says otherwise; the session's
header says so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from slotblock.testing.client import Slotblock, SlotblockServer

MARKER = "slotblock_fixture"
RATE_MARKER = "slotblock_rate_limits"
_START_SECONDS = 30
# The marker's arguments, as the settings they set.
_LIMITS = {
    "burst": "rate_limit_burst",
    "interval_seconds": "rate_limit_interval_seconds",
    "daily": "rate_limit_daily",
    "auth_failures": "auth_failure_limit",
}
_NO_LIMITS = {setting: 0 for name, setting in _LIMITS.items() if name != "interval_seconds"}
LOOPBACK = "127.0.0.0/8,::1/128"
_POLL_SECONDS = 0.1


def pytest_report_header(config: pytest.Config) -> str:
    del config
    return (
        f"slotblock: the test server may send webhooks to loopback ({LOOPBACK}), "
        "for the receivers of slotblock.webhooks.receiver()"
    )


def public_pem(private_pem: str) -> str:
    from slotblock.service.webhooks import public_pem as of  # noqa: PLC0415

    return of(private_pem)


@pytest.fixture(scope="session")
def _slotblock_webhook_settings() -> dict[str, Any]:
    """The servers' webhook settings (loopback allowed, a signing key, a short poll), over
    those of the environment; one key for the session."""
    from slotblock.config import Settings  # noqa: PLC0415
    from slotblock.service.webhooks import new_key_pair  # noqa: PLC0415

    given = Settings()
    allowed = ",".join(n for n in (given.outbound_allow_networks, LOOPBACK) if n.strip())
    key = given.webhook_signing_key or new_key_pair().private_pem
    settings: dict[str, Any] = {"outbound_allow_networks": allowed, "webhook_signing_key": key}
    if "SLOTBLOCK_WEBHOOK_POLL_SECONDS" not in os.environ:
        settings["webhook_poll_seconds"] = _POLL_SECONDS
    return settings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slotblock", "slotblock server for integration tests")
    group.addoption(
        "--slotblock-database-url",
        default=None,
        help="Database of the slotblock server (default: SQLite in a temporary directory). "
        "It is migrated, and emptied before every test that uses the `slotblock` fixture.",
    )
    group.addoption(
        "--slotblock-fixture",
        default=None,
        help="Fixture document (JSON or YAML) loaded before every test using `slotblock`.",
    )
    group.addoption(
        "--slotblock-rate-limits",
        action="store_true",
        default=False,
        help="Enforce the platform's rate limits (or the SLOTBLOCK_RATE_LIMIT_* settings) "
        "on the session's server; by default it has none.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(document): the fixture document (a dict, or a JSON/YAML file path "
        "relative to the test file) that the `slotblock` fixture loads for this test",
    )
    config.addinivalue_line(
        "markers",
        f"{RATE_MARKER}(burst=100, interval_seconds=10, daily=200000, auth_failures=20): "
        "this test's `slotblock` server enforces rate limits (the platform's by default)",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _migrate(database_url: str) -> None:
    """Migrate the database, or stop the session with one line saying why it cannot."""
    import sqlalchemy as sa  # noqa: PLC0415 - only when a test needs it

    from slotblock.store import open_store  # noqa: PLC0415
    from slotblock.store.migrate import upgrade  # noqa: PLC0415

    async def main() -> None:
        store = open_store(database_url, pool_size=1)
        try:
            await upgrade(store)
        finally:
            await store.dispose()

    try:
        asyncio.run(main())
    except Exception as exc:  # noqa: BLE001 - any failure here is the database's
        try:
            shown = sa.make_url(database_url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            shown = "(not a database URL)"
        cause = exc.__cause__ or exc
        text = str(cause).strip()
        reason = text.splitlines()[0] if text else type(cause).__name__
        pytest.exit(
            f"slotblock: cannot use the database {shown}: {reason}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@contextmanager
def _serving(database_url: str, admin_token: str, **settings: Any) -> Iterator[str]:
    """A slotblock app on a free loopback port, in a thread; its base URL."""
    import uvicorn  # noqa: PLC0415 - the web stack, only when a test needs it

    from slotblock.api.app import create_app  # noqa: PLC0415
    from slotblock.config import Settings  # noqa: PLC0415

    app = create_app(
        Settings(database_url=database_url, admin_token=admin_token, pool_size=4, **settings)
    )
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="slotblock-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the slotblock server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def slotblock_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlotblockServer]:
    """A live slotblock for the session, with the admin API on."""
    database_url = request.config.getoption("--slotblock-database-url") or (
        f"sqlite:///{tmp_path_factory.mktemp('slotblock') / 'slotblock.db'}"
    )
    _migrate(database_url)
    admin_token = "sba-" + secrets.token_urlsafe(30)
    limits = {} if request.config.getoption("--slotblock-rate-limits") else _NO_LIMITS
    hooks = request.getfixturevalue("_slotblock_webhook_settings")
    public_key = public_pem(hooks["webhook_signing_key"])
    with _serving(database_url, admin_token, **limits, **hooks) as url:
        yield SlotblockServer(url, admin_token, database_url, public_key)


def _limits(marker: pytest.Mark) -> dict[str, int]:
    """The settings of a `slotblock_rate_limits` marker (the platform's where not given)."""
    unknown = set(marker.kwargs) - set(_LIMITS)
    if marker.args or unknown:
        raise pytest.UsageError(
            f"{RATE_MARKER} takes only keywords among {', '.join(_LIMITS)}"
            + (f" (not {', '.join(sorted(unknown))})" if unknown else "")
        )
    return {_LIMITS[name]: int(value) for name, value in marker.kwargs.items()}


@pytest.fixture
def _slotblock_limited_server(
    slotblock_server: SlotblockServer, request: pytest.FixtureRequest
) -> Iterator[SlotblockServer]:
    """A server of the test's own, on the session's database, with rate limits on."""
    marker = request.node.get_closest_marker(RATE_MARKER)
    assert marker is not None
    limits = _limits(marker)
    database_url, admin_token = slotblock_server.database_url, slotblock_server.admin_token
    hooks = request.getfixturevalue("_slotblock_webhook_settings")
    with _serving(database_url, admin_token, **limits, **hooks) as url:
        yield SlotblockServer(url, admin_token, database_url, slotblock_server.webhook_public_key)


def _document(request: pytest.FixtureRequest) -> dict[str, Any]:
    from slotblock.toolkit.service.fixture_document import parse_text  # noqa: PLC0415

    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        given = marker.args[0] if marker.args else marker.kwargs["document"]
        if isinstance(given, dict):
            return given
        path = Path(request.node.path).parent / str(given)
    else:
        option = request.config.getoption("--slotblock-fixture")
        if option is None:
            return {"locations": []}
        path = Path(option)
    document = parse_text(path.read_bytes())
    if not isinstance(document, dict):
        raise pytest.UsageError(f"{path}: a fixture document is a mapping")
    return document


@pytest.fixture
def slotblock(
    slotblock_server: SlotblockServer, request: pytest.FixtureRequest
) -> Iterator[Slotblock]:
    """The server, emptied, with the test's fixture document loaded; the test's webhook
    receivers are stopped after it."""
    server = slotblock_server
    if request.node.get_closest_marker(RATE_MARKER) is not None:
        server = request.getfixturevalue("_slotblock_limited_server")
    document = _document(request)
    server.reset()
    server.load(document)
    state = Slotblock(server.url, server.admin_token, document, server.webhook_public_key)
    yield state
    state.webhooks.close()

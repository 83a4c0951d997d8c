"""The pytest plugin of slotblock (entry point `pytest11: slotblock`).

Fixtures:

* `slotblock_server` (session): a live slotblock on a free loopback port, with the admin
  API on, on SQLite in a temporary directory (or `--slotblock-database-url`); stopped at
  the end of the session.
* `slotblock` (function): the server's state emptied (data, fault rules, logged requests),
  then the fixture document loaded — the one of `@pytest.mark.slotblock_fixture(doc)` (a
  dict, or a path relative to the test file), else `--slotblock-fixture FILE`. It gives
  the base URL (`url`), the document's tokens (`tokens`, `token`) and ids (`location_id`,
  `ids(kind)`), and the helpers `requests()`, `fault(...)`, `faults()`, `clear_faults()`,
  `reset()`, `load(doc)` and `export()`.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slotblock.testing.client import Slotblock, SlotblockServer

MARKER = "slotblock_fixture"
_START_SECONDS = 30


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(document): the fixture document (a dict, or a JSON/YAML file path "
        "relative to the test file) that the `slotblock` fixture loads for this test",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _migrate(database_url: str) -> None:
    from slotblock.store import open_store  # noqa: PLC0415 - only when a test needs it
    from slotblock.store.migrate import upgrade  # noqa: PLC0415

    async def main() -> None:
        store = open_store(database_url, pool_size=1)
        try:
            await upgrade(store)
        finally:
            await store.dispose()

    asyncio.run(main())


@pytest.fixture(scope="session")
def slotblock_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlotblockServer]:
    """A live slotblock for the session, with the admin API on."""
    import uvicorn  # noqa: PLC0415 - the web stack, only when a test needs it

    from slotblock.api.app import create_app  # noqa: PLC0415
    from slotblock.config import Settings  # noqa: PLC0415

    database_url = request.config.getoption("--slotblock-database-url") or (
        f"sqlite:///{tmp_path_factory.mktemp('slotblock') / 'slotblock.db'}"
    )
    _migrate(database_url)
    admin_token = "sba-" + secrets.token_urlsafe(30)
    settings = Settings(database_url=database_url, admin_token=admin_token, pool_size=4)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="slotblock-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the slotblock server did not start")
        time.sleep(0.02)
    try:
        yield SlotblockServer(f"http://127.0.0.1:{port}", admin_token, database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


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
def slotblock(slotblock_server: SlotblockServer, request: pytest.FixtureRequest) -> Slotblock:
    """The server, emptied, with the test's fixture document loaded."""
    document = _document(request)
    slotblock_server.reset()
    slotblock_server.load(document)
    return Slotblock(slotblock_server.url, slotblock_server.admin_token, document)

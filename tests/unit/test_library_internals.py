"""The private parts of libraries that slotblock leans on, one test each.

pyproject.toml bounds these libraries to the versions tested; before raising a bound, run
this file against the new version. A failure names the module of slotblock that relies on
what changed. (Not pure like the rest of tests/unit: the uvicorn and aiosqlite checks use a
loopback socket and a temporary file.)
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import dateutil.rrule as du
import httpx
import pytest
import uvicorn
from dateutil.rrule import rrulestr
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from slotblock.api.server import GuardedHTTP
from slotblock.core.rrule_work import Budget, walk

pytestmark = pytest.mark.anyio
START = datetime(2026, 2, 2, 9)


def changed(library: str, what: str, user: str) -> str:
    return (
        f"{library} changed {what}, which {user} relies on: adapt that module to the new "
        "version before raising the bound in pyproject.toml"
    )


def parameters(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


# --- python-dateutil: core/rrule_work.py runs `rrule._iter` with its own `_iterinfo` ----

RRULE_WORK = "slotblock/core/rrule_work.py"


def test_dateutil_iterinfo_builds_a_day_set_per_period() -> None:
    info = getattr(du, "_iterinfo", None)
    assert isinstance(info, type), changed("python-dateutil", "rrule._iterinfo", RRULE_WORK)
    assert parameters(info) == ["rrule"], changed("python-dateutil", "_iterinfo(rrule)", RRULE_WORK)
    for name in ("ydayset", "mdayset", "wdayset", "ddayset"):
        method = getattr(info, name, None)
        assert callable(method), changed("python-dateutil", f"_iterinfo.{name}", RRULE_WORK)
        assert parameters(method) == ["self", "year", "month", "day"], changed(
            "python-dateutil", f"_iterinfo.{name}(year, month, day)", RRULE_WORK
        )


def test_dateutil_rrule_iter_finds_iterinfo_among_its_globals() -> None:
    iterate = getattr(du.rrule, "_iter", None)
    assert inspect.isfunction(iterate), changed("python-dateutil", "rrule._iter", RRULE_WORK)
    code = iterate.__code__
    assert parameters(iterate) == ["self"], changed("python-dateutil", "rrule._iter()", RRULE_WORK)
    assert code.co_freevars == (), changed("python-dateutil", "rrule._iter's closure", RRULE_WORK)
    assert "_iterinfo" in code.co_names, changed(
        "python-dateutil", "how rrule._iter makes its _iterinfo", RRULE_WORK
    )


def test_dateutil_rrule_keeps_its_freq_and_takes_new_attributes() -> None:
    rule = rrulestr("FREQ=WEEKLY;COUNT=3", dtstart=START, cache=False)
    assert getattr(rule, "_freq", None) == du.WEEKLY, changed(
        "python-dateutil", "rrule._freq", RRULE_WORK
    )
    rule._slotblock_meter = None  # type: ignore[union-attr]  # no __slots__


def test_the_metered_walk_is_charged_one_unit_per_daily_period() -> None:
    """The walk is dateutil's own code with the metered `_iterinfo`: were the substitute not
    used, the occurrences would be right and nothing charged. Six periods: five yield, the
    sixth finds the COUNT used up."""
    budget = Budget(1_000)
    rule = rrulestr("FREQ=DAILY;COUNT=5", dtstart=START, cache=False)
    assert isinstance(rule, du.rrule)
    assert list(walk(rule, budget)) == [START.replace(day=d) for d in range(2, 7)]
    assert budget.spent == 6, changed(
        "python-dateutil", "how rrule._iter asks _iterinfo for each period", RRULE_WORK
    )


# --- aiosqlite: store/sqlite_connection.py overrides `Connection._execute` ----------------

SQLITE_CONNECTION = "slotblock/store/sqlite_connection.py"


def test_aiosqlite_connection_has_the_parts_loop_connection_uses() -> None:
    execute = getattr(aiosqlite.Connection, "_execute", None)
    assert execute is not None and inspect.iscoroutinefunction(execute), changed(
        "aiosqlite", "Connection._execute", SQLITE_CONNECTION
    )
    assert parameters(execute) == ["self", "fn", "args", "kwargs"], changed(
        "aiosqlite", "Connection._execute(fn, *args, **kwargs)", SQLITE_CONNECTION
    )
    assert parameters(aiosqlite.Connection)[:2] == ["connector", "iter_chunk_size"], changed(
        "aiosqlite", "Connection(connector, iter_chunk_size)", SQLITE_CONNECTION
    )
    connection = aiosqlite.Connection(partial(sqlite3.connect, ":memory:"), 64)
    thread = getattr(connection, "_thread", None)
    assert isinstance(thread, threading.Thread) and not thread.is_alive(), changed(
        "aiosqlite", "Connection._thread (its worker thread, started on open)", SQLITE_CONNECTION
    )
    state = (getattr(connection, "_running", None), getattr(connection, "_connection", 0))
    assert state == (True, None), changed(
        "aiosqlite", "Connection._running and Connection._connection", SQLITE_CONNECTION
    )


async def test_aiosqlite_sends_every_sqlite3_call_through_execute(tmp_path: Path) -> None:
    """LoopConnection decides where a call runs by the sqlite3 method it is handed."""
    seen: list[tuple[str, type]] = []

    class Spy(aiosqlite.Connection):
        async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            seen.append((fn.__name__, type(getattr(fn, "__self__", None))))
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async with Spy(partial(sqlite3.connect, tmp_path / "x.db"), 64) as conn:
        cursor = await conn.cursor()
        await cursor.execute("BEGIN")
        await cursor.execute("SELECT 1")
        assert list(await cursor.fetchall()) == [(1,)]
        await cursor.close()
        await conn.commit()
    assert seen[:5] == [
        ("cursor", sqlite3.Connection),
        ("execute", sqlite3.Cursor),
        ("execute", sqlite3.Cursor),
        ("fetchall", sqlite3.Cursor),
        ("close", sqlite3.Cursor),
    ], changed("aiosqlite", "the calls it hands to Connection._execute", SQLITE_CONNECTION)
    assert ("commit", sqlite3.Connection) in seen[5:], changed(
        "aiosqlite", "Connection.commit", SQLITE_CONNECTION
    )


# --- uvicorn: api/server.py subclasses its HTTP protocol ----------------------------------

SERVER = "slotblock/api/server.py"


def test_uvicorn_protocol_callbacks_keep_their_signatures() -> None:
    assert issubclass(GuardedHTTP, HttpToolsProtocol)  # uvicorn[standard] brings httptools
    for name, expected in (
        ("connection_made", ["self", "transport"]),
        ("data_received", ["self", "data"]),
        ("connection_lost", ["self", "exc"]),
    ):
        assert parameters(getattr(HttpToolsProtocol, name)) == expected, changed(
            "uvicorn", f"{HttpToolsProtocol.__name__}.{name}", SERVER
        )
    assert parameters(HttpToolsProtocol)[:3] == ["config", "server_state", "app_state"], changed(
        "uvicorn", f"{HttpToolsProtocol.__name__}(config, server_state, app_state)", SERVER
    )


async def _no_content(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_uvicorn_protocol_state_the_header_deadline_reads() -> None:
    """`loop`, `transport`, and `cycle`: None before the first request, then the request's,
    `response_complete` once answered (waiting for the next request's headers)."""
    config = uvicorn.Config(_no_content, log_level="warning")
    config.load()
    made: list[GuardedHTTP] = []

    def protocol() -> GuardedHTTP:
        made.append(GuardedHTTP(config=config, server_state=ServerState(), app_state={}))
        return made[-1]

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _until(lambda: bool(made))
        [http] = made
        assert http.loop is loop, changed("uvicorn", "the protocol's `loop`", SERVER)
        assert http.transport is not None, changed("uvicorn", "the protocol's `transport`", SERVER)
        assert http.cycle is None, changed("uvicorn", "`cycle` before a request", SERVER)
        assert http._header_timer is not None  # armed by connection_made
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 204")
        await _until(lambda: bool(getattr(http.cycle, "response_complete", False)))
        assert http._waiting_for_headers()
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, changed("uvicorn", "its connection handling", SERVER)
        await asyncio.sleep(0.01)


# --- Starlette and FastAPI: the router's scope, the middleware list, path patterns -------

LEAN = "slotblock/api/routes/blocked_slots_lean.py"


class _Spy:
    def __init__(self, app: ASGIApp, seen: dict[str, Any], name: str = "spy") -> None:
        self.app = app
        self.seen = seen
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.setdefault("order", []).append(self.name)
        await self.app(scope, receive, send)
        self.seen["route"] = scope.get("route")


def _app(seen: dict[str, Any]) -> tuple[FastAPI, APIRouter]:
    router = APIRouter()

    @router.get("/things/{thing_id}", operation_id="get-thing")
    async def get_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(_Spy, seen=seen, name="outer")
    return app, router


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        return await client.get(path)


async def test_the_router_leaves_the_matched_route_in_the_scope() -> None:
    """api/middleware/observability.py reads `scope["route"]` (its `path` template and
    `operation_id`) after the call; the lean route puts the same object there."""
    seen: dict[str, Any] = {}
    app, router = _app(seen)
    assert (await _get(app, "/things/t1")).json() == {"id": "t1"}
    [declared] = router.routes
    assert isinstance(declared, APIRoute)
    user = "slotblock/api/middleware/observability.py and " + LEAN
    assert seen["route"] is declared, changed("FastAPI", 'scope["route"]', user)
    assert (declared.path, declared.operation_id) == ("/things/{thing_id}", "get-thing")


async def test_middleware_appended_to_user_middleware_runs_innermost() -> None:
    """The lean route appends itself to `app.user_middleware` before the first request: the
    stack is built then, in that list's order, outermost first."""
    seen: dict[str, Any] = {}
    app, _ = _app(seen)
    app.user_middleware.append(Middleware(_Spy, seen=seen, name="inner"))
    assert (await _get(app, "/things/t1")).status_code == 200
    assert seen["order"] == ["outer", "inner"], changed(
        "Starlette", "how app.user_middleware builds the middleware stack", LEAN
    )


def test_compile_path_gives_a_template_s_pattern_first() -> None:
    pattern = compile_path("/calendars/events/{eventId}")[0]
    user = "slotblock/toolkit/api/middleware.py"
    assert pattern.fullmatch("/calendars/events/e1"), changed("Starlette", "compile_path", user)
    assert not pattern.fullmatch("/calendars/events/e1/x"), changed(
        "Starlette", "compile_path", user
    )

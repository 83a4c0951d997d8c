"""A TCP proxy in front of a database that a test can break on purpose.

    with DbProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
        ...
        proxy.refuse()      # nothing listens: connections refused; open ones reset
        proxy.black_hole()  # connections accepted and never answered; open ones hang
        proxy.cut()         # open connections reset, new ones forwarded (a restart)
        proxy.reject()      # open connections reset; new ones answered with PostgreSQL's
                            # FATAL 57P03 "the database system is starting up"
        proxy.restore()     # forward again (connections left hanging are reset)

The proxy runs its own event loop in a daemon thread, so that synchronous tests, async tests
and live servers can all use it. It counts the connections it accepted (`accepted`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeVar

Mode = Literal["forward", "refuse", "black_hole", "reject"]
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_GSS_REQUEST = struct.pack("!ii", 8, 80877104)
T = TypeVar("T")


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: the peer sees "connection reset", as when a server dies."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class DbProxy:
    """Forwards 127.0.0.1:`port` to `target`; `refuse`, `black_hole` and `restore` switch it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "forward"
        self.accepted = 0
        self.rejection = _fatal("57P03", "the database system is starting up")
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._hung: asyncio.Event | None = None  # set when hanging connections are reset

    # --- control, from any thread ------------------------------------------------------

    def start(self) -> DbProxy:
        self._thread.start()
        self._call(self._listen)
        return self

    def stop(self) -> None:
        self._call(self._close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def refuse(self) -> None:
        """Nothing listens from now on (connections refused); those open are reset (a
        server gone)."""
        self._switch("refuse")

    def black_hole(self) -> None:
        """Connections accepted and never answered; those open stop being forwarded (a
        network that drops every packet)."""
        self._switch("black_hole")

    def reject(
        self, sqlstate: str = "57P03", message: str = "the database system is starting up"
    ) -> None:
        """Open connections reset; new ones answered, at their startup message, with a
        PostgreSQL FATAL error (by default the one a restarting server sends)."""
        self.rejection = _fatal(sqlstate, message)
        self._switch("reject")

    def restore(self) -> None:
        """Forward again; connections left hanging by a black hole are reset."""
        self._switch("forward")

    def cut(self) -> None:
        """Reset every open connection; new ones are forwarded (a restart of the server)."""
        self._call(self._cut)

    def __enter__(self) -> DbProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _switch(self, mode: Mode) -> None:
        async def switch() -> None:
            was, self.mode = self.mode, mode
            if mode in ("refuse", "reject"):
                await self._cut()
                if self._server is not None:
                    self._server.close()
                    self._server = None
            elif mode == "forward" and was == "black_hole":
                await self._cut()
            if mode != "refuse" and self._server is None:
                await self._listen()

        self._call(switch)

    def _call(self, step: Callable[[], object]) -> None:
        async def run() -> None:
            result = step()
            if asyncio.iscoroutine(result):
                await result

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    # --- inside the proxy's loop --------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        await self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        mine = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not mine]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _cut(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()
        if self._hung is not None:
            self._hung.set()
            self._hung = None

    async def _hang(self) -> None:
        """Until the connections left hanging are reset."""
        if self._hung is None:
            self._hung = asyncio.Event()
        await self._hung.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._open.add(writer)
        if self.mode == "black_hole":
            await self._hang()  # held open, never answered
            return
        if self.mode == "reject":
            await self._answer_startup(reader, writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._open.discard(writer)
            _reset(writer)
            return
        self._open.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer, writer), self._pipe(up_reader, writer, up_writer)
        )

    async def _answer_startup(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read the client's startup message (declining SSL and GSS encryption first), then
        answer it with the rejection and close, as PostgreSQL does."""
        try:
            while True:
                length = struct.unpack("!i", await reader.readexactly(4))[0]
                packet = struct.pack("!i", length) + await reader.readexactly(length - 4)
                if packet in (_SSL_REQUEST, _GSS_REQUEST):
                    writer.write(b"N")
                    continue
                writer.write(self.rejection)
                await writer.drain()
                break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await reader.read(65_536):
                if self.mode == "black_hole":
                    await self._hang()  # swallowed: the peer waits
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for side in (writer, other):
                if side in self._open:
                    self._open.discard(side)
                    _reset(side)


def _fatal(sqlstate: str, message: str) -> bytes:
    """A PostgreSQL ErrorResponse message of severity FATAL."""
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body

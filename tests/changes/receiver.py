"""A real local HTTP receiver of webhook deliveries, with a plan of answers to give."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.body)
        return data


@dataclass
class Receiver:
    url: str = ""
    received: list[Delivery] = field(default_factory=list)  # answered 2xx
    attempts: int = 0
    plan: list[int] = field(default_factory=list)  # statuses for the next attempts; then 200
    always: int | None = None  # answer this to every attempt
    hang_s: float = 0.0  # hold the next attempt this long without answering
    answer_bytes: int = 0  # the length of the answer's body (sent as long as it is read)
    sent_bytes: int = 0  # of answer bodies, what the sockets took
    redirect_to: str | None = None  # answer 302 with this Location
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, float]:
        with self.lock:
            self.attempts += 1
            hang, self.hang_s = self.hang_s, 0.0
            if self.always is not None:
                return self.always, hang
            return (self.plan.pop(0) if self.plan else 200), hang

    async def wait_for(self, count: int, within_s: float = 20.0) -> list[Delivery]:
        deadline = time.monotonic() + within_s
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries"
            await asyncio.sleep(0.02)
        return self.received

    def types(self) -> list[tuple[str, str, str]]:
        return [
            (d.json["type"], d.json["scope"], d.json["blockedSlot"]["id"]) for d in self.received
        ]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, hang = receiver.answer()
            if hang:
                time.sleep(hang)
                return  # the sender gave up long ago
            if receiver.redirect_to is not None:
                status = 302
            if 200 <= status < 300:
                receiver.received.append(Delivery(dict(self.headers.items()), body))
            self.send_response(status)
            if receiver.redirect_to is not None:
                self.send_header("location", receiver.redirect_to)
            self.send_header("content-length", str(receiver.answer_bytes))
            self.end_headers()
            self._send_body(receiver.answer_bytes)

        def _send_body(self, size: int) -> None:
            chunk = b"x" * 65_536
            with contextlib.suppress(OSError):  # the sender closed the connection
                while size > 0:
                    self.wfile.write(chunk[:size])
                    with receiver.lock:
                        receiver.sent_bytes += min(size, len(chunk))
                    size -= len(chunk)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

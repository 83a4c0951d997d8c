"""A real local HTTP server of one iCalendar document that a test can change, answering
conditional GETs (ETag, If-None-Match) with 304 as calendar hosts do."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class CalendarHost:
    url: str = ""
    document: bytes = b""
    statuses: list[int] = field(default_factory=list)  # of each GET answered
    headers: list[dict[str, str]] = field(default_factory=list)  # of each GET
    paths: list[str] = field(default_factory=list)  # of each GET (any path is the calendar)
    redirect_to: str | None = None
    status: int = 200  # the answer of a GET that is not a 304
    hang_s: float = 0.0  # how long a GET waits before it is answered

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.document).hexdigest()[:16] + '"'


@contextmanager
def hosting(document: bytes = b"") -> Iterator[CalendarHost]:
    host = CalendarHost(document=document)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.headers.append({k.lower(): v for k, v in self.headers.items()})
            host.paths.append(self.path)
            if host.hang_s:
                time.sleep(host.hang_s)
            if host.redirect_to is not None:
                self._answer(302, b"", {"Location": host.redirect_to})
            elif host.status != 200:
                self._answer(host.status, b"failing", {})
            elif self.headers.get("If-None-Match") == host.etag:
                self._answer(304, b"", {"ETag": host.etag})
            else:
                self._answer(200, host.document, {"ETag": host.etag})

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            host.statuses.append(status)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.url = f"http://127.0.0.1:{server.server_address[1]}/calendar.ics"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.hang_s = 0.0
        server.shutdown()
        server.server_close()

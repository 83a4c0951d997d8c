"""A real loopback HTTP proxy in front of a CalDAV server that counts what a client asks:
each request's method, path, body, and the bytes of its answer. The syncer is pointed at
the proxy's address (same paths), so a test counts the requests and bytes a sync makes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    body: bytes
    status: int
    answer: bytes


@dataclass
class Proxy:
    url: str = ""  # the collection's address through the proxy
    seen: list[Exchange] = field(default_factory=list)

    def take(self) -> list[Exchange]:
        """The exchanges since the last take."""
        taken, self.seen[:] = list(self.seen), []
        return taken


@contextmanager
def counting(upstream: str) -> Iterator[Proxy]:
    """A proxy of the server of the collection at `upstream`."""
    parts = urlsplit(upstream)
    origin = f"{parts.scheme}://{parts.netloc}"
    proxy = Proxy()
    client = httpx.Client(timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
            answer = client.request(self.command, origin + self.path, content=body, headers=headers)
            proxy.seen.append(
                Exchange(self.command, self.path, body, answer.status_code, answer.content)
            )
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in _HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_PUT = do_DELETE = do_REPORT = do_PROPFIND = do_OPTIONS = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}{parts.path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        client.close()

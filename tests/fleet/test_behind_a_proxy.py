"""A node behind a reverse proxy on the same machine, with its defaults: the proxy's
X-Forwarded-For is believed (SLOTBLOCK_FORWARDED_ALLOW_IPS defaults to 127.0.0.1), so one
client flooding it with bad tokens is refused (429) while another client, coming through the
same proxy, is not.

The proxy is a small HTTP forwarder on 127.0.0.1 that overwrites X-Forwarded-For with its
client's address; the two clients connect to it from 127.0.0.2 and 127.0.0.3."""

from __future__ import annotations

import http.client
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.fleet.servers import SLOTBLOCK, node_env, start_node, stop
from tests.live import free_port, wait_ready

pytestmark = pytest.mark.slow

FAILURE_LIMIT = 20  # SLOTBLOCK_AUTH_FAILURE_LIMIT's default
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "x-forwarded-for"}


@contextmanager
def reverse_proxy(upstream_port: int) -> Iterator[int]:
    """Forward GETs to 127.0.0.1:upstream_port, naming the client in X-Forwarded-For."""

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=10)
            try:
                upstream.request("GET", self.path, headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                upstream.close()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_failed_authentications_count_per_client_behind_a_local_proxy(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'proxy.db'}"
    env = node_env(database_url=database, log_format="json", access_log="false")
    token = subprocess.run(
        [*SLOTBLOCK, "demo"], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    port = free_port()
    node = start_node(port, env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", node)
        with reverse_proxy(port) as proxy_port, client_from("127.0.0.2") as flood:
            base = f"http://127.0.0.1:{proxy_port}"
            wrong = {"Authorization": "Bearer pit-wrong", "Version": "2021-07-28"}
            statuses = [
                flood.get(f"{base}/calendars/groups", headers=wrong).status_code
                for _ in range(FAILURE_LIMIT + 2)
            ]
            with client_from("127.0.0.3") as other:
                good = other.get(
                    f"{base}/calendars/groups",
                    params={"locationId": "0007BWpSzSwfiuSl0tR2"},
                    headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
                )
    finally:
        stop(node)
    assert statuses[-1] == 429, statuses
    assert good.status_code == 200, good.text

"""A capturing webhook receiver for tests: a local HTTP server that checks every delivery's
signature and lets a test wait for the next N deliveries.

    hooks = slotblock.webhooks.receiver()      # listening, and subscribed
    ...                                        # writes through the API
    [created] = hooks.wait(1, timeout=10)      # the next delivery, its signature checked
    assert created.type == "BlockedSlotCreate"

Signatures (Ed25519, base64, `x-ghl-signature`) are checked with the official Python SDK's
own verification (`WebhookManager.verify_ed25519_signature` of `gohighlevel-api-client`)
when it is installed, else with `cryptography` (`verified_by` says which). A delivery whose
signature does not verify is answered 401 (the server dead-letters it) and makes the next
`wait` fail. Deliveries are answered 200, or as `answer(status, times)` asks.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

SIGNATURE_HEADER = "x-ghl-signature"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a delivery is one event: far below this
Verify = Callable[[bytes, str], bool]


@dataclass(frozen=True)
class Delivery:
    """One delivery as the receiver got it, its signature verified."""

    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def type(self) -> str:
        return str(self.json["type"])

    @property
    def webhook_id(self) -> str:
        """The delivery's id (the same at every retry: deduplicate on it)."""
        return str(self.json["webhookId"])

    @property
    def signature(self) -> str:
        return self.headers[SIGNATURE_HEADER]


def sdk_verifier(public_pem: str) -> Verify | None:
    """The official Python SDK's verification, when the SDK is installed."""
    try:
        from highlevel.logging import Logger  # noqa: PLC0415 - optional
        from highlevel.storage.memory_session_storage import (  # noqa: PLC0415
            MemorySessionStorage,
        )
        from highlevel.webhook.webhook_manager import WebhookManager  # noqa: PLC0415
    except ImportError:
        return None
    manager = WebhookManager(Logger("error"), MemorySessionStorage(), None)

    def verify(body: bytes, signature: str) -> bool:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return False
        return bool(manager.verify_ed25519_signature(text, signature, public_pem))

    return verify


def key_verifier(public_pem: str) -> Verify:
    key = load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the webhook public key is not an Ed25519 key")

    def verify(body: bytes, signature: str) -> bool:
        try:
            key.verify(base64.b64decode(signature, validate=True), body)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify


@dataclass
class _Log:
    """What the receiver got, shared with its handler threads."""

    received: list[Delivery] = field(default_factory=list)
    rejected: list[Delivery] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses for the next deliveries
    changed: threading.Condition = field(default_factory=threading.Condition)


class WebhookReceiver:
    """A local receiver of webhook deliveries (see the module's docstring)."""

    def __init__(self, public_pem: str, host: str = "127.0.0.1") -> None:
        sdk = sdk_verifier(public_pem)
        self.verified_by = "gohighlevel-api-client" if sdk else "cryptography"
        self._verify = sdk or key_verifier(public_pem)
        self._log = _Log()
        self._seen = 0  # deliveries handed out by wait()
        self._server = ThreadingHTTPServer((host, 0), _handler(self._verify, self._log))
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}/hook"
        self.subscription_id = ""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slotblock-webhook-receiver", daemon=True
        )
        self._thread.start()

    @property
    def received(self) -> list[Delivery]:
        """Every delivery answered 2xx so far, in the order they came."""
        with self._log.changed:
            return list(self._log.received)

    def answer(self, status: int, times: int = 1) -> None:
        """Answer the next `times` deliveries with `status` (e.g. 503: the server retries
        them; 400: it dead-letters them)."""
        with self._log.changed:
            self._log.answers.extend([status] * times)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        """The next `count` deliveries (after those earlier waits returned), waiting up
        to `timeout` seconds for them; AssertionError if they do not all come in time, or
        if a delivery's signature did not verify."""
        deadline = time.monotonic() + timeout
        wanted = self._seen + count
        with self._log.changed:
            while len(self._log.received) < wanted and not self._log.rejected:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._log.changed.wait(left)
            self._check(count, wanted, timeout)
            found = self._log.received[self._seen : wanted]
        self._seen = wanted
        return found

    def _check(self, count: int, wanted: int, timeout: float) -> None:
        if self._log.rejected:
            bad = self._log.rejected[0]
            raise AssertionError(
                f"a webhook delivery's signature did not verify ({self.verified_by}): "
                f"{SIGNATURE_HEADER}={bad.headers.get(SIGNATURE_HEADER)!r}, "
                f"body {bad.body[:200]!r}"
            )
        got = len(self._log.received) - self._seen
        if got < count:
            types = [d.type for d in self._log.received[self._seen :]]
            raise AssertionError(
                f"{got} of the {count} webhook deliveries awaited came within {timeout} s "
                f"({types}); GET /_admin/webhooks/deliveries shows what was sent and why"
            )
        assert len(self._log.received) >= wanted

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(verify: Verify, log: _Log) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if not 0 <= length <= MAX_BODY_BYTES:
                self._answer(413)
                return
            delivery = Delivery(
                self.rfile.read(length), {k.lower(): v for k, v in self.headers.items()}
            )
            signature = delivery.headers.get(SIGNATURE_HEADER, "")
            with log.changed:
                if not verify(delivery.body, signature):
                    log.rejected.append(delivery)
                    status = 401
                else:
                    status = log.answers.pop(0) if log.answers else 200
                    if 200 <= status < 300:
                        log.received.append(delivery)
                log.changed.notify_all()
            self._answer(status)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler

"""A small client of the admin API (standard library only), and what the pytest fixtures
hand to a test: the server, and the state loaded for the test."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import urlencode

if TYPE_CHECKING:
    from slotblock.testing.webhook_receiver import WebhookReceiver


class FaultOptions(TypedDict, total=False):
    """The keywords of `AdminClient.fault`: what the rule does (defaults in `_FAULT_DEFAULTS`),
    then which requests it matches (unset: any)."""

    status: int | None
    latency_ms: int
    drop: bool
    times: int | None
    probability: float | None
    seed: int | None
    retry_after: int
    method: str | None
    path: str | None
    operation_id: str | None
    location_id: str | None
    token_id: str | None


_FAULT_DEFAULTS: dict[str, Any] = {
    "status": None,
    "latency_ms": 0,
    "drop": False,
    "times": None,
    "probability": None,
    "seed": None,
    "retry_after": 10,
}
_FAULT_MATCHES = ("method", "path", "operation_id", "location_id", "token_id")


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


class AdminError(RuntimeError):
    """The admin API refused a call; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"slotblock admin API answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class AdminClient:
    url: str
    admin_token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.admin_token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AdminError(exc.code, json.loads(exc.read() or b"null")) from None

    def reset(self, location_id: str | None = None) -> None:
        self.call("POST", "/_admin/reset", {"locationId": location_id} if location_id else None)

    def load(self, document: dict[str, Any]) -> dict[str, Any]:
        loaded: dict[str, Any] = self.call("POST", "/_admin/fixtures", document)["loaded"]
        return loaded

    def export(self, location_id: str | None = None) -> dict[str, Any]:
        query = f"?locationId={location_id}" if location_id else ""
        document: dict[str, Any] = self.call("GET", f"/_admin/fixtures{query}")
        return document

    def requests(self, limit: int = 100) -> list[dict[str, Any]]:
        """The last requests the server answered, newest first."""
        found: list[dict[str, Any]] = self.call("GET", f"/_admin/requests?limit={limit}")[
            "requests"
        ]
        return found

    def fault(self, **rule: Unpack[FaultOptions]) -> dict[str, Any]:
        """Add a fault rule (see POST /_admin/faults; `FaultOptions` names the keywords and
        their defaults); returns it, with its id."""
        unknown = sorted(set(rule) - FaultOptions.__optional_keys__)
        if unknown:
            raise TypeError(f"fault() got unexpected keyword arguments: {', '.join(unknown)}")
        given: dict[str, Any] = {**_FAULT_DEFAULTS, **rule}
        body = {_camel(name): given[name] for name in _FAULT_DEFAULTS}
        body["match"] = {
            _camel(name): given[name] for name in _FAULT_MATCHES if given.get(name) is not None
        }
        found: dict[str, Any] = self.call("POST", "/_admin/faults", body)
        return found

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules, with their hit counts."""
        found: list[dict[str, Any]] = self.call("GET", "/_admin/faults")["faults"]
        return found

    def clear_faults(self) -> None:
        self.call("DELETE", "/_admin/faults")

    @property
    def clock(self) -> ServerClock:
        """The server's clock: `clock.set(...)`, `.advance(...)`, `.freeze()`, …"""
        return ServerClock(self)


Instant = int | str | datetime
Duration = int | str | timedelta


@dataclass(frozen=True)
class ServerClock:
    """The service's "now", for every worker and node of the server's database (POST,
    GET and DELETE /_admin/clock). Each call answers the clock as the server then shows it:
    `now` (epoch ms), `nowIso`, `controlled`, `frozen`, `offsetMs`."""

    admin: AdminClient

    def get(self) -> dict[str, Any]:
        shown: dict[str, Any] = self.admin.call("GET", "/_admin/clock")
        return shown

    def set(self, when: Instant, *, freeze: bool | None = None) -> dict[str, Any]:
        """Set the time: epoch ms, ISO 8601 with an offset, or an aware datetime. It ticks
        on from there unless frozen (`freeze=True`); unchanged when `freeze` is not given."""
        return self._change(now=_instant(when), freeze=freeze)

    def advance(self, amount: Duration) -> dict[str, Any]:
        """Move the time forward: ms, a duration (`90s`, `2h`, `7d`, `PT2H`) or a timedelta."""
        return self._change(advance=_duration(amount))

    def freeze(self) -> dict[str, Any]:
        return self._change(freeze=True)

    def unfreeze(self) -> dict[str, Any]:
        return self._change(freeze=False)

    def real(self) -> dict[str, Any]:
        """Back to real time."""
        shown: dict[str, Any] = self.admin.call("DELETE", "/_admin/clock")
        return shown

    def _change(self, **body: Any) -> dict[str, Any]:
        given = {k: v for k, v in body.items() if v is not None}
        shown: dict[str, Any] = self.admin.call("POST", "/_admin/clock", given)
        return shown


def _instant(when: Instant) -> int | str:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("the clock takes an aware datetime (with tzinfo)")
        return when.isoformat()
    return when


def _duration(amount: Duration) -> int | str:
    if isinstance(amount, timedelta):
        return amount // timedelta(milliseconds=1)
    return amount


@dataclass(frozen=True)
class ServerWebhooks:
    """Webhooks under test: capturing receivers, what the server sent, test events and
    redeliveries (/_admin/webhooks…)."""

    admin: AdminClient
    public_key: str  # PEM: the server signs deliveries with its private twin
    location_id: str | None
    receivers: list[WebhookReceiver]

    def receiver(
        self, location_id: str | None = None, events: list[str] | None = None
    ) -> WebhookReceiver:
        """Start a local receiver and subscribe it to a location's events (the fixture's
        first location, every event by default); it is stopped at the end of the test."""
        from slotblock.testing.webhook_receiver import WebhookReceiver  # noqa: PLC0415

        location = location_id or self.location_id
        if location is None:
            raise ValueError("receiver() needs a location_id: the fixture has no location")
        receiver = WebhookReceiver(self.public_key)
        self.receivers.append(receiver)
        body = {"locationId": location, "url": receiver.url, "events": events or []}
        receiver.subscription_id = self.admin.call("POST", "/_admin/webhooks", body)["id"]
        return receiver

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """What the server sent, newest first (GET /_admin/webhooks/deliveries): filters
        `subscription_id`, `type`, `location_id`, `state`, `before`, `limit`."""
        query = urlencode({_camel(k): v for k, v in filters.items() if v is not None})
        found: list[dict[str, Any]] = self.admin.call(
            "GET", f"/_admin/webhooks/deliveries?{query}"
        )["deliveries"]
        return found

    def dead_letters(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin.call("GET", "/_admin/webhooks/dead-letters")[
            "deliveries"
        ]
        return found

    def test(self, subscription_id: str) -> dict[str, Any]:
        """Queue a signed `WebhookTest` event for the subscription; the delivery."""
        sent: dict[str, Any] = self.admin.call("POST", f"/_admin/webhooks/{subscription_id}/test")
        return sent

    def redeliver(self, delivery_id: int) -> dict[str, Any]:
        """Send a dead-lettered (or delivered) delivery again; the delivery."""
        path = f"/_admin/webhooks/deliveries/{delivery_id}/redeliver"
        again: dict[str, Any] = self.admin.call("POST", path)
        return again

    def close(self) -> None:
        while self.receivers:
            self.receivers.pop().close()


@dataclass(frozen=True)
class SlotblockServer(AdminClient):
    """The live server of the session: its base URL, admin token and database, and the
    public key of the webhook signatures."""

    database_url: str = ""
    webhook_public_key: str = ""


@dataclass(frozen=True)
class Slotblock(AdminClient):
    """The state of one test: the loaded fixture document, its tokens and ids."""

    document: dict[str, Any] = field(default_factory=dict)
    webhook_public_key: str = ""
    _receivers: list[WebhookReceiver] = field(default_factory=list, repr=False)

    @property
    def webhooks(self) -> ServerWebhooks:
        """`webhooks.receiver()`, `.deliveries(...)`, `.test(id)`, `.redeliver(id)`, …"""
        first = self.location_id if self.locations else None
        return ServerWebhooks(self, self.webhook_public_key, first, self._receivers)

    @property
    def locations(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.document.get("locations", [])
        return found

    @property
    def location_id(self) -> str:
        """The first location of the fixture."""
        return str(self.locations[0]["id"])

    @property
    def tokens(self) -> dict[str, str]:
        """Token values of the fixture by token id (and by name, when it has one)."""
        found: dict[str, str] = {}
        for location in self.locations:
            for token in location.get("tokens", []):
                if "token" in token:
                    found.update(
                        {k: token["token"] for k in (token.get("name"), token.get("id")) if k}
                    )
        return found

    @property
    def token(self) -> str:
        """The first token of the fixture."""
        return next(iter(self.tokens.values()))

    def ids(self, kind: str) -> list[str]:
        """The ids of the fixture's `users`, `groups`, `calendars`, `blocks` or `tokens`."""
        return [
            str(item["id"])
            for location in self.locations
            for item in location.get(kind, [])
            if "id" in item
        ]

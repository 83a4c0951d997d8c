"""Webhook subscriptions (per location) and the Ed25519 signature of deliveries.

Subscriptions are managed by the operator (admin API, CLI) for any location, or by a
location's own token with the write scope (`/calendars/webhooks`). Every way checks the URL
with the outbound policy (service/outbound.py: a public http(s) destination, 400/422
otherwise) and holds a location to `webhook_max_per_location` subscriptions (422). Deliveries
are signed as the platform signs its own: Ed25519 over the raw body, base64 in
`x-ghl-signature`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from slotblock.config import Settings
from slotblock.core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from slotblock.core.model import EVENTS_WRITE, Principal
from slotblock.core.tokens import new_id
from slotblock.service.auth import check_location, require_scope
from slotblock.service.outbound import OutboundPolicy
from slotblock.service.webhook_events import EVENT_TYPES, TEST, test_record
from slotblock.store import Store
from slotblock.store import webhooks as webhook_store
from slotblock.store.webhooks import DEAD, Attempt, Delivery, DeliveryFilter, Webhook

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryFilter",
    "KeyPair",
    "Sent",
    "Signer",
    "Webhook",
    "WebhookService",
    "new_key_pair",
    "public_pem",
]

SIGNATURE_HEADER = "x-ghl-signature"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    public_base64: str  # the raw 32-byte key, as the platform's docs give theirs


def new_key_pair() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        base64.b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode(),
    )


def public_pem(private_pem: str) -> str:
    """The public key (PEM) of an Ed25519 private key (PEM)."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("webhook_signing_key must be an Ed25519 private key (PEM)")
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Signer:
    """Signs raw bodies with the operator's key (no key: bodies go unsigned)."""

    def __init__(self, private_pem: str | None) -> None:
        self.key: Ed25519PrivateKey | None = None
        if private_pem:
            loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError("webhook_signing_key must be an Ed25519 private key (PEM)")
            self.key = loaded

    def headers(self, body: bytes) -> dict[str, str]:
        if self.key is None:
            return {}
        return {SIGNATURE_HEADER: base64.b64encode(self.key.sign(body)).decode()}


@dataclass(frozen=True)
class Sent:
    """A delivery with its kept attempts, oldest first."""

    delivery: Delivery
    attempts: list[Attempt]


def _checked(
    policy: OutboundPolicy, url: str, events: Sequence[str]
) -> tuple[str, tuple[str, ...]]:
    """The URL and the event types wanted; 400 with every problem of the request's form,
    422 for a destination the outbound policy refuses."""
    problems = []
    if set(events) - set(EVENT_TYPES):
        problems.append(f"events must be among {', '.join(EVENT_TYPES)}")
    try:
        policy.check_url(url)
    except InvalidInput as exc:
        problems.extend(exc.messages)
    if problems:
        raise InvalidInput(*problems)
    return url, tuple(dict.fromkeys(events or EVENT_TYPES))


class WebhookService:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock
        self.policy = OutboundPolicy.from_settings(settings)
        self.max_per_location = settings.webhook_max_per_location

    async def add(self, location_id: str, url: str, events: Sequence[str] = ()) -> Webhook:
        """Subscribe `url` to the location's block events (all of them by default)."""
        url, wanted = _checked(self.policy, url, events)
        hook = Webhook(
            location_id=location_id, id=new_id(), url=url, events=wanted, created_ms=self.clock()
        )
        async with self.store.begin() as conn:
            held = await webhook_store.hold_location(conn, location_id)
            if held is None:
                raise NotFound(f"location {location_id} not found")
            if held >= self.max_per_location:
                raise Unprocessable(
                    f"a location may hold at most {self.max_per_location} webhook "
                    "subscriptions; remove one first"
                )
            await webhook_store.insert_webhook(conn, hook)
        return hook

    async def list_all(self, location_id: str | None = None) -> list[Webhook]:
        async with self.store.read() as conn:
            return await webhook_store.list_webhooks(conn, location_id)

    async def remove(self, webhook_id: str, location_id: str | None = None) -> None:
        async with self.store.begin() as conn:
            if not await webhook_store.delete_webhook(conn, webhook_id, location_id):
                raise NotFound(f"webhook {webhook_id} not found")

    async def dead_letters(
        self, location_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        wanted = DeliveryFilter(state=DEAD, location_id=location_id, limit=limit)
        async with self.store.read() as conn:
            return await webhook_store.list_deliveries(conn, wanted)

    async def deliveries(self, wanted: DeliveryFilter) -> list[Sent]:
        """The deliveries `wanted` names, newest first, with their kept attempts; 404 for
        a subscription that does not exist (or not in the location named)."""
        async with self.store.read() as conn:
            if wanted.subscription_id is not None:
                located = await webhook_store.subscription_location(conn, wanted.subscription_id)
                if located is None or wanted.location_id not in (None, located):
                    raise NotFound(f"webhook {wanted.subscription_id} not found")
                wanted = replace(wanted, location_id=located)
            found = await webhook_store.list_deliveries(conn, wanted)
            attempts = await webhook_store.attempts_of(conn, found)
        return [Sent(d, attempts[d.id]) for d in found]

    async def send_test(self, subscription_id: str) -> Delivery:
        """Queue a test event for one subscription (signed and sent as any delivery)."""
        async with self.store.begin() as conn:
            hook = await webhook_store.find_webhook(conn, subscription_id)
            if hook is None:
                raise NotFound(f"webhook {subscription_id} not found")
            record = test_record(hook.location_id, self.clock())
            return await webhook_store.enqueue_one(conn, hook, TEST, record, self.clock())

    async def redeliver(self, delivery_id: int) -> Delivery:
        """Send a finished delivery (dead-lettered, or delivered) again, as it was sent: the
        same body and `webhookId`, retried as a new one is; 409 while it is pending."""
        async with self.store.begin() as conn:
            found = await webhook_store.deliveries(conn, [delivery_id])
            if not found:  # none, or its subscription is gone
                raise NotFound(f"delivery {delivery_id} not found")
            if await webhook_store.redeliver(conn, delivery_id, self.clock()):
                return (await webhook_store.deliveries(conn, [delivery_id]))[0]
        raise Conflict(f"delivery {delivery_id} is pending: it is being sent")

    async def waiting(self) -> dict[str, int]:
        """Deliveries pending and dead-lettered, for the metrics."""
        async with self.store.read() as conn:
            return await webhook_store.count_waiting(conn)

    # --- a location's own token ----------------------------------------------------------

    async def add_own(
        self, principal: Principal, location_id: str, url: str, events: Sequence[str]
    ) -> Webhook:
        require_scope(principal, EVENTS_WRITE)
        check_location(principal, location_id)
        return await self.add(location_id, url, events)

    async def list_own(self, principal: Principal, location_id: str) -> list[Webhook]:
        require_scope(principal, EVENTS_WRITE)
        check_location(principal, location_id)
        return await self.list_all(location_id)

    async def remove_own(self, principal: Principal, webhook_id: str) -> None:
        require_scope(principal, EVENTS_WRITE)
        try:
            await self.remove(webhook_id, principal.location.id)
        except NotFound as exc:
            raise NotFound("Webhook not found") from exc

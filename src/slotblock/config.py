"""The one typed settings object, read once (SLOTBLOCK_ environment prefix) and passed in."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from slotblock.core.addresses import parse_networks

DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'slotblock.db'}"


class Settings(BaseSettings):
    """Everything an operator can tune. Each field is also `SLOTBLOCK_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="SLOTBLOCK_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path or postgresql://user@host/db; the async driver is chosen.",
    )
    max_window_days: int = Field(366, ge=1, description="Longest query window, in days.")
    max_events: int = Field(10_000, ge=1, description="Most events one query may return.")
    max_count: int = Field(1_000, ge=1, description="Largest COUNT a recurring block may have.")
    pool_size: int = Field(
        10,
        ge=1,
        description="Size of each PostgreSQL pool of a process: SQLAlchemy's (plus as many in "
        "overflow) and the direct reads' (3 × this connections at most).",
    )
    token_cache_seconds: float = Field(
        5.0, ge=0, description="How long a node trusts a token it has checked (0: never)."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body (413).")
    max_header_bytes: int = Field(16_384, ge=1024, description="Largest request headers (431).")
    max_slot_window_days: int = Field(
        31, ge=1, description="Longest free-slots window (get-slots), in days; the platform's 31."
    )
    max_slot_members: int = Field(
        100, ge=1, description="Most team members one free-slots answer checks (422 past it)."
    )
    max_slot_ranges: int = Field(
        48,
        ge=1,
        description="Most opening ranges a calendar's day may hold for free slots, identical "
        "and overlapping ranges merged (422 past it).",
    )
    max_slot_custom_dates: int = Field(
        1_000,
        ge=1,
        description="Most custom dates (availabilities) a calendar may hold for free slots "
        "(422 past it).",
    )
    max_slots: int = Field(
        20_000,
        ge=1,
        description="Most candidate slot starts one free-slots answer checks (422 past it).",
    )
    max_free_busy_targets: int = Field(
        100, ge=1, description="Most calendars, users and groups one free/busy call asks."
    )
    cpu_threads: int = Field(
        1,
        ge=1,
        description="Worker threads that run CPU work (expansion, rule checks, free slots, "
        "large answers) at once; more take the event loop's turns at the interpreter lock.",
    )

    # --- the admin control plane (/_admin/) ---------------------------------------------
    admin_token: str | None = Field(
        None,
        min_length=16,
        description="Token of the admin API; off (every /_admin/ path 404) when neither this "
        "nor a `slotblock admin-token` is set.",
    )
    request_log_size: int = Field(
        500, ge=0, description="Requests kept for GET /_admin/requests (0: none)."
    )
    request_log_body_bytes: int = Field(
        4096, ge=0, description="Bytes of each request body kept in the request log."
    )

    # --- running as a fleet: rate limits, shared counters, logs, metrics ---------------------
    rate_limit_burst: int = Field(
        100, ge=0, description="Requests per token and location per interval (0: no limit)."
    )
    rate_limit_interval_seconds: int = Field(
        10, ge=1, description="Length of the burst interval, in seconds."
    )
    rate_limit_daily: int = Field(
        200_000, ge=0, description="Requests per token and location per UTC day (0: no limit)."
    )
    auth_failure_limit: int = Field(
        20, ge=0, description="Failed authentications per client address per interval (0: off)."
    )
    redis_url: str | None = Field(
        None, description="redis://host:port/db: rate-limit counters shared by every node."
    )
    access_log: bool = Field(True, description="One line per request on stderr.")
    log_format: Literal["auto", "text", "json"] = Field(
        "auto", description="auto: text on a terminal, JSON lines otherwise."
    )
    metrics: Literal["open", "off", "token"] = Field(
        "open", description="GET /metrics: open, off (404), or token (needs metrics_token)."
    )
    metrics_token: str | None = Field(
        None, description="The bearer token /metrics asks for when metrics=token."
    )
    redis_key_prefix: str = Field(
        "slotblock:", description="Prefix of every Redis key slotblock writes."
    )

    # --- hardening: work, size and time limits ---------------------------------------------
    rule_work: int = Field(
        50_000,
        ge=100,
        description="Recurrence work units (≈ µs) a written rule may take to reach its first "
        "two occurrences and its COUNT; past it the write is refused (422).",
    )
    query_work: int = Field(
        200_000,
        ge=100,
        description="Recurrence work units one query may spend expanding series (422 past it).",
    )
    max_exceptions: int = Field(
        500, ge=1, description="Most EXDATEs plus changed instances one series may hold (422)."
    )
    max_response_bytes: int = Field(
        8_388_608, ge=65_536, description="Largest query answer, in bytes (422: a shorter window)."
    )
    write_deadline_seconds: float = Field(
        5.0, gt=0, description="How long a write to a busy series keeps retrying before 409."
    )
    retry_after_seconds: int = Field(
        5, ge=1, description="Retry-After of the 503 answered while the database is unreachable."
    )
    database_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="Longest wait for a new PostgreSQL connection (503 past it)."
    )
    database_statement_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest wait for one statement's answer (PostgreSQL), or for a lock "
        "(SQLite's busy timeout, and this process's write lock); 503 past it.",
    )
    database_pool_timeout_seconds: float = Field(
        5.0, gt=0, description="Longest wait for a free pooled connection (503 past it)."
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a client has to send a request's headers."
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for the next part of a request body (408)."
    )
    body_deadline_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest time a request body may take to arrive in full, however it "
        "trickles (408).",
    )
    keep_alive_seconds: float = Field(5.0, gt=0, description="Idle keep-alive connection timeout.")
    max_connections: int = Field(
        512, ge=1, description="Concurrent connections and requests per process (503 past it)."
    )
    max_connections_per_client: int = Field(
        64,
        ge=0,
        description="Open connections per client address (an IPv6 /64) per process; past it "
        "a new connection is answered 429 and closed. Trusted proxies are exempt (0: off).",
    )
    worker_healthcheck_seconds: int = Field(
        30,
        ge=1,
        description="`serve --workers N`: how long a worker may take to answer its supervisor "
        "(starting included) before it is replaced.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-* headers "
        "are trusted (default: a proxy on this machine; empty: none; *: any).",
    )

    # --- OAuth, as marketplace apps use it ---------------------------------------------
    oauth_access_token_seconds: int = Field(
        86_399,
        ge=1,
        le=366 * 86_400,
        description="Lifetime of an OAuth access token, by the service's clock (the "
        "platform's: a day).",
    )
    oauth_live_tokens: int = Field(
        10,
        ge=1,
        le=1000,
        description="Most live authorization codes, and most live access and refresh tokens, "
        "per installation of an app (older ones are deleted as new ones are issued).",
    )

    # --- changes flowing out: ETags, idempotent creates, sync tokens, webhooks -----------
    idempotency_hours: float = Field(
        24, gt=0, description="How long an Idempotency-Key's first answer is kept and replayed."
    )
    sync_page_size: int = Field(
        250, ge=1, le=10_000, description="Most blocks in one page of the changes feed."
    )
    sync_page_bytes: int = Field(
        1_048_576,
        ge=4096,
        description="Most bytes of blocks in one page of the changes feed (a page always "
        "holds its first block, whatever its size).",
    )
    sync_token_key: str | None = Field(
        None,
        min_length=16,
        description="Key (16 characters or more) of the HMAC that authenticates sync and page "
        "tokens; every node must have the same. Unset: a key the server makes and keeps in "
        "the database.",
    )
    sync_retention_days: float = Field(
        7,
        gt=0,
        description="Tombstone retention: a sync token older than this is 410 Gone.",
    )
    webhook_signing_key: str | None = Field(
        None,
        description="Ed25519 private key (PEM, PKCS#8) that signs webhook bodies "
        "(x-ghl-signature); `slotblock webhook keygen` prints a pair. Unset: unsigned.",
    )
    webhook_dispatch: bool = Field(
        True, description="Run the webhook dispatcher inside `serve` (one per process)."
    )
    webhook_timeout_seconds: float = Field(
        10, gt=0, description="Timeout of one webhook delivery attempt."
    )
    webhook_retry_base_seconds: float = Field(
        2, gt=0, description="First retry delay of a failed delivery; doubled each attempt."
    )
    webhook_retry_max_seconds: float = Field(
        600, gt=0, description="Longest delay between two delivery attempts."
    )
    webhook_retry_horizon_seconds: float = Field(
        86_400,
        gt=0,
        description="How long a delivery is retried before it is dead-lettered.",
    )
    webhook_poll_seconds: float = Field(
        1, gt=0, description="How often the dispatcher looks for due deliveries."
    )
    webhook_batch: int = Field(50, ge=1, description="Deliveries a dispatcher claims at once.")
    webhook_max_per_location: int = Field(
        50, ge=1, description="Most webhook subscriptions one location may hold (422 past it)."
    )
    feed_past_days: int = Field(
        90,
        ge=0,
        description="iCalendar feeds leave out one-off blocks (and series) that ended more "
        "than this many days ago.",
    )
    feed_refresh_minutes: int = Field(
        60,
        ge=1,
        le=10080,
        description="How often a feed asks calendar apps to poll it (REFRESH-INTERVAL, "
        "X-PUBLISHED-TTL).",
    )
    feed_max_per_location: int = Field(
        200, ge=1, description="Most live iCalendar feeds one location may hold (422 past it)."
    )
    feed_cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Bytes of feed documents kept per process, each served only while the "
        "database's data version is the one it was written at (0: off).",
    )
    webhook_answer_bytes: int = Field(
        4096,
        ge=0,
        description="Bytes of a receiver's answer the dispatcher reads; it closes the "
        "connection instead of reading more.",
    )
    webhook_delivered_retention_days: float = Field(
        1, gt=0, description="How long a delivered outbox row is kept before it is deleted."
    )
    webhook_dead_retention_days: float = Field(
        7,
        gt=0,
        description="How long a dead-lettered delivery is kept (listed in "
        "/_admin/webhooks/dead-letters) before it is deleted.",
    )
    webhook_attempts_kept: int = Field(
        10,
        ge=0,
        description="Attempts of each delivery kept for /_admin/webhooks/deliveries (the "
        "last ones; 0: none). They are deleted with their delivery.",
    )
    webhook_prune_batch: int = Field(
        1000, ge=1, description="Outbox rows deleted per transaction when old rows are pruned."
    )
    connection_key: str | None = Field(
        None,
        min_length=16,
        description="Key (16 characters or more) that seals the passwords and tokens of "
        "connected calendars in the database; every node must have the same. Unset: "
        "connections with credentials are refused (422).",
    )
    connection_sync: bool = Field(
        True, description="Run the connected calendars' syncer inside `serve` (one per process)."
    )
    connection_sync_seconds: float = Field(
        300, gt=0, description="How often each connected calendar is synced."
    )
    connection_timeout_seconds: float = Field(
        10, gt=0, description="Timeout of one request to a connected calendar (all of it)."
    )
    connection_max_bytes: int = Field(
        5_242_880, ge=1024, description="Largest calendar document a sync reads (bytes)."
    )
    connection_max_events: int = Field(
        5_000, ge=1, description="Most events one connected calendar may hold."
    )
    connection_retry_max_seconds: float = Field(
        3600, gt=0, description="Longest delay before a failing connection is tried again."
    )
    connection_max_per_location: int = Field(
        50, ge=1, description="Most connected calendars one location may hold (422 past it)."
    )
    outbound_allow_networks: str = Field(
        "",
        description="Comma-separated networks (CIDR) that outbound calls (webhook deliveries) "
        "may reach although they are loopback, private, link-local, unique-local… (empty: "
        "only public addresses); e.g. 127.0.0.0/8 for a receiver on this machine.",
    )

    @field_validator("outbound_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # ValueError, told as SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS=…: why
        return value

    # --- the query hot path: caches (each bounded in bytes; 0 turns one off) --------------
    expansion_cache_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        description="Bytes of series instances kept per process, per (series version, week).",
    )
    fragment_cache_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        description="Bytes of encoded events (JSON, per event version and zone) kept per process.",
    )
    direct_reads: bool = Field(
        True,
        description="Run the query's window statement on the driver itself (sqlite3, asyncpg "
        "prepared statements) instead of through SQLAlchemy's pool.",
    )
    answer_cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Bytes of encoded query answers kept per process, each served only while "
        "the database's data version is the one it was computed at (0: off).",
    )
    lean_query_route: bool = Field(
        True,
        description="Answer the usual GET /calendars/blocked-slots before FastAPI's router "
        "(same answers; off: every request through the framework).",
    )
    lean_create_route: bool = Field(
        True,
        description="Answer the usual POST /calendars/events/block-slots (a JSON body the "
        "model accepts, no Idempotency-Key) before FastAPI's router (same answers; off: every "
        "create through the framework).",
    )
    parsed_query_cache_bytes: int = Field(
        1024 * 1024,
        ge=0,
        description="Bytes of parsed and validated blocked-slots queries kept per process, by "
        "their raw query string, refused ones too (with the lean query route; 0: off).",
    )
    web_ui: bool = Field(
        True,
        description="Serve the web week view at /ui/ (off: /ui/ answers 404).",
    )
    block_cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Bytes of blocks kept per process, built once per stored version from the "
        "rows the window query returns (0: off).",
    )

    # --- checked when read, so that `serve` refuses them before it listens ---------------
    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            _ = parts.port  # ValueError when it is not a number
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if parts.scheme not in ("redis", "rediss", "unix"):
            scheme = parts.scheme or "none"
            raise ValueError(f"the scheme must be redis://, rediss:// or unix:// (not {scheme!r})")
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("unix:// needs a socket path, e.g. unix:///run/redis.sock")
            return value
        if not parts.hostname:
            raise ValueError("no host, e.g. redis://localhost:6379/0")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"the database after the port must be a number (not {database!r})")
        return value

    @field_validator("webhook_signing_key")
    @classmethod
    def _webhook_signing_key(cls, value: str | None) -> str | None:
        if not value:
            return value
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - rarely set
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PrivateKey,
        )

        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError) as exc:
            cause = str(exc).split(". ")[0].rstrip(".")
            raise ValueError(
                f"not an unencrypted PEM private key ({cause}); "
                "`slotblock webhook keygen` prints one"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(
                f"an Ed25519 key is needed, not {type(key).__name__.removeprefix('_')}; "
                "`slotblock webhook keygen` prints one"
            )
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if not item or item == "*" or item.startswith("unix:"):
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, *)"
                ) from None
        return value


# Settings whose values are never printed (an error shows *** instead).
SECRETS = frozenset(
    {"admin_token", "metrics_token", "webhook_signing_key", "sync_token_key", "connection_key"}
)

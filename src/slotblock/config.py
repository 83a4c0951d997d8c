"""The one typed settings object, read once (SLOTBLOCK_ environment prefix) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    pool_size: int = Field(10, ge=1, description="Database connections per process.")
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
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a client has to send a request's headers."
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for the next part of a request body (408)."
    )
    keep_alive_seconds: float = Field(5.0, gt=0, description="Idle keep-alive connection timeout.")
    max_connections: int = Field(
        512, ge=1, description="Concurrent connections and requests per process (503 past it)."
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated proxy addresses whose X-Forwarded-* headers are trusted "
        "(empty: none).",
    )

    # --- changes flowing out: ETags, idempotent creates, sync tokens, webhooks -----------
    idempotency_hours: float = Field(
        24, gt=0, description="How long an Idempotency-Key's first answer is kept and replayed."
    )
    sync_page_size: int = Field(
        250, ge=1, le=10_000, description="Most blocks in one page of the changes feed."
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
    block_cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Bytes of blocks kept per process, built once per stored version from the "
        "rows the window query returns (0: off).",
    )

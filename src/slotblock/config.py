"""The one typed settings object, read once (SLOTBLOCK_ environment prefix) and passed in."""

from __future__ import annotations

from pathlib import Path

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

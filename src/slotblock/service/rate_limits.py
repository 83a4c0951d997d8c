"""The platform's rate limits: per token and location, a burst of `rate_limit_burst` requests
per `rate_limit_interval_seconds` and `rate_limit_daily` per UTC day; and, per client address,
`auth_failure_limit` failed authentications per interval, refused before the token lookup.

Each answer reports its buckets in the platform's headers (a disabled limit is not reported).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slotblock.config import Settings
from slotblock.core.model import Principal
from slotblock.store.counters import Bucket, Counters, open_counters

DAY_MS = 86_400_000
_FLOODING_LIMIT = 100_000  # addresses remembered per process
_OWNERS_LIMIT = 100_000  # tokens whose buckets are kept built, per process


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, the headers that say how much is left, and if not, when
    to retry."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after_seconds: int = 0
    message: str = ""


ALLOWED = Verdict(True)  # a request that may go on, nothing to report (never mutated)


class RateLimiter:
    def __init__(self, counters: Counters, settings: Settings, clock: Callable[[], int]) -> None:
        self.counters = counters
        self.clock = clock
        self.burst = settings.rate_limit_burst
        self.daily = settings.rate_limit_daily
        self.interval_ms = settings.rate_limit_interval_seconds * 1000
        self.auth_failures = settings.auth_failure_limit
        # Addresses this process has seen reach the failure limit, until their window ends:
        # only these are checked before authentication, so that a good request costs one
        # counter round trip, not two. Each node learns of a flood at its first failure.
        self._flooding: dict[str, int] = {}
        # The buckets of each token in its location, built once (a request looks them up).
        self._owners: dict[tuple[str, str], tuple[Bucket, ...]] = {}

    async def admit(self, principal: Principal) -> Verdict:
        """Count one request of this token in its location, if both limits leave room."""
        buckets = self._buckets(principal)
        if not buckets:
            return ALLOWED
        now = self.clock()
        tally = await self.counters.count(buckets, now, "take")
        headers: dict[str, str] = {}
        for bucket, used in zip(buckets, tally.counts, strict=True):
            headers.update(_headers(bucket, used))
        if tally.allowed:
            return Verdict(True, headers)
        full = [b for b, used in zip(buckets, tally.counts, strict=True) if used >= b.limit]
        return _refusal(headers, full[0], now, "requests for this token")

    def _buckets(self, principal: Principal) -> tuple[Bucket, ...]:
        key = (principal.token_id, principal.location.id)
        found = self._owners.get(key)
        if found is None:
            owner = f"rl:{principal.token_id}:{principal.location.id}"
            made = []
            if self.burst:
                made.append(Bucket(f"{owner}:burst", self.burst, self.interval_ms))
            if self.daily:
                made.append(Bucket(f"{owner}:daily", self.daily, DAY_MS))
            if len(self._owners) >= _OWNERS_LIMIT:
                self._owners.clear()
            found = self._owners[key] = tuple(made)
        return found

    async def before_authentication(self, address: str) -> Verdict:
        """Refuse an address that has failed authentication too often in this interval."""
        if not self.auth_failures or self._flooding.get(address, 0) <= self.clock():
            return ALLOWED
        now = self.clock()
        bucket = self._failures(address)
        tally = await self.counters.count([bucket], now, "peek")
        headers = _headers(bucket, tally.counts[0])
        if tally.allowed:
            return Verdict(True, headers)
        return _refusal(headers, bucket, now, "failed authentications from this address")

    async def authentication_failed(self, address: str) -> dict[str, str]:
        """Count a failed authentication; the headers of the address's bucket."""
        if not self.auth_failures:
            return {}
        bucket = self._failures(address)
        now = self.clock()
        tally = await self.counters.count([bucket], now, "add")
        if tally.counts[0] >= bucket.limit:
            if len(self._flooding) >= _FLOODING_LIMIT:
                self._flooding.clear()
            self._flooding[address] = bucket.reset_ms(now)
        return _headers(bucket, tally.counts[0])

    def _failures(self, address: str) -> Bucket:
        return Bucket(f"authfail:{address}", self.auth_failures, self.interval_ms)


def _headers(bucket: Bucket, used: int) -> dict[str, str]:
    remaining = str(max(bucket.limit - used, 0))
    if bucket.window_ms == DAY_MS:
        return {
            "X-RateLimit-Limit-Daily": bucket.limit_text,
            "X-RateLimit-Daily-Remaining": remaining,
        }
    return {
        "X-RateLimit-Interval-Milliseconds": bucket.window_text,
        "X-RateLimit-Max": bucket.limit_text,
        "X-RateLimit-Remaining": remaining,
    }


def _refusal(headers: dict[str, str], full: Bucket, now_ms: int, what: str) -> Verdict:
    wait = max(1, -(-(full.reset_ms(now_ms) - now_ms) // 1000))
    span = "day" if full.window_ms == DAY_MS else f"{full.window_ms // 1000} seconds"
    message = f"Too many requests: more than {full.limit} {what} per {span}; retry in {wait} s"
    return Verdict(
        allowed=False,
        headers={**headers, "Retry-After": str(wait)},
        retry_after_seconds=wait,
        message=message,
    )


def open_rate_limiter(settings: Settings, clock: Callable[[], int]) -> RateLimiter:
    """The limiter of one process: counters in Redis when `redis_url` is set, else in memory."""
    return RateLimiter(
        open_counters(settings.redis_url, settings.redis_key_prefix), settings, clock
    )

"""Fault rules: which requests to break on purpose, and how. Pure: no I/O, no clock; the
only randomness is a `random.Random` seeded by the rule and the draw's number, so that a
run is reproducible.

A rule matches on any of method, path (exact, or a glob with `*`), operationId, location
and token id (all given must hold). It fires for every matching request, for the next
`times` matching requests, or for each matching request with `probability` (the n-th draw
of a rule is a function of its `seed` and n alone, so that processes sharing the draw count
draw the sequence one process would). Its action: answer `status` (429 with the
platform's rate-limit headers and Retry-After, 409 as a write that lost to concurrent
ones, 500, 502, 503), wait `latency_ms` first
(alone: then answer normally), or `drop` the connection. Paths under /_admin/ and the
health probes are exempt: a test must always be able to reach the control plane.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from slotblock.core.errors import CONTENTION

EXEMPT_PATHS = ("/healthz", "/readyz")
ADMIN_PREFIX = "/_admin"
# The platform's limits, as its rate-limit headers state them (per token and location).
DAILY_LIMIT = 200_000
BURST_MAX = 100
BURST_INTERVAL_MS = 10_000


def exempt(path: str) -> bool:
    """True for paths no fault may touch."""
    return path in EXEMPT_PATHS or path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match on. The lookups that cost something are filled in only when a
    rule needs them (`None` otherwise, or when unknown)."""

    method: str
    path: str
    operation_id: str | None = None
    location_id: str | None = None
    token_id: str | None = None


@dataclass(frozen=True)
class Match:
    method: str | None = None
    path: str | None = None
    operation_id: str | None = None
    location_id: str | None = None
    token_id: str | None = None

    @property
    def needs_caller(self) -> bool:
        return self.location_id is not None or self.token_id is not None

    def accepts(self, facts: RequestFacts) -> bool:
        return (
            (self.method is None or self.method.upper() == facts.method.upper())
            and (self.path is None or fnmatchcase(facts.path, self.path))
            and (self.operation_id is None or self.operation_id == facts.operation_id)
            and (self.location_id is None or self.location_id == facts.location_id)
            and (self.token_id is None or self.token_id == facts.token_id)
        )

    def as_json(self) -> dict[str, str]:
        names = {
            "method": self.method,
            "path": self.path,
            "operationId": self.operation_id,
            "locationId": self.location_id,
            "tokenId": self.token_id,
        }
        return {k: v for k, v in names.items() if v is not None}


# The message of each status a rule may answer; a 409 says what slotblock says of a write
# that lost to concurrent ones.
MESSAGES = {
    409: CONTENTION,
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Action:
    status: int | None = None
    latency_ms: int = 0
    drop: bool = False
    retry_after_s: int = 10

    @property
    def message(self) -> str:
        """The error body's `message` of the status answered."""
        return MESSAGES.get(self.status or 0, "")

    def rate_limit_headers(self) -> dict[str, str]:
        """The platform's rate-limit headers, as on a 429 past the burst limit."""
        return {
            "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
            "X-RateLimit-Daily-Remaining": str(DAILY_LIMIT - BURST_MAX),
            "X-RateLimit-Interval-Milliseconds": str(BURST_INTERVAL_MS),
            "X-RateLimit-Max": str(BURST_MAX),
            "X-RateLimit-Remaining": "0",
            "Retry-After": str(self.retry_after_s),
        }


def draw(seed: int, number: int) -> float:
    """The `number`-th draw (from 0) of a rule seeded with `seed`, in [0, 1)."""
    return random.Random(abs(seed) * 2**32 + number).random()


@dataclass
class FaultRule:
    id: str
    match: Match
    action: Action
    times: int | None = None  # None: no count limit
    probability: float | None = None  # None: every matching request
    seed: int = 0
    hits: int = 0
    draws: int = 0  # probability draws taken so far

    @property
    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    def wants(self, facts: RequestFacts) -> bool:
        """Active, and matching the request (before any probability draw)."""
        return self.active and self.match.accepts(facts)

    def lucky(self, number: int) -> bool:
        """Whether draw `number` fires the rule (always, without a probability)."""
        return self.probability is None or draw(self.seed, number) < self.probability

    def fires(self, facts: RequestFacts) -> bool:
        """Whether the rule breaks this request; counts the draw and the hit."""
        if not self.wants(facts):
            return False
        if self.probability is not None:
            self.draws += 1
            if not self.lucky(self.draws - 1):
                return False
        self.hits += 1
        return True

    def stored(self) -> dict[str, Any]:
        """What defines the rule (not its counts), as stored."""
        action = self.action
        return {
            "match": self.match.as_json(),
            "action": [action.status, action.latency_ms, action.drop, action.retry_after_s],
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
        }

    @classmethod
    def from_stored(cls, rule_id: str, data: dict[str, Any], hits: int, draws: int) -> FaultRule:
        given = data["match"]
        match = Match(
            method=given.get("method"),
            path=given.get("path"),
            operation_id=given.get("operationId"),
            location_id=given.get("locationId"),
            token_id=given.get("tokenId"),
        )
        status, latency_ms, drop, retry_after_s = data["action"]
        action = Action(
            status=status, latency_ms=latency_ms, drop=drop, retry_after_s=retry_after_s
        )
        return cls(
            id=rule_id,
            match=match,
            action=action,
            times=data["times"],
            probability=data["probability"],
            seed=data["seed"],
            hits=hits,
            draws=draws,
        )

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "match": self.match.as_json()}
        if self.action.status is not None:
            out["status"] = self.action.status
        if self.action.status == 429:
            out["retryAfter"] = self.action.retry_after_s
        if self.action.latency_ms:
            out["latencyMs"] = self.action.latency_ms
        if self.action.drop:
            out["drop"] = True
        if self.times is not None:
            out["times"] = self.times
        if self.probability is not None:
            out |= {"probability": self.probability, "seed": self.seed}
        return out | {"hits": self.hits, "active": self.active}


@dataclass
class FaultTable:
    """The rules of one process, in the order they were added; the first that fires wins."""

    rules: dict[str, FaultRule] = field(default_factory=dict)

    def add(self, rule: FaultRule) -> None:
        self.rules[rule.id] = rule

    def remove(self, rule_id: str) -> bool:
        return self.rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        self.rules.clear()

    @property
    def armed(self) -> bool:
        """True when some rule can still fire (so a request's facts are worth gathering)."""
        return any(rule.active for rule in self.rules.values())

    @property
    def needs_caller(self) -> bool:
        return any(rule.active and rule.match.needs_caller for rule in self.rules.values())

    @property
    def needs_operation(self) -> bool:
        return any(
            rule.active and rule.match.operation_id is not None for rule in self.rules.values()
        )

    def pick(self, facts: RequestFacts) -> FaultRule | None:
        if exempt(facts.path):
            return None
        for rule in self.rules.values():
            if rule.fires(facts):
                return rule
        return None

"""Two nodes × two workers, started at the same moment on an empty PostgreSQL database, with
their rate-limit counters in Redis: the platform's limits hold exactly across the nodes; under
a mixed read/write load one node is SIGKILLed, and then every acknowledged write is there, the
survivor never answered 5xx, and its /metrics counts what it served. Bounded: ~30 s."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import httpx
import pytest

from tests.conftest import Tenant, seed_tenants
from tests.fleet.servers import (
    empty_postgres,
    kill_group,
    node_env,
    redis_url_or_skip,
    start_node,
    stop,
)
from tests.live import eventually, free_port, wait_ready

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
BURST = 100
LOAD_TENANTS = 6
ITERATIONS = 30  # per load tenant: a write and a read each, under the burst limit
JAN_2030 = 1_893_456_000_000


@dataclass
class Fleet:
    url: str
    bases: list[str]
    nodes: list[subprocess.Popen[bytes]]
    tenants: list[Tenant]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    redis_url = redis_url_or_skip()
    prefix = f"slotblock-fleet-{secrets.token_hex(4)}:"
    with empty_postgres() as url:
        env = node_env(
            database_url=url,
            redis_url=redis_url,
            redis_key_prefix=prefix,
            rate_limit_burst=str(BURST),
            rate_limit_interval_seconds="10",
            rate_limit_daily="200000",
            pool_size="3",
            log_format="json",
            access_log="false",
            forwarded_allow_ips="127.0.0.1",  # the test client plays the proxy
        )
        ports = [free_port(), free_port()]
        nodes = [start_node(port, env, "--workers", "2") for port in ports]  # same moment
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base, node in zip(bases, nodes, strict=True):
                wait_ready(base, node, seconds=90)
            zones = ("Asia/Kolkata",) * (1 + LOAD_TENANTS)
            tenants = asyncio.run(seed_tenants(url, zones))
            yield Fleet(url, bases, nodes, tenants)
        finally:
            for node in nodes:
                stop(node)
            _forget_redis_keys(redis_url, prefix)


def _forget_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def blocked_slots(client: httpx.Client, base: str, t: Tenant) -> httpx.Response:
    params = {
        "locationId": t.location_id,
        "calendarId": t.calendar_id,
        "startTime": str(JAN_2030),
        "endTime": str(JAN_2030 + 30 * 86_400_000),
    }
    return client.get(f"{base}/calendars/blocked-slots", params=params, headers=t.headers())


def test_rate_limits_are_exact_across_nodes(fleet: Fleet) -> None:
    """150 requests with one token over both nodes within one interval: 100 × 200, 50 × 429."""
    tenant = fleet.tenants[0]
    while time.time() % 10 > 1.0:  # start at the beginning of a 10 s window
        time.sleep(0.05)
    started = time.monotonic()
    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda i: blocked_slots(client, fleet.bases[i % 2], tenant), range(150))
        )
    assert time.monotonic() - started < 8.5, "the run did not fit in one window"
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 100, 429: 50}
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in answers if r.is_success)
    assert remaining == list(range(100)), "each success took its own unit of the burst"
    for response in answers:
        assert response.headers["X-RateLimit-Max"] == "100"
        assert response.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
        assert response.headers["X-RateLimit-Limit-Daily"] == "200000"
    for refused in (r for r in answers if r.status_code == 429):
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Daily-Remaining"] == str(200_000 - 100)
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        body = refused.json()
        assert (body["statusCode"], body["error"]) == (429, "Too Many Requests")


def test_a_flood_of_wrong_tokens_is_refused_across_nodes(fleet: Fleet) -> None:
    """20 failures per address per interval (the default), counted in Redis: past them each
    node answers 429 after at most one more failed lookup. The address is the one the trusted
    proxy (here: loopback) names in X-Forwarded-For."""
    tenant = fleet.tenants[1]  # tenants[0] spent its burst above
    wrong = {
        "Authorization": "Bearer pit-wrong",
        "Version": "2021-07-28",
        "X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}",
    }
    while time.time() % 10 > 5.0:  # room for 40 requests in this window
        time.sleep(0.05)
    with httpx.Client(timeout=10) as client:
        statuses = [
            client.get(f"{fleet.bases[i % 2]}/calendars/groups", headers=wrong).status_code
            for i in range(40)
        ]
        good = client.get(
            f"{fleet.bases[0]}/calendars/groups",
            params={"locationId": tenant.location_id},
            headers=tenant.headers(),
        )
    assert statuses == [401] * 21 + [429] * 19
    assert good.status_code == 200, "other addresses are not affected"


@dataclass
class Tally:
    acknowledged: dict[str, set[str]] = field(default_factory=dict)
    survivor_answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    killed_node_answers: int = 0
    answers_after_kill: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _load(fleet: Fleet, t: Tenant, tally: Tally, dead: threading.Event) -> None:
    survivor = fleet.bases[1]
    with httpx.Client(timeout=10) as client:
        for i in range(ITERATIONS):
            base = survivor if dead.is_set() or i % 2 else fleet.bases[0]
            start = JAN_2030 + i * 3_600_000
            body = {
                "locationId": t.location_id,
                "calendarId": t.calendar_id,
                "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000)),
                "endTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000 + 900)),
            }
            sends: tuple[tuple[str, Callable[[], httpx.Response]], ...] = (
                ("create-block-slot", partial(
                    client.post, f"{base}/calendars/events/block-slots", json=body,
                    headers=t.headers())),
                ("get-blocked-slots", partial(blocked_slots, client, base, t)),
            )  # fmt: skip
            for operation, send in sends:
                try:
                    response = send()
                except httpx.TransportError:
                    assert base != survivor, "the survivor dropped a connection"
                    continue
                with tally.lock:
                    tally.killed_node_answers += base != survivor
                    tally.answers_after_kill += dead.is_set()
                    if base == survivor:
                        tally.survivor_answers[(operation, response.status_code)] += 1
                    if operation == "create-block-slot" and response.status_code == 201:
                        tally.acknowledged.setdefault(t.location_id, set()).add(
                            response.json()["id"]
                        )


def test_a_node_killed_under_load_loses_no_acknowledged_write(fleet: Fleet) -> None:
    tally = Tally()
    dead = threading.Event()
    load = fleet.tenants[1:]
    survivor = fleet.bases[1]
    before = scrape(survivor)
    with ThreadPoolExecutor(len(load)) as pool:
        futures = [pool.submit(_load, fleet, t, tally, dead) for t in load]
        # mid-load by count, not by time: a third of node 0's share answered, then the kill
        deadline = time.monotonic() + 30
        while tally.killed_node_answers < len(load) * ITERATIONS // 3:
            assert time.monotonic() < deadline, "the load did not reach node 0"
            time.sleep(0.005)
        kill_group(fleet.nodes[0])
        dead.set()
        for future in futures:
            future.result()
    assert tally.killed_node_answers > 0 and tally.answers_after_kill > 0, "killed mid-load"
    served = tally.survivor_answers
    assert not [key for key in served if key[1] >= 500], served
    assert {status for _, status in served} <= {200, 201}, served
    with httpx.Client(timeout=10) as client:
        for t in load:
            response = blocked_slots(client, survivor, t)
            served["get-blocked-slots", response.status_code] += 1
            found = {e["id"] for e in response.json()["events"]}
            missing = tally.acknowledged.get(t.location_id, set()) - found
            assert not missing, f"acknowledged writes lost: {missing}"
    assert sum(len(ids) for ids in tally.acknowledged.values()) >= LOAD_TENANTS

    def counted() -> dict[tuple[str, int], float]:
        after = scrape(survivor)
        found = {key: after[key] - before.get(key, 0) for key in after}
        return {k: v for k, v in found.items() if v and k[0] != "/metrics"}

    # each worker records a request just after answering it: wait for the last ones
    assert eventually(counted, lambda found: found == dict(served)) == dict(served)


def scrape(base: str) -> dict[tuple[str, int], float]:
    """(operation, status) → requests, summed over the node's workers."""
    found: dict[tuple[str, int], float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("slotblock_requests_total{"):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            key = (labels["operation"].strip('"'), int(labels["status"].strip('"')))
            found[key] = found.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return found

"""Over a real server: the most expensive create and query one token can send finish (or
are refused) quickly, and /healthz keeps answering while they run."""

from __future__ import annotations

import asyncio
import functools

import httpx
import pytest

from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from tests.conftest import seed_tenants
from tests.hardening import worst
from tests.live import live_server

pytestmark = pytest.mark.slow

# Measured on an idle 2-core machine: 0.15 s for a refused rule, 0.6-0.8 s for the sparse
# query (bench/hardening.py prints them); the bounds keep 5x headroom for a loaded machine.
REQUEST_SECONDS = 4.0
HEALTHZ_SECONDS = 0.75


@pytest.mark.parametrize("rule", worst.NEVER)
def test_never_matching_rule_is_refused_quickly(database_url: str, rule: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("UTC",)))
    settings = Settings(database_url=database_url, pool_size=2)
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        result = worst.timed(lambda: worst.worst_create(client, tenant, rule), base)
        answer = worst.worst_create(client, tenant, rule)
    assert result.status == 422
    assert "rrule" in answer.json()["message"][0]
    assert result.seconds < REQUEST_SECONDS, result
    assert result.healthz_worst < HEALTHZ_SECONDS, result


def test_sparse_series_query_is_bounded(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("UTC",)))
    asyncio.run(worst.store_sparse_series(database_url, tenant, 300))
    day = parse_iso("2050-06-01T00:00:00Z")
    settings = Settings(database_url=database_url, pool_size=2)
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        for start, days in ((day, 1), (day + 1, 1), (day, 366)):
            result = worst.timed(
                functools.partial(worst.worst_query, client, tenant, start, days), base
            )
            assert result.status in (200, 422), result
            assert result.seconds < REQUEST_SECONDS, result
            assert result.healthz_worst < HEALTHZ_SECONDS, result

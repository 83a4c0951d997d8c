"""One control plane for every worker and node: two app instances on one database (each with
its own store, pools and caches, as two nodes), on SQLite and PostgreSQL, answer the same
fault rules, hit counts, seeded draws and request log as one process; and a real `slotblock
serve --workers 2`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from slotblock.config import Settings
from tests.fleet.servers import node_env, start_node, stop
from tests.live import free_port, wait_ready
from tests.toolkit.conftest import ADMIN, ADMIN_TOKEN, API, LOCATION, load, readme_fixture
from tests.toolkit.test_clock import app_client

pytestmark = pytest.mark.anyio
GROUPS = "/calendars/groups"


async def fault(client: httpx.AsyncClient, **rule: Any) -> dict[str, Any]:
    response = await client.post("/_admin/faults", json=rule, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def faults(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await client.get("/_admin/faults", headers=ADMIN)).json()[
        "faults"
    ]
    return listed


async def groups(client: httpx.AsyncClient) -> int:
    response = await client.get(GROUPS, params={"locationId": LOCATION}, headers=API)
    return response.status_code


async def test_rules_and_their_counts_are_the_same_on_every_node(
    admin_settings: Settings,
) -> None:
    async with app_client(admin_settings) as (a, _), app_client(admin_settings) as (b, _):
        assert (await load(a, readme_fixture())).status_code == 201
        assert await groups(b) == 200  # b has read the (empty) rules
        rule = await fault(a, match={"path": GROUPS}, status=429, times=3)
        assert await faults(b) == [{**rule, "hits": 0, "active": True}]
        assert [await groups(node) for node in (b, a, b, a, b)] == [429, 429, 429, 200, 200]
        for node in (a, b):
            assert await faults(node) == [{**rule, "hits": 3, "active": False}]
        every = await fault(b, match={"path": GROUPS}, status=503)
        assert await groups(a) == 503
        assert (await a.delete(f"/_admin/faults/{every['id']}", headers=ADMIN)).status_code == 200
        assert await groups(b) == 200
        assert (await b.delete(f"/_admin/faults/{every['id']}", headers=ADMIN)).status_code == 404
        assert (await b.delete("/_admin/faults", headers=ADMIN)).json() == {"deleted": 1}
        assert await faults(a) == []


async def test_a_seeded_rule_draws_across_nodes_what_one_process_draws(
    admin_settings: Settings,
) -> None:
    async with app_client(admin_settings) as (a, _), app_client(admin_settings) as (b, _):
        assert (await load(a, readme_fixture())).status_code == 201
        rule = {"match": {"path": GROUPS}, "status": 500, "probability": 0.5, "seed": 11}
        one = await fault(a, **rule)
        alone = [await groups(a) for _ in range(12)]
        await a.delete(f"/_admin/faults/{one['id']}", headers=ADMIN)
        await fault(b, **rule)
        shared = [await groups(node) for node in (a, b) * 6]
        assert shared == alone and 0 < alone.count(500) < 12
        assert (await faults(a))[0]["hits"] == alone.count(500)


async def test_one_request_log_and_one_reset(admin_settings: Settings) -> None:
    async with app_client(admin_settings) as (a, _), app_client(admin_settings) as (b, _):
        assert (await load(a, readme_fixture())).status_code == 201
        await a.get(GROUPS, params={"locationId": LOCATION, "from": "a"}, headers=API)
        await b.get(GROUPS, params={"locationId": LOCATION, "from": "b"}, headers=API)
        for node in (a, b):
            logged = (await node.get("/_admin/requests", headers=ADMIN)).json()["requests"]
            assert [r["query"] for r in logged] == [
                f"locationId={LOCATION}&from=b",
                f"locationId={LOCATION}&from=a",
            ]
        await fault(a, status=503)
        await b.post("/_admin/clock", json={"now": 0}, headers=ADMIN)
        assert (await b.post("/_admin/reset", headers=ADMIN)).status_code == 200
        assert await faults(a) == []
        assert (await a.get("/_admin/requests", headers=ADMIN)).json() == {"requests": []}
        assert (await a.get("/_admin/clock", headers=ADMIN)).json()["controlled"] is False
        assert await groups(a) != 503  # the rule went with the reset


async def test_the_log_stays_bounded_with_several_writers(database_url: str) -> None:
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, request_log_size=5)
    async with app_client(settings) as (a, _), app_client(settings) as (b, _):
        for index in range(40):
            await (a, b)[index % 2].get(f"/nowhere/{index}")
        logged = (await b.get("/_admin/requests", headers=ADMIN)).json()["requests"]
        assert [r["path"] for r in logged] == [f"/nowhere/{i}" for i in range(39, 34, -1)]
        assert (
            len((await a.get("/_admin/requests?limit=100", headers=ADMIN)).json()["requests"]) == 5
        )


@pytest.mark.slow
def test_a_server_with_two_workers_is_one_control_plane(database_url: str, tmp_path: Path) -> None:
    """`slotblock serve --workers 2`: every call on a new connection, so that both workers
    answer; the rule, its hits, the clock and the log are the same whichever answers."""
    (tmp_path / "fixture.yaml").write_text(readme_fixture())
    port = free_port()
    env = node_env(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        webhook_dispatch="false",
    )
    server = start_node(port, env, "--workers", "2", "--fixture", str(tmp_path / "fixture.yaml"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, seconds=60)
        added = httpx.post(
            f"{base}/_admin/faults",
            json={"match": {"path": GROUPS}, "status": 429, "times": 3},
            headers=ADMIN,
        )
        assert added.status_code == 201
        listed = [httpx.get(f"{base}/_admin/faults", headers=ADMIN).json() for _ in range(12)]
        assert all(len(found["faults"]) == 1 for found in listed), listed
        statuses = [
            httpx.get(f"{base}{GROUPS}", params={"locationId": LOCATION}, headers=API).status_code
            for _ in range(8)
        ]
        assert sorted(statuses) == [200] * 5 + [429] * 3
        assert statuses[:3] == [429] * 3
        for _ in range(6):
            [rule] = httpx.get(f"{base}/_admin/faults", headers=ADMIN).json()["faults"]
            assert rule["hits"] == 3
        clock = httpx.post(f"{base}/_admin/clock", json={"now": 86_400_000}, headers=ADMIN)
        assert clock.status_code == 200
        for _ in range(6):
            shown = httpx.get(f"{base}/_admin/clock", headers=ADMIN).json()
            assert shown["controlled"] and 86_400_000 <= shown["now"] < 86_400_000 + 60_000
        logged = httpx.get(f"{base}/_admin/requests", headers=ADMIN).json()["requests"]
        assert [r["status"] for r in logged] == list(reversed(statuses))
    finally:
        stop(server)

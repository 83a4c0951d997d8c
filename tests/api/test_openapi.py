"""The served OpenAPI document against the official contract, and error bodies for
requests no route takes.

The official documents are read where they lie (tests/spec.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.spec import IMPLEMENTED, official

pytestmark = pytest.mark.anyio


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, set[str]]]:
    return {
        op["operationId"]: (method.upper(), path, set(op.get("responses", {})))
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_operations_match_the_official_spec(client: httpx.AsyncClient, version: str) -> None:
    theirs = operations(official(version))
    ours = operations((await client.get("/openapi.json")).json())
    for operation_id in IMPLEMENTED:
        method, path, statuses = theirs[operation_id]
        assert ours[operation_id][:2] == (method, path), operation_id
        success = {s for s in statuses if s.startswith("2")}
        assert success <= ours[operation_id][2], operation_id


def parameters(operation: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """(name, in) → required, without the Version header (checked by every route)."""
    return {
        (p["name"], p["in"]): bool(p.get("required"))
        for p in operation.get("parameters", [])
        if p["in"] != "header"
    }


def find(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(
        op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_get_slots_has_the_official_parameters(
    client: httpx.AsyncClient, version: str
) -> None:
    theirs = parameters(find(official(version), "get-slots"))
    ours = parameters(find((await client.get("/openapi.json")).json(), "get-slots"))
    assert ours == theirs
    assert theirs[("startDate", "query")] is True


async def test_extensions_say_so(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for operation_id in (
        "get-block-slot",
        "get-free-busy",
        "create-calendar-feed",
        "get-calendar-feeds",
        "delete-calendar-feed",
        "get-calendar-feed-ics",
    ):
        assert find(document, operation_id)["description"].startswith("**Extension**")
    for operation_id in ("get-blocked-slots", "get-block-slot", "get-free-busy"):
        [zone] = [p for p in find(document, operation_id)["parameters"] if p["name"] == "timeZone"]
        assert zone["description"].startswith("**Extension**"), operation_id


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_unknown_route_is_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/nowhere", headers=tenant.headers())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["statusCode"] == 404


async def test_wrong_method_is_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch("/calendars/blocked-slots", headers=tenant.headers())
    assert response.status_code == 405
    assert response.json() == {
        "statusCode": 405,
        "message": "Method Not Allowed",
        "error": "Method Not Allowed",
    }


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}

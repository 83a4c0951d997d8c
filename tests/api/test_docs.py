"""/docs without the internet: assets served by slotblock, bearer auth, the Version header
and the official parameter descriptions in the OpenAPI document."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from slotblock.api.headers import VERSIONS
from slotblock.api.routes.docs import API_PATHS
from tests.spec import IMPLEMENTED, official

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "test.db")
    return f"sqlite:///{tmp_path / 'test.db'}"


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


async def test_docs_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    sources = re.findall(r"""(?:src|href)=["']([^"']+)""", page)
    assert sources, page
    assert "cdn" not in page.lower()
    for source in sources:
        assert source.startswith("/"), source
        response = await client.get(source)
        assert response.status_code == 200, source
    assert "persistAuthorization" in page


async def test_bearer_auth_and_version_header_on_every_operation(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for operation in item.values():
            if not path.startswith(API_PATHS):
                assert "security" not in operation, path
                continue
            assert operation["security"] == [{"bearer": []}], path
            version = [p for p in operation["parameters"] if p["name"] == "Version"]
            assert len(version) == 1, path
            assert version[0]["in"] == "header" and version[0]["required"]
            assert set(version[0]["schema"]["enum"]) == VERSIONS


async def test_parameters_described_as_the_official_spec(client: httpx.AsyncClient) -> None:
    ours = operations((await client.get("/openapi.json")).json())
    theirs = operations(official("v2"))
    for operation_id in IMPLEMENTED:
        expected = {
            (p["in"], p["name"]): p.get("description")
            for p in theirs[operation_id].get("parameters", [])
        }
        found = {
            (p["in"], p["name"]): p.get("description") for p in ours[operation_id]["parameters"]
        }
        for key, description in expected.items():
            if key in found:
                assert found[key] == description, (operation_id, key)
        assert found.get(("header", "Version")) == "API Version"

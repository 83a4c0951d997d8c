"""`/ui/` over HTTP (no browser): the page with a strict Content-Security-Policy and a fresh
nonce, its assets from the package (nothing from another origin), the vendored FullCalendar
pinned with its licence, and the setting that turns it off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.api.routes.web_ui import ASSETS_DIR
from slotblock.config import Settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ASSETS_DIR / "vendor" / "fullcalendar"


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The page does not depend on the backend (the browser test runs on both)."""
    shutil.copy(sqlite_template, tmp_path / "test.db")
    return f"sqlite:///{tmp_path / 'test.db'}"


async def test_page_has_a_strict_policy_and_a_fresh_nonce(client: httpx.AsyncClient) -> None:
    first, second = await client.get("/ui/"), await client.get("/ui/")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    policy = first.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    nonce = re.search(r"'nonce-([^']+)'", directives["style-src"])
    assert nonce
    assert f'<meta name="csp-nonce" content="{nonce.group(1)}">' in first.text
    assert nonce.group(1) not in second.text, "a nonce is used once"
    assert first.headers["x-frame-options"] == "DENY"


async def test_ui_without_slash_redirects_relatively(client: httpx.AsyncClient) -> None:
    answer = await client.get("/ui")
    assert answer.status_code == 308
    assert answer.headers["location"] == "ui/"


@pytest.mark.parametrize(
    "asset",
    ["assets/app.js", "assets/app.css", "assets/vendor/fullcalendar/index.global.min.js"],
)
async def test_assets_come_from_the_package(client: httpx.AsyncClient, asset: str) -> None:
    answer = await client.get(f"/ui/{asset}")
    assert answer.status_code == 200
    assert answer.content == (ASSETS_DIR / asset.removeprefix("assets/")).read_bytes()


def test_nothing_is_loaded_from_another_origin() -> None:
    page = (ASSETS_DIR / "index.html").read_text()
    for reference in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert reference.startswith("assets/") or reference == "data:,", reference
    for own in ("app.js", "app.css"):
        assert not re.search(r"https?://", (ASSETS_DIR / own).read_text()), own


def test_fullcalendar_is_pinned_with_its_licence() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^FULLCALENDAR_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert pinned
    version = pinned.group(1)
    assert (VENDOR / "VERSION").read_text().strip() == version
    bundle = (VENDOR / "index.global.min.js").read_text()
    assert f"FullCalendar Standard Bundle v{version}" in bundle[:200]
    assert "MIT License" in (VENDOR / "LICENSE.md").read_text()


def test_package_data_ships_the_page() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pattern in ("api/web_ui/*.html", "api/web_ui/*.js", "api/web_ui/*.css"):
        assert f'"{pattern}"' in pyproject
    assert '"api/web_ui/vendor/fullcalendar/*"' in pyproject


async def test_off_with_the_setting(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, web_ui=False))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client,
    ):
        for path in ("/ui/", "/ui", "/ui/assets/app.js"):
            assert (await client.get(path)).status_code == 404, path

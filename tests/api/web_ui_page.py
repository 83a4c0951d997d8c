"""Driving the web week view (`/ui/`) in headless Chromium: the browser, seeded data, and the
page's parts as a person uses them (sign in, read the boxes, drag, click, dialogs)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from slotblock.config import Settings
from slotblock.core.model import SCOPES
from slotblock.service import demo
from slotblock.service.container import build_services
from slotblock.store import open_store
from tests.conftest import IN_CI

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WAIT_SECONDS = 30
BROWSER_ZONE = "America/Los_Angeles"


@contextmanager
def chromium(width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A headless Chromium with a new empty profile; skips (fails in CI) without one."""
    if not (CHROMIUM and DRIVER):
        if IN_CI:
            pytest.fail("CI needs chromium and chromium-driver (make browser)")
        pytest.skip("chromium or chromedriver is not installed (make browser installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        # A headless window is at least 500 pixels wide: a phone's width is emulated.
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        # The browser's own zone is none of the locations' (and changes its clocks on
        # another day), so that a box at the right local time proves the page's arithmetic.
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
        try:
            yield driver
        finally:
            driver.quit()


async def _seed_demo(url: str) -> str:
    store = open_store(url, pool_size=1)
    try:
        services = build_services(store, Settings(database_url=url))
        await demo.ensure_demo(services.tenants, services.calendars, services.blocks)
        token, _ = await services.tenants.create_token(demo.LOCATION_ID, SCOPES, "web view")
        return token
    finally:
        await store.dispose()


def seed_demo(url: str) -> str:
    """The demo data (as `make run` makes it) and a token of its location."""
    return asyncio.run(_seed_demo(url))


async def _token(url: str, location_id: str) -> tuple[str, str]:
    store = open_store(url, pool_size=1)
    try:
        services = build_services(store, Settings(database_url=url))
        token, info = await services.tenants.create_token(location_id, SCOPES, "revoked later")
        return token, info.id
    finally:
        await store.dispose()


async def _revoke(url: str, token_id: str) -> None:
    store = open_store(url, pool_size=1)
    try:
        await build_services(store, Settings(database_url=url)).tenants.revoke_token(token_id)
    finally:
        await store.dispose()


def new_token(url: str, location_id: str) -> tuple[str, str]:
    """Another token of the location: (the token, its id)."""
    return asyncio.run(_token(url, location_id))


def revoke(url: str, token_id: str) -> None:
    asyncio.run(_revoke(url, token_id))


@dataclass
class Api:
    """The public API as the test's other client (the one that checks what the page did)."""

    base: str
    token: str
    location_id: str

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Version": "2021-07-28"}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        answer = self.call(
            "POST",
            "/calendars/events/block-slots",
            json={"locationId": self.location_id, **fields},
        )
        assert answer.status_code == 201, answer.text
        block: dict[str, Any] = answer.json()
        return block

    def events(self, start_ms: int, end_ms: int, **target: str) -> list[dict[str, Any]]:
        params = {"locationId": self.location_id, "startTime": start_ms, "endTime": end_ms}
        answer = self.call("GET", "/calendars/blocked-slots", params={**params, **target})
        assert answer.status_code == 200, answer.text
        events: list[dict[str, Any]] = answer.json()["events"]
        return events


@dataclass
class Box:
    """One block as the view draws it: its id, the day column it sits in, the time shown."""

    block_id: str
    day: str
    time: str
    classes: str


class WeekView:
    """The page, as a person uses it."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base = base
        self.wait = WebDriverWait(driver, WAIT_SECONDS)

    def open(self, location_id: str | None, date: str) -> None:
        """The page, with the location id (when given) and the date in its address."""
        place = f"location={location_id}&" if location_id else ""
        self.driver.get(f"{self.base}/ui/#{place}date={date}")
        self.wait.until(lambda d: d.execute_script("return !!window.FullCalendar"))

    def sign_in(self, token: str) -> None:
        from selenium.webdriver.common.by import By

        field = self.driver.find_element(By.ID, "token")
        field.send_keys(token)
        self.driver.find_element(By.ID, "signin-button").click()

    def settled(self) -> None:
        """Until no API call is in flight (the page counts them in body[data-busy])."""
        self.wait.until(
            lambda d: d.execute_script(
                "return document.body.dataset.busy === '0' && !document.getElementById('app').hidden"
            )
        )

    def text(self, element_id: str) -> str:
        from selenium.webdriver.common.by import By

        text: str = self.driver.find_element(By.ID, element_id).text
        return text

    def show(self, target: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element(By.ID, "target")).select_by_value(target)
        self.settled()

    def boxes(self) -> list[Box]:
        """Every drawn block: the date of the column it is in and its time text."""
        found: list[dict[str, str]] = self.driver.execute_script(
            """return [...document.querySelectorAll('[data-block-id]')].map((el) => ({
                id: el.dataset.blockId,
                day: el.closest('[data-date]').dataset.date,
                time: (el.querySelector('.fc-event-time') || {}).textContent || '',
                classes: el.className}));"""
        )
        return [Box(b["id"], b["day"], b["time"], b["classes"]) for b in found]

    def box(self, block_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, f'[data-block-id="{block_id}"]')
        )

    def lane_point(self, day: str, time: str) -> tuple[float, float]:
        """Viewport coordinates just inside the top of `time`'s slot in `day`'s column."""
        point: list[float] = self.driver.execute_script(
            """const col = document.querySelector(`td.fc-timegrid-col[data-date="${arguments[0]}"]`);
               const lane = document.querySelector(`td.fc-timegrid-slot-lane[data-time="${arguments[1]}"]`);
               const c = col.getBoundingClientRect(), l = lane.getBoundingClientRect();
               return [c.left + c.width / 2, l.top + 4];""",
            day,
            time,
        )
        return point[0], point[1]

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Press at `start`, move in steps, release at `end` (real pointer events)."""
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        actions = ActionBuilder(self.driver, duration=50)
        pointer: Any = actions.pointer_action  # selenium leaves these calls untyped
        pointer.move_to_location(int(start[0]), int(start[1])).pointer_down()
        steps = 6
        for step in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * step / steps
            y = start[1] + (end[1] - start[1]) * step / steps
            pointer.move_to_location(int(x), int(y))
        pointer.pointer_up()
        actions.perform()

    def answer_prompt(self, text: str) -> None:
        from selenium.webdriver.support import expected_conditions as ec

        alert = self.wait.until(ec.alert_is_present())
        alert.send_keys(text)
        alert.accept()

    def click(self, element_id: str) -> None:
        from selenium.webdriver.common.by import By

        self.wait.until(lambda d: d.find_element(By.ID, element_id).is_displayed())
        self.driver.find_element(By.ID, element_id).click()

    def opened(self, dialog_id: str) -> None:
        self.wait.until(
            lambda d: d.execute_script(f"return document.getElementById('{dialog_id}').open")
        )

    def csp_violations(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in entry["message"]
        ]

"""/docs in a real headless browser (Debian's Chromium, `make browser`): the page renders,
the Authorize button takes the demo token, and "Try it out" on get-blocked-slots answers 200.
Outside CI the test skips when Chromium or its driver is missing; in CI it must run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from slotblock.config import Settings
from slotblock.service import demo
from tests.conftest import IN_CI
from tests.fleet.servers import SLOTBLOCK, node_env
from tests.live import live_server

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[object]:
    if not (CHROMIUM and DRIVER):
        if IN_CI:
            pytest.fail("CI needs chromium and chromium-driver (make browser)")
        pytest.skip("chromium or chromedriver is not installed (make browser installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_try_it_out_on_get_blocked_slots(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    token = subprocess.run(
        [*SLOTBLOCK, "demo", "--database-url", url],
        env=node_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wait = WebDriverWait(browser, 30)
    with live_server(Settings(database_url=url)) as base:
        browser.get(f"{base}/docs")
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".btn.authorize"))).click()
        field = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input")))
        field.send_keys(token)
        browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
        browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()
        operation = "#operations-Calendar_Events-get-blocked-slots"
        browser.find_element(By.CSS_SELECTOR, f"{operation} .opblock-summary").click()
        start, end = demo.SEED_WINDOW
        for name, value in (
            ("locationId", demo.LOCATION_ID),
            ("calendarId", demo.CALENDAR_ID),
            ("startTime", str(start)),
            ("endTime", str(end)),
        ):
            box = wait.until(
                ec.visibility_of_element_located(
                    (By.CSS_SELECTOR, f'{operation} tr[data-param-name="{name}"] input')
                )
            )
            box.send_keys(value)
        browser.find_element(By.CSS_SELECTOR, f"{operation} .execute").click()
        status = wait.until(
            ec.visibility_of_element_located(
                (By.CSS_SELECTOR, f"{operation} .live-responses-table tbody .response-col_status")
            )
        )
        assert status.text.strip() == "200", browser.find_element(By.CSS_SELECTOR, operation).text
        body = browser.find_element(By.CSS_SELECTOR, f"{operation} .live-responses-table tbody pre")
        assert '"events"' in body.text

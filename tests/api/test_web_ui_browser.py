"""The web week view in a real headless Chromium (Debian's, `make browser`), on both backends:
sign in, the demo week's boxes at their local times, a DST week, drag to create, move an
instance, delete a series, a 412 on a stale edit, a refused token. The test run saves the
README's screenshots (docs/web-ui-*.png). Outside CI it skips without Chromium."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from slotblock.config import Settings
from slotblock.service import demo
from tests.api.web_ui_page import (
    BROWSER_ZONE,
    Api,
    WeekView,
    chromium,
    new_token,
    revoke,
    seed_demo,
)
from tests.conftest import seed_tenants
from tests.live import eventually, live_server

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs"
PARIS = ZoneInfo("Europe/Paris")
DEMO_WEEK = "2023-04-03"  # the documentation page's example week (Monday)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def save_screenshot(view: WeekView, name: str, database_url: str) -> None:
    """The README's pictures, from the SQLite run only (both backends draw the same)."""
    if database_url.startswith("sqlite"):
        DOCS.mkdir(exist_ok=True)
        view.driver.execute_script("document.activeElement.blur()")
        assert view.driver.save_screenshot(str(DOCS / name))


def next_weeks_free_slots(base: str, token: str) -> list[str]:
    """The demo calendar's free slots from next Monday to the Monday after, in its zone."""
    zone = ZoneInfo(demo.TIMEZONE)
    today = datetime.now(zone).date()
    monday = datetime.combine(today + timedelta(days=7 - today.weekday()), time(), zone)
    window = {
        "startDate": int(monday.timestamp() * 1000),
        "endDate": int((monday + timedelta(days=7)).timestamp() * 1000),
    }
    api = Api(base, token, demo.LOCATION_ID)
    answer = api.call("GET", f"/calendars/{demo.CALENDAR_ID}/free-slots", params=window)
    assert answer.status_code == 200, answer.text
    return [slot for day in answer.json().values() for slot in day["slots"]]


def test_demo_week_at_its_local_times(database_url: str) -> None:
    token = seed_demo(database_url)
    with live_server(Settings(database_url=database_url)) as base, chromium() as driver:
        view = WeekView(driver, base)
        view.open(demo.LOCATION_ID, DEMO_WEEK)
        view.sign_in(token)
        view.settled()
        assert view.text("zone-label") == "Times in Asia/Kolkata (UTC+05:30)"
        browser_zone = driver.execute_script(
            "return Intl.DateTimeFormat().resolvedOptions().timeZone"
        )
        assert browser_zone == BROWSER_ZONE
        drawn = {(b.day, b.time, "sb-instance" in b.classes) for b in view.boxes()}
        assert drawn == {
            ("2023-04-03", "09:30 - 10:00", True),
            ("2023-04-03", "13:00 - 14:00", False),
        }
        save_screenshot(view, "web-ui-week.png", database_url)

        view.show(f"user:{demo.USER_ID}")
        drawn = {(b.day, b.time, "sb-instance" in b.classes) for b in view.boxes()}
        focus = {(f"2023-04-0{d}", "08:00 - 08:30", True) for d in range(3, 8)}
        assert drawn == {*focus, ("2023-04-04", "10:00 - 12:00", False)}
        save_screenshot(view, "web-ui-user-week.png", database_url)

        view.show(f"calendar:{demo.CALENDAR_ID}")
        driver.find_element("css selector", ".fc-dayGridMonth-button").click()
        view.settled()
        mondays = {"2023-04-03", "2023-04-10", "2023-04-17", "2023-04-24", "2023-05-01"}
        assert sorted((b.day, "sb-instance" in b.classes) for b in view.boxes()) == sorted(
            [(day, True) for day in mondays] + [("2023-04-03", False)]
        ), "the month of April 2023 (Monday to Sunday weeks, from March 27 to May 7)"
        driver.find_element("css selector", ".fc-timeGridWeek-button").click()

        view.show(f"calendar:{demo.CALENDAR_ID}")
        driver.find_element("css selector", ".fc-today-button").click()
        driver.find_element("css selector", ".fc-next-button").click()
        view.click("free-toggle")
        view.settled()
        free = driver.find_elements("css selector", ".sb-free")
        closed = driver.find_elements("css selector", ".sb-closed")
        assert free and closed, "free slots on demand, closed hours shaded"
        drawn_free = driver.execute_script(
            """return [...document.querySelectorAll('[data-free-slot]')].map((el) =>
                [el.dataset.freeSlot, el.closest('[data-date]').dataset.date]);"""
        )
        slots = next_weeks_free_slots(base, token)
        assert sorted(start for start, _ in drawn_free) == sorted(s[:16] for s in slots)
        assert all(start[:10] == day for start, day in drawn_free), "each in its day's column"
        assert len(free) == len(slots) > 0, "one shaded box per free slot"
        assert view.csp_violations() == []

        with chromium(390, 844) as phone:
            view = WeekView(phone, base)
            view.open(demo.LOCATION_ID, "2023-04-04")
            view.sign_in(token)
            view.settled()
            view.show(f"user:{demo.USER_ID}")
            assert {(b.day, b.time) for b in view.boxes()} == {
                ("2023-04-04", "08:00 - 08:30"),
                ("2023-04-04", "10:00 - 12:00"),
            }
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, "no sideways scrolling at phone width"
            save_screenshot(view, "web-ui-phone.png", database_url)


def paris_week(api: Api) -> dict[str, Any]:
    """A DST week in Paris (clocks go forward on Sunday 2026-03-29): a daily 09:00 series
    over it and a one-off on the Sunday afternoon."""
    series = api.create(
        calendarId=api_calendar(api),
        title="Standup",
        startTime="2026-03-23T09:00:00+01:00",
        endTime="2026-03-23T09:30:00+01:00",
        rrule="RRULE:FREQ=DAILY;COUNT=14",
    )
    api.create(
        calendarId=api_calendar(api),
        title="Dentist",
        startTime="2026-03-29T14:00:00+02:00",
        endTime="2026-03-29T15:00:00+02:00",
    )
    return series


def api_calendar(api: Api) -> str:
    answer = api.call("GET", "/calendars/", params={"locationId": api.location_id})
    calendar_id: str = answer.json()["calendars"][0]["id"]
    return calendar_id


WEEK = (ms("2026-03-23T00:00:00+01:00"), ms("2026-03-30T00:00:00+02:00"))


def move_series_an_hour(view: WeekView, api: Api, series_id: str) -> None:
    box = view.box(f"{series_id}_{ms('2026-03-25T09:00:00+01:00')}_1800").rect
    grab = (box["x"] + box["width"] / 2, box["y"] + 4)
    view.drag(grab, (grab[0], view.lane_point("2026-03-25", "10:00:00")[1]))
    view.click("scope-series")
    master = eventually(
        lambda: api.call("GET", f"/calendars/events/block-slots/{series_id}").json(),
        lambda block: block["startTime"] != "2026-03-23T09:00:00+01:00",
    )
    assert (master["startTime"], master["endTime"]) == (
        "2026-03-23T10:00:00+01:00",
        "2026-03-23T10:30:00+01:00",
    )
    view.settled()


def test_shape_a_dst_week_by_mouse(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    with live_server(Settings(database_url=database_url)) as base, chromium() as driver:
        api = Api(base, tenant.token, tenant.location_id)
        series = paris_week(api)
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-25")
        view.sign_in(tenant.token)
        view.settled()
        # the week of 29 March holds Paris's change to summer time: both offsets are shown
        assert view.text("zone-label") == "Times in Europe/Paris (UTC+01:00 → +02:00)"
        drawn = sorted((b.day, b.time, "sb-instance" in b.classes) for b in view.boxes())
        daily = [(f"2026-03-{d}", "09:00 - 09:30", True) for d in range(23, 30)]
        assert drawn == sorted([*daily, ("2026-03-29", "14:00 - 15:00", False)])

        # drag on empty time: Wednesday 11:00-12:00, titled at the prompt
        view.drag(
            view.lane_point("2026-03-25", "11:00:00"), view.lane_point("2026-03-25", "11:30:00")
        )
        view.answer_prompt("Errand")
        errands = eventually(
            lambda: [
                e
                for e in api.events(*WEEK, calendarId=tenant.calendar_id)
                if e["title"] == "Errand"
            ],
            bool,
        )
        assert [(e["startTime"], e["endTime"], e.get("rrule")) for e in errands] == [
            ("2026-03-25T11:00:00+01:00", "2026-03-25T12:00:00+01:00", None)
        ]

        # drag Tuesday's instance to 15:00: this one only
        instance_id = f"{series['id']}_{ms('2026-03-24T09:00:00+01:00')}_1800"
        view.settled()
        box = view.box(instance_id).rect
        grab = (box["x"] + box["width"] / 2, box["y"] + 4)
        view.drag(grab, (grab[0], view.lane_point("2026-03-24", "15:00:00")[1]))
        view.click("scope-one")
        moved = eventually(
            lambda: api.call("GET", f"/calendars/events/block-slots/{instance_id}").json(),
            lambda block: block.get("startTime", "").endswith("15:00:00+01:00"),
        )
        assert (moved["startTime"], moved["endTime"]) == (
            "2026-03-24T15:00:00+01:00",
            "2026-03-24T15:30:00+01:00",
        )
        view.settled()
        assert ("2026-03-24", "15:00 - 15:30") in {(b.day, b.time) for b in view.boxes()}

        # drag Wednesday's instance an hour later, the whole series: 10:00 on both sides of
        # the DST change (Tuesday's own move named an occurrence that no longer exists)
        move_series_an_hour(view, api, series["id"])
        assert sorted((b.day, b.time) for b in view.boxes() if "sb-instance" in b.classes) == [
            (f"2026-03-{d}", "10:00 - 10:30") for d in range(23, 30)
        ]

        # click Thursday's instance, delete the whole series
        view.box(f"{series['id']}_{ms('2026-03-26T10:00:00+01:00')}_1800").click()
        view.opened("editor")
        driver.find_element("css selector", 'input[name="scope"][value="series"]').click()
        view.click("editor-delete")
        gone = eventually(
            lambda: api.call("GET", f"/calendars/events/block-slots/{series['id']}"),
            lambda answer: answer.status_code == 404,
        )
        assert gone.status_code == 404
        view.settled()
        assert sorted((b.day, b.time) for b in view.boxes()) == [
            ("2026-03-25", "11:00 - 12:00"),
            ("2026-03-29", "14:00 - 15:00"),
        ]
        assert "Deleted the whole series" in view.text("message")


def test_a_stale_edit_is_refused_with_412(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    with live_server(Settings(database_url=database_url)) as base, chromium() as driver:
        api = Api(base, tenant.token, tenant.location_id)
        block = api.create(
            calendarId=tenant.calendar_id,
            title="Inventory",
            startTime="2026-03-24T10:00:00+01:00",
            endTime="2026-03-24T11:00:00+01:00",
        )
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(tenant.token)
        view.settled()
        view.box(block["id"]).click()
        view.settled()
        title = driver.find_element("id", "editor-title-input")
        assert title.get_attribute("value") == "Inventory"
        assert not driver.find_element("id", "editor-scope").is_displayed(), "a one-off block"
        elsewhere = api.call(
            "PUT",
            f"/calendars/events/block-slots/{block['id']}",
            json={"locationId": tenant.location_id, "title": "Changed elsewhere"},
        )
        assert elsewhere.status_code == 201
        title.clear()
        title.send_keys("Mine")
        view.click("editor-save")
        view.settled()
        assert "(412)" in view.text("message")
        assert "changed elsewhere" in view.text("message")
        kept = api.call("GET", f"/calendars/events/block-slots/{block['id']}").json()
        assert kept["title"] == "Changed elsewhere"

        # a drag of a block changed since the view loaded does not overwrite it either
        view.click("free-toggle")  # any refetch: the view now shows the current version
        view.settled()
        again = api.call(
            "PUT",
            f"/calendars/events/block-slots/{block['id']}",
            json={"locationId": tenant.location_id, "title": "Again elsewhere"},
        )
        assert again.status_code == 201
        driver.execute_script("document.getElementById('message').textContent = ''")
        box = view.box(block["id"]).rect
        grab = (box["x"] + box["width"] / 2, box["y"] + 4)
        view.drag(grab, (grab[0], view.lane_point("2026-03-24", "13:00:00")[1]))
        view.wait.until(lambda _: view.text("message"))
        view.settled()
        assert "(412)" in view.text("message")
        kept = api.call("GET", f"/calendars/events/block-slots/{block['id']}").json()
        assert (kept["title"], kept["startTime"]) == (
            "Again elsewhere",
            "2026-03-24T10:00:00+01:00",
        )


def test_a_refused_token_is_said_in_words(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    with live_server(Settings(database_url=database_url)) as base, chromium() as driver:
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in("pit-this-token-does-not-exist")
        view.wait.until(lambda d: d.find_element("id", "signin-error").text)
        assert view.text("signin-error").startswith("The token was refused (401)")
        assert not driver.find_element("id", "app").is_displayed()
        stored = driver.execute_script("return sessionStorage.getItem('slotblock.token')")
        assert stored is None

        # a live token with another location's id (get-location answers 403)
        for field, value in (("token", tenant.token), ("location", "anotherLocation01")):
            driver.find_element("id", field).clear()
            driver.find_element("id", field).send_keys(value)
        driver.find_element("id", "signin-button").click()
        view.wait.until(lambda _: "(403)" in view.text("signin-error"))
        assert view.text("signin-error").startswith("This token may not use that location (403)")

        # a token that is neither a location's nor the admin's (the admin API is off), and
        # no location id: said so
        driver.find_element("id", "location").clear()
        view.sign_in("sba-not-an-admin-token")
        view.wait.until(lambda _: "admin" in view.text("signin-error"))
        assert view.text("signin-error") == (
            "This is not the admin token (or the admin API is off): "
            "a location token needs the location id."
        )
        assert not driver.find_element("id", "app").is_displayed()


def test_a_token_revoked_meanwhile_leads_back_to_sign_in(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    token, token_id = new_token(database_url, tenant.location_id)
    settings = Settings(database_url=database_url, token_cache_seconds=0)
    with live_server(settings) as base, chromium() as driver:
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(token)
        view.settled()
        revoke(database_url, token_id)
        driver.find_element("css selector", ".fc-next-button").click()
        view.wait.until(lambda d: d.find_element("id", "signin").is_displayed())
        assert view.text("signin-error").startswith("The token was refused (401)")
        assert driver.execute_script("return sessionStorage.getItem('slotblock.token')") is None

        view.sign_in(tenant.token)  # another live token of the location: back to the view
        view.settled()
        assert view.text("zone-label").startswith("Times in Europe/Paris")


ADMIN = "sba-web-view-admin-token-01"


def set_field(view: WeekView, element_id: str, value: str) -> None:
    """A date or time field's value, as its picker would set it (typing into one follows
    the browser's locale)."""
    view.driver.execute_script(
        """const field = document.getElementById(arguments[0]);
           field.value = arguments[1];
           field.dispatchEvent(new Event('input', {bubbles: true}));""",
        element_id,
        value,
    )


def add_fault(api: Api, rule: dict[str, Any]) -> None:
    answer = api.call(
        "POST", "/_admin/faults", json=rule, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert answer.status_code == 201, answer.text


def rename_by_keyboard(view: WeekView, api: Api, block_id: str) -> None:
    """Enter on a box opens it, Enter in its title saves."""
    from selenium.webdriver.common.keys import Keys

    view.box(block_id).send_keys(Keys.ENTER)
    view.opened("editor")
    view.settled()
    title = view.driver.find_element("id", "editor-title-input")
    title.send_keys(Keys.END, " (counted)", Keys.ENTER)
    renamed = eventually(
        lambda: api.call("GET", f"/calendars/events/block-slots/{block_id}").json(),
        lambda found: found["title"] == "Inventory (counted)",
    )
    assert renamed["title"] == "Inventory (counted)"


def fill_creator(view: WeekView, start: str, end: str, repeat: str) -> None:
    from selenium.webdriver.support.ui import Select

    view.click("new-block")
    view.opened("creator")
    set_field(view, "creator-date", "2026-03-24")
    set_field(view, "creator-start", start)
    set_field(view, "creator-end", end)
    Select(view.driver.find_element("id", "creator-repeat")).select_by_value(repeat)


def create_recurring(view: WeekView, api: Api, calendar_id: str) -> None:
    """The recurring form writes the rule: weekly on Tuesdays and Thursdays, 4 times."""
    fill_creator(view, "07:30", "08:00", "weekly")
    view.driver.find_element("id", "creator-title-input").send_keys("Deliveries")
    for day in ("TU", "TH"):
        view.driver.find_element("css selector", f'#creator-days input[value="{day}"]').click()
    view.driver.find_element("css selector", 'input[name="ends"][value="count"]').click()
    set_field(view, "creator-count", "4")
    assert view.text("creator-rule") == "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"
    view.click("creator-save")
    view.settled()
    made = [e for e in api.events(*WEEK, calendarId=calendar_id) if e["title"] == "Deliveries"]
    assert [(e["startTime"], e["rrule"]) for e in made] == [
        ("2026-03-24T07:30:00+01:00", "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"),
        ("2026-03-26T07:30:00+01:00", "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"),
    ]
    assert sum("sb-instance" in b.classes for b in view.boxes()) == 2


def refusals_in_words(view: WeekView, api: Api) -> None:
    """A 422 (a block that ends before it starts) and a 429 (with the wait asked for)."""
    fill_creator(view, "10:00", "09:00", "none")
    hidden = ("creator-days", "creator-ends")
    assert not any(view.driver.find_element("id", part).is_displayed() for part in hidden)
    view.click("creator-save")
    view.settled()
    assert view.text("message").startswith("The change was refused (422): ")

    rule = {"match": {"operationId": "get-blocked-slots"}, "status": 429, "retryAfter": 2}
    add_fault(api, {**rule, "times": 1})
    view.driver.find_element("css selector", ".fc-next-button").click()
    view.settled()
    assert view.text("message") == "Too many requests (429): try again in 2 seconds."


def loading_badge(view: WeekView, api: Api) -> None:
    """A slow call shows the loading badge until it is answered."""
    add_fault(api, {"match": {"operationId": "get-blocked-slots"}, "latencyMs": 1500, "times": 1})
    view.driver.find_element("css selector", ".fc-prev-button").click()
    view.wait.until(lambda d: d.find_element("id", "loading").is_displayed())
    assert view.text("loading") == "Loading…"
    view.settled()
    assert not view.driver.find_element("id", "loading").is_displayed()


def test_keyboard_recurring_form_and_errors_in_words(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    settings = Settings(database_url=database_url, admin_token=ADMIN)
    with live_server(settings) as base, chromium() as driver:
        api = Api(base, tenant.token, tenant.location_id)
        block = api.create(
            calendarId=tenant.calendar_id,
            title="Inventory",
            startTime="2026-03-24T10:00:00+01:00",
            endTime="2026-03-24T11:00:00+01:00",
        )
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(tenant.token)
        view.settled()
        rename_by_keyboard(view, api, block["id"])
        view.settled()
        create_recurring(view, api, tenant.calendar_id)
        refusals_in_words(view, api)
        loading_badge(view, api)


def session_values(view: WeekView) -> dict[str, str]:
    found: dict[str, str] = view.driver.execute_script(
        "return Object.fromEntries(Object.entries(sessionStorage))"
    )
    return found


def admin_call(base: str, method: str, path: str) -> Any:
    answer = httpx.request(
        method, f"{base}{path}", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_admin_sign_in_then_pick_a_location(database_url: str) -> None:
    """The admin token lists the locations; the page mints a token of the one picked (that
    expires after 12 hours), keeps only that one, and from then on calls the public API with
    it alone."""
    paris, tokyo = asyncio.run(seed_tenants(database_url, ("Europe/Paris", "Asia/Tokyo")))
    settings = Settings(database_url=database_url, admin_token=ADMIN)
    with live_server(settings) as base, chromium() as driver:
        view = WeekView(driver, base)
        view.open(None, "2026-03-24")
        view.sign_in(ADMIN)
        view.wait.until(lambda d: d.find_element("id", "pick").is_displayed())
        options = driver.execute_script(
            "return [...document.querySelectorAll('#pick-location option')].map(o => o.value)"
        )
        assert sorted(options) == sorted([paris.location_id, tokyo.location_id])
        assert ADMIN not in session_values(view).values(), "the admin token is never stored"

        from selenium.webdriver.support.ui import Select

        Select(driver.find_element("id", "pick-location")).select_by_value(tokyo.location_id)
        view.click("pick-button")
        view.settled()
        assert view.text("zone-label").startswith("Times in Asia/Tokyo (UTC+09:00)")
        assert view.text("location-name") == "Test location"
        stored = session_values(view)
        assert stored["slotblock.location"] == tokyo.location_id
        assert stored["slotblock.token"].startswith("pit-")
        assert ADMIN not in stored.values()

        minted = admin_call(base, "GET", f"/_admin/locations/{tokyo.location_id}/tokens")
        [token] = [t for t in minted["tokens"] if t["name"] == "web view (admin sign-in)"]
        assert not token["revoked"]
        assert token["expiresAt"] - token["dateAdded"] == 12 * 3_600_000, "a session's token"
        driver.find_element("css selector", ".fc-next-button").click()
        view.settled()
        logged = admin_call(base, "GET", "/_admin/requests?limit=50")["requests"]
        logged = [r for r in logged if not r["path"].startswith("/ui")]  # the page's files
        assert {r["tokenId"] for r in logged} == {token["id"]}, ("only the minted token", logged)
        assert all(not r["path"].startswith("/_admin") for r in logged)
        assert {r["path"] for r in logged} >= {
            f"/locations/{tokyo.location_id}",
            "/calendars/",
            "/calendars/blocked-slots",
        }

        # sign out, then a wrong admin token is refused in words
        view.click("sign-out")
        view.wait.until(lambda d: d.find_element("id", "signin").is_displayed())
        view.sign_in("sba-this-is-not-the-admin-token")
        view.wait.until(lambda _: view.text("signin-error"))
        assert view.text("signin-error").startswith("This is not the admin token")
        assert session_values(view) == {}


OPEN_WEEKDAYS = [
    {
        "daysOfTheWeek": [1, 2, 3, 4, 5],
        "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}],
    }
]
CUSTOM_DATES = [
    {  # Wednesday: 13:00-15:00 only
        "date": "2026-03-25T00:00:00.000Z",
        "hours": [{"openHour": 13, "openMinute": 0, "closeHour": 15, "closeMinute": 0}],
    },
    {"date": "2026-03-26T00:00:00.000Z", "hours": []},  # Thursday: a day off
    {  # Saturday: open in the morning, but deleted, so the weekly hours (none) hold
        "date": "2026-03-28T00:00:00.000Z",
        "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}],
        "deleted": True,
    },
]


def closed_by_day(view: WeekView) -> dict[str, set[str]]:
    found: list[list[str]] = view.driver.execute_script(
        """return [...document.querySelectorAll('[data-closed]')].map((el) =>
            [el.closest('[data-date]').dataset.date, el.dataset.closed]);"""
    )
    out: dict[str, set[str]] = {}
    for day, hours in found:
        out.setdefault(day, set()).add(hours)
    return out


def test_custom_dates_are_shaded_in_place_of_the_weekly_hours(database_url: str) -> None:
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    with live_server(Settings(database_url=database_url)) as base, chromium() as driver:
        api = Api(base, tenant.token, tenant.location_id)
        # no team: the pickers list no user, whose random id would change the picture
        hours = {"openHours": OPEN_WEEKDAYS, "availabilities": CUSTOM_DATES, "teamMembers": []}
        changed = api.call("PUT", f"/calendars/{tenant.calendar_id}", json=hours)
        assert changed.status_code == 200, changed.text
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(tenant.token)
        view.settled()
        weekly = {"00:00-09:00", "17:00-24:00"}
        whole = {"00:00-24:00"}
        assert closed_by_day(view) == {
            "2026-03-23": weekly,
            "2026-03-24": weekly,
            "2026-03-25": {"00:00-13:00", "15:00-24:00"},
            "2026-03-26": whole,
            "2026-03-27": weekly,
            "2026-03-28": whole,
            "2026-03-29": whole,  # the DST Sunday: closed all day all the same
        }
        # drawn at its local time: Wednesday's first closed box ends where 13:00 begins
        bottom = driver.execute_script(
            """const el = document.querySelector(
                   'td[data-date="2026-03-25"] [data-closed="00:00-13:00"]');
               return el.getBoundingClientRect().bottom;"""
        )
        assert abs(bottom - view.lane_point("2026-03-25", "13:00:00")[1] + 4) <= 2
        save_screenshot(view, "web-ui-custom-dates.png", database_url)

        driver.find_element("css selector", ".fc-dayGridMonth-button").click()
        view.settled()
        closed_days = set(closed_by_day(view))
        weekends = {f"2026-03-{d:02}" for d in (1, 7, 8, 14, 15, 21, 22, 28, 29)}
        assert {d for d in closed_days if d.startswith("2026-03")} == weekends | {"2026-03-26"}
        driver.find_element("css selector", ".fc-timeGridWeek-button").click()
        view.settled()

        # availabilityType 0: the weekly hours only, the custom dates set aside
        changed = api.call("PUT", f"/calendars/{tenant.calendar_id}", json={"availabilityType": 0})
        assert changed.status_code == 200, changed.text
        view.click("sign-out")
        view.wait.until(lambda d: d.find_element("id", "signin").is_displayed())
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(tenant.token)
        view.settled()
        shaded = closed_by_day(view)
        assert shaded["2026-03-25"] == shaded["2026-03-26"] == weekly


def test_conflict_and_not_found_in_words(database_url: str) -> None:
    """A 409 (a write that lost to concurrent ones, injected by a fault rule: no single
    client can make one happen on purpose) and a 404 (a block deleted elsewhere while its
    editor was open), each said in words, the view reloaded."""
    (tenant,) = asyncio.run(seed_tenants(database_url, ("Europe/Paris",)))
    settings = Settings(database_url=database_url, admin_token=ADMIN)
    with live_server(settings) as base, chromium() as driver:
        api = Api(base, tenant.token, tenant.location_id)
        kept, gone = (
            api.create(
                calendarId=tenant.calendar_id,
                title=title,
                startTime=f"2026-03-24T{hour}:00:00+01:00",
                endTime=f"2026-03-24T{hour}:30:00+01:00",
            )
            for title, hour in (("Inventory", "10"), ("Delivery", "14"))
        )
        view = WeekView(driver, base)
        view.open(tenant.location_id, "2026-03-24")
        view.sign_in(tenant.token)
        view.settled()

        add_fault(api, {"match": {"operationId": "edit-block-slot"}, "status": 409, "times": 1})
        view.box(kept["id"]).click()
        view.opened("editor")
        view.settled()
        driver.find_element("id", "editor-title-input").send_keys(" (counted)")
        view.click("editor-save")
        view.wait.until(lambda _: "(409)" in view.text("message"))
        view.settled()
        assert view.text("message") == (
            "Conflict (409): the change conflicted with a concurrent one; retry it. "
            "Nothing was changed; the view was reloaded."
        )
        block = api.call("GET", f"/calendars/events/block-slots/{kept['id']}").json()
        assert block["title"] == "Inventory"

        view.box(gone["id"]).click()
        view.opened("editor")
        view.settled()
        deleted = api.call("DELETE", f"/calendars/events/{gone['id']}", json={})
        assert deleted.status_code == 201, deleted.text
        driver.find_element("id", "editor-title-input").send_keys(" (late)")
        view.click("editor-save")
        view.wait.until(lambda _: "(404)" in view.text("message"))
        view.settled()
        assert view.text("message") == (
            "Not found (404): Event not found; it may have been deleted elsewhere. "
            "The view was reloaded."
        )
        assert [b.block_id for b in view.boxes()] == [kept["id"]], "reloaded without it"

"""Fixture documents an attacker (or a careless test suite) writes, on both backends: YAML
that expands without bound, YAML values JSON has no word for, nesting deeper than a parser
recurses, calendar fields the API refuses, rules the API's work budget refuses, and rows the
database itself refuses. Each is a 400 naming a JSON path, never a 500, and stores nothing.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.errors import InvalidInput
from slotblock.service import demo
from slotblock.service.container import build_services
from slotblock.store import Store
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits
from tests.conftest import snapshot
from tests.toolkit.conftest import ADMIN, load

pytestmark = pytest.mark.anyio

BLOCK = "{calendarId: c1, startTime: '2026-01-05T09:00:00Z', endTime: '2026-01-05T10:00:00Z'}"


def document(calendar: str = "{id: c1, name: Room}", blocks: str = f"[{BLOCK}]") -> str:
    return f"""
locations:
  - id: hostileLocation01
    timezone: Europe/Paris
    calendars: [{calendar}]
    blocks: {blocks}
"""


async def refused(client: httpx.AsyncClient, store: Store, doc: str | dict[str, Any]) -> list[str]:
    before = await snapshot(store)
    answer = await load(client, doc)
    assert answer.status_code == 400, answer.text
    assert await snapshot(store) == before
    messages: list[str] = answer.json()["message"]
    return messages


async def test_yaml_aliases_are_refused_before_they_expand(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    """593 bytes of nested aliases once loaded (201) and answered 69 MB calendars."""
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    laughs += [
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    text = "x:\n" + "\n".join("  " + line for line in laughs) + "\nlocations: []\n"
    messages = await refused(admin_client, store, text)
    assert messages == [
        "$: not valid JSON or YAML: YAML anchors and aliases (&name, *name) are not allowed (line 2)"
    ]
    # An anchor alone is refused too: the document must mean what JSON would.
    [only] = await refused(admin_client, store, document(calendar="&c {id: c1, name: Room}"))
    assert "anchors and aliases" in only


@pytest.mark.parametrize(
    ("calendar", "blocks", "problem"),
    [
        (
            "{id: c1, name: !!binary aGVsbG8=}",
            f"[{BLOCK}]",
            "$.locations[0].calendars[0].name: a YAML !!binary value is not JSON",
        ),
        (
            "{id: c1, name: Room}",
            "[{calendarId: c1, startTime: !!timestamp 2026-01-05T09:00:00Z, endTime: x}]",
            "$.locations[0].blocks[0].startTime: a YAML timestamp is not JSON",
        ),
        (
            "{id: c1, name: Room, openHours: !!set {a, b}}",
            f"[{BLOCK}]",
            "$.locations[0].calendars[0].openHours: a YAML !!set is not JSON",
        ),
        (
            "{id: c1, name: Room, slotDuration: .nan}",
            f"[{BLOCK}]",
            "$.locations[0].calendars[0].slotDuration: must be a finite number",
        ),
        (
            "{id: c1, name: Room, 7: seven}",
            f"[{BLOCK}]",
            "$.locations[0].calendars[0]: mapping keys must be strings",
        ),
        (
            "{id: c1, name: Room}",
            "[{calendarId: c1, title: \"a\\0b\", startTime: '2026-01-05T09:00:00Z', "
            "endTime: '2026-01-05T10:00:00Z'}]",
            "$.locations[0].blocks[0].title: must not contain NUL characters",
        ),
        (
            "{id: c1, name: Room, lookBusyConfig: !!omap [{enabled: true}]}",
            f"[{BLOCK}]",
            "$.locations[0].calendars[0].lookBusyConfig[0]: a YAML !!omap",
        ),
    ],
)
async def test_values_json_cannot_hold_are_named_by_path(
    admin_client: httpx.AsyncClient, store: Store, calendar: str, blocks: str, problem: str
) -> None:
    messages = await refused(admin_client, store, document(calendar, blocks))
    assert any(m.startswith(problem) for m in messages), messages


async def test_nesting_is_bounded(admin_client: httpx.AsyncClient, store: Store) -> None:
    """5,000 brackets: JSON's parser stops at 1,024 levels, YAML's recursed until a
    RecursionError (a 500); 500 levels of JSON parse, and are refused by the walk."""
    [deep_yaml] = await refused(admin_client, store, "locations: " + "[" * 5000)
    assert deep_yaml.startswith("$: not valid JSON or YAML: nested deeper than 32 levels")
    nested: Any = []
    for _ in range(500):
        nested = [nested]
    messages = await refused(admin_client, store, {"locations": nested})
    assert messages == ["$.locations" + "[0]" * 31 + ": nested deeper than 32 levels"]


async def test_calendars_are_checked_like_api_writes(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    calendar = (
        "{id: c1, name: Room, openHours: x, slotDuration: abc, "
        "availabilities: [{date: 5, hours: []}], teamMembers: [{userId: u1, priority: 3}], "
        "calendarType: party}"
    )
    messages = await refused(admin_client, store, document(calendar))
    for path in ("openHours", "slotDuration", "availabilities[0].date", "teamMembers[0].priority",
                 "calendarType"):  # fmt: skip
        assert any(m.startswith(f"$.locations[0].calendars[0].{path}:") for m in messages), (
            path,
            messages,
        )


async def test_rules_are_checked_with_the_api_work_budget(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    """A never-matching rule took 5.4 s on the event loop; now the work budget stops it."""
    never = (
        "[{calendarId: c1, startTime: '2026-02-28T09:00:00Z', endTime: '2026-02-28T10:00:00Z', "
        "rrule: 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30'}]"
    )
    [problem] = await refused(admin_client, store, document(blocks=never))
    assert problem.startswith("$.locations[0].blocks[0].rrule: the RRULE's occurrences are too")


async def test_series_hold_at_most_the_api_exceptions(
    admin_settings: Settings, store: Store
) -> None:
    exdates = ",".join(f"2026010{d}T090000Z" for d in range(6, 10))
    moved = "{originalStartTime: '2026-01-10T09:00:00Z', title: moved}"
    many = (
        "[{calendarId: c1, startTime: '2026-01-05T09:00:00Z', endTime: '2026-01-05T10:00:00Z', "
        f'rrule: "FREQ=DAILY\\nEXDATE:{exdates}", instances: [{moved}]}}]'
    )
    app = create_app(admin_settings.model_copy(update={"max_exceptions": 4}), store)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        [problem] = await refused(client, store, document(blocks=many))
        assert problem == (
            "$.locations[0].blocks[0]: a series may hold at most 4 exceptions "
            "(EXDATEs plus edited instances)"
        )
        assert (
            await load(client, document(blocks=many.replace(f", instances: [{moved}]", "")))
        ).status_code == 201


async def test_a_row_the_database_refuses_is_named_by_path(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    """A constraint of the database's own at the last block answered 500: now the load is
    tried again row by row and the refusal named."""
    async with store.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("ALTER TABLE blocks ADD CONSTRAINT no_refused CHECK (title <> 'refused')")
            )
        else:
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER no_refused BEFORE INSERT ON blocks WHEN NEW.title = 'refused' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    last = (
        "[{calendarId: c1, startTime: '2026-01-05T09:00:00Z', endTime: '2026-01-05T10:00:00Z'}, "
        "{calendarId: c1, title: refused, startTime: '2026-01-06T09:00:00Z', "
        "endTime: '2026-01-06T10:00:00Z'}]"
    )
    messages = await refused(admin_client, store, document(blocks=last))
    assert messages == ["$.locations[0].blocks[1]: is refused by a constraint of the database"]


async def test_two_loads_of_one_location_at_once(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    """Both pass the "already exists" check before either commits (PostgreSQL, read
    committed): the second is refused by the database, and named, never a 500."""
    answers = await asyncio.gather(*(load(admin_client, document()) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 400], [a.text for a in answers]
    [problem] = next(a for a in answers if a.status_code == 400).json()["message"]
    assert problem.startswith("$.locations[0]")
    assert "already" in problem


async def test_a_zone_name_the_lookup_cannot_open(
    admin_client: httpx.AsyncClient, store: Store
) -> None:
    doc = document().replace("Europe/Paris", "Europe/" + "x" * 300)
    [problem] = await refused(admin_client, store, doc)
    assert problem.startswith("$.locations[0].timezone: unknown IANA timezone")


async def test_the_demo_calendars_export_and_load_again(
    admin_client: httpx.AsyncClient, store: Store, settings: Settings
) -> None:
    services = build_services(store, settings)
    await demo.ensure_demo(services.tenants, services.calendars, services.blocks)
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    assert exported["locations"][0]["calendars"][0]["openHours"]
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    answer = await load(admin_client, exported)
    assert answer.status_code == 201, answer.text
    assert (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json() == exported


async def test_checking_a_document_leaves_the_event_loop_free(store: Store) -> None:
    """Shapes and rules are checked in a worker thread, as API writes check theirs: the loop
    keeps ticking while 4,000 sparse rules (about a second of checks) are walked."""
    sparse = "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=5;BYDAY=MO"  # Jan 5 on a Monday: every 5-11 years
    blocks: list[dict[str, Any]] = [
        {"calendarId": "c1", "startTime": "2026-01-05T09:00:00Z", "endTime": "2026-01-05T10:00:00Z",
         "rrule": sparse}
        for _ in range(4000)
    ]  # fmt: skip
    blocks.append({"calendarId": "nope", "startTime": "x", "endTime": "y"})  # refused at the end
    doc = {
        "locations": [
            {"id": "L1", "timezone": "UTC", "calendars": [{"id": "c1"}], "blocks": blocks}
        ]
    }
    fixtures = FixtureService(store, RuleLimits(), lambda: 0)
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    # A full collection of the test session's heap stops every thread: not what is measured.
    gc.collect()
    gc.disable()
    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        with pytest.raises(InvalidInput):
            await fixtures.load(doc)
    finally:
        gc.enable()
    took = time.perf_counter() - started
    ticker.cancel()
    assert took > 0.4, took  # enough work to see the loop stall, were it on the loop
    assert max(gaps) < min(0.3, took / 2), (max(gaps), took)

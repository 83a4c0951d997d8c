"""The plugin's capturing webhook receiver, as an integrator uses it (pytest in a project
folder of its own, on SQLite and on PostgreSQL): one call subscribes a local receiver, a
test waits for the next N deliveries, every signature is verified (by the official SDK),
and a test event and a redelivery reach it; a bad signature or a missing delivery fails the
wait with a message saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testing.test_plugin_options import run_pytest

pytestmark = pytest.mark.slow

TESTS = """
import base64
import json
import time
import urllib.request

import pytest

DOC = {"locations": [{"id": "loc1", "timezone": "UTC",
                      "calendars": [{"id": "cal1", "name": "Room"}],
                      "tokens": [{"id": "t1", "token": "pit-plugin-token-0001"}]}]}
HEADERS = {"Authorization": "Bearer pit-plugin-token-0001", "Version": "2021-07-28",
           "Content-Type": "application/json"}


def create(slotblock, hour):
    body = {"locationId": "loc1", "calendarId": "cal1",
            "startTime": f"2026-01-05T{hour:02}:00:00Z", "endTime": f"2026-01-05T{hour:02}:30:00Z"}
    request = urllib.request.Request(f"{slotblock.url}/calendars/events/block-slots",
                                     data=json.dumps(body).encode(), headers=HEADERS)
    with urllib.request.urlopen(request) as response:
        return json.load(response)["id"]


def settled(slotblock, subscription_id):
    # the subscription's deliveries once each has its result recorded (the server records
    # an attempt after the receiver has answered it)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sent = slotblock.webhooks.deliveries(subscription_id=subscription_id)
        if all(s["state"] != "pending" for s in sent):
            return sent
        time.sleep(0.05)
    return sent


def dead_letters(slotblock):
    deadline = time.monotonic() + 20
    while not (found := slotblock.webhooks.dead_letters()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.mark.slotblock_fixture(DOC)
def test_the_next_deliveries(slotblock):
    hooks = slotblock.webhooks.receiver()
    assert hooks.verified_by == "gohighlevel-api-client"
    ids = {create(slotblock, 9), create(slotblock, 10)}
    got = hooks.wait(2, timeout=20)
    assert [d.type for d in got] == ["BlockedSlotCreate"] * 2
    assert {d.json["blockedSlot"]["id"] for d in got} == ids
    sent = settled(slotblock, hooks.subscription_id)
    assert {s["body"] for s in sent} == {d.body.decode() for d in got}
    assert {s["signature"] for s in sent} == {d.signature for d in got}
    with pytest.raises(AssertionError, match="0 of the 1 webhook deliveries awaited"):
        hooks.wait(1, timeout=0.3)
    create(slotblock, 11)
    [third] = hooks.wait(1, timeout=20)
    assert third.json["blockedSlot"]["startTime"].startswith("2026-01-05T11:00")


@pytest.mark.slotblock_fixture(DOC)
def test_a_test_event_dead_lettered_then_redelivered(slotblock):
    hooks = slotblock.webhooks.receiver(events=["BlockedSlotDelete"])
    hooks.answer(400)
    queued = slotblock.webhooks.test(hooks.subscription_id)
    [dead] = dead_letters(slotblock)
    assert dead["id"] == queued["id"] and dead["lastError"] == "HTTP 400 (not retried)"
    slotblock.webhooks.redeliver(dead["id"])
    [again] = hooks.wait(1, timeout=20)
    assert (again.type, again.webhook_id) == ("WebhookTest", str(queued["id"]))


@pytest.mark.slotblock_fixture(DOC)
def test_a_forged_delivery_fails_the_wait(slotblock):
    hooks = slotblock.webhooks.receiver()
    forged = base64.b64encode(b"x" * 64).decode()
    request = urllib.request.Request(hooks.url, data=b'{"type": "BlockedSlotCreate"}',
                                     headers={"x-ghl-signature": forged})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 401
    with pytest.raises(AssertionError, match="signature did not verify"):
        hooks.wait(1, timeout=5)
"""


def test_the_capturing_receiver(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "test_integration.py").write_text(TESTS)
    result = run_pytest(tmp_path, "-q", "--slotblock-database-url", database_url)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout, result.stdout
    # the session's header says that its server may reach loopback
    header = run_pytest(tmp_path, "--co", "--slotblock-database-url", database_url)
    assert "may send webhooks to loopback (127.0.0.0/8,::1/128)" in header.stdout

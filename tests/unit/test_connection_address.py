"""What is shown of a connected calendar's address (core/connection_address.py)."""

from __future__ import annotations

import json

from slotblock.core.connection_address import is_redacted, redacted, redacted_body, scrubbed

GOOGLE = (
    "https://calendar.google.com/calendar/ical/ann%40example.com/private-0123456789abcdef/basic.ics"
)


def test_the_path_and_query_are_never_shown() -> None:
    assert redacted(GOOGLE) == "https://calendar.google.com/…"
    assert redacted("http://127.0.0.1:8800/cal.ics?token=s3cret") == "http://127.0.0.1:8800/…"
    assert redacted("https://example.com") == "https://example.com/…"
    assert redacted("https://ann:pw@example.com/x") == "https://example.com/…"


def test_a_redacted_address_is_told_from_an_address() -> None:
    assert is_redacted(redacted(GOOGLE)) and is_redacted("http://127.0.0.1:8800/…")
    assert not is_redacted(GOOGLE) and not is_redacted("https://example.com/a/…/b")


def test_an_error_message_loses_the_path_in_any_spelling() -> None:
    decoded = GOOGLE.replace("%40", "@")
    for message in (
        f"GET {GOOGLE} failed",
        f"GET {decoded} failed",
        "path /calendar/ical/ann@example.com/private-0123456789abcdef/basic.ics: 404",
    ):
        clean = scrubbed(message, GOOGLE)
        assert "private-0123456789abcdef" not in clean, clean
    assert scrubbed(f"GET {GOOGLE} failed", GOOGLE) == "GET https://calendar.google.com/… failed"
    assert scrubbed("HTTP 500", "https://example.com/") == "HTTP 500"


def test_a_logged_connection_body_keeps_no_secret() -> None:
    body = json.dumps({"url": GOOGLE, "password": "pw", "userId": "u1"}).encode()
    kept = json.loads(redacted_body(body))
    assert kept == {"url": "https://calendar.google.com/…", "password": "***", "userId": "u1"}
    assert redacted_body(b"not json") == b"***" and redacted_body(b"") == b""

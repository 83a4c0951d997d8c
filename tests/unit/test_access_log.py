"""The access log's direct line (logs.access) is the line `logging` writes for the same
request, field for field and in the same order; anything but slotblock's own JSON setup
goes through `logging`."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from slotblock import logs

ARGS = ("GET", "/calendars/blocked-slots", 200, 0.512)
FIELDS: dict[str, Any] = {
    "method": "GET",
    "route": "/calendars/blocked-slots",
    "status": 200,
    "duration_ms": 0.512,
    "request_id": "req-1",
    "location_id": "loc-1",
}
_TIME = re.compile(r'"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"')


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """slotblock's loggers in JSON mode, into a buffer; logging as it was afterwards."""
    root, ours = logging.getLogger(), logging.getLogger("slotblock")
    kept = (root.handlers[:], root.level, ours.handlers[:], ours.level, ours.propagate)
    stream = io.StringIO()
    logs.configure("json", stream)
    token = logs.REQUEST_ID.set("req-1")
    try:
        yield stream
    finally:
        logs.REQUEST_ID.reset(token)
        logging.captureWarnings(False)
        root.handlers[:], root.level = kept[0], kept[1]
        ours.handlers[:], ours.level, ours.propagate = kept[2], kept[3], kept[4]
        logs._direct.handler = None


def lines(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    stream.seek(0)
    stream.truncate()
    return text.splitlines()


def test_the_direct_line_is_loggings_line(configured: io.StringIO) -> None:
    logs.access(ARGS, dict(FIELDS))
    (direct,) = lines(configured)
    logs.ACCESS.addFilter(lambda _: True)  # any filter: the line goes through logging
    try:
        logs.access(ARGS, dict(FIELDS))
    finally:
        logs.ACCESS.filters.clear()
    (through_logging,) = lines(configured)
    assert _TIME.search(direct) and _TIME.search(through_logging)
    assert _TIME.sub("", direct) == _TIME.sub("", through_logging)
    assert list(json.loads(direct)) == ["time", "level", "logger", "pid", "message",
                                        "request_id", "method", "route", "status",
                                        "duration_ms", "location_id"]  # fmt: skip
    assert json.loads(direct)["message"] == "GET /calendars/blocked-slots 200 0.5ms"


def test_whatever_else_goes_through_logging(configured: io.StringIO) -> None:
    records: list[logging.LogRecord] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logs.ACCESS.addHandler(Kept())  # a handler of someone else's: it sees the record
    try:
        logs.access(ARGS, dict(FIELDS))
    finally:
        logs.ACCESS.handlers.clear()
    assert len(records) == 1 and len(lines(configured)) == 1
    logs.ACCESS.setLevel(logging.WARNING)  # access lines turned off: none either way
    try:
        logs.access(ARGS, dict(FIELDS))
    finally:
        logs.ACCESS.setLevel(logging.NOTSET)
    assert lines(configured) == []
    logging.disable(logging.INFO)
    try:
        logs.access(ARGS, dict(FIELDS))
    finally:
        logging.disable(logging.NOTSET)
    assert lines(configured) == []


def test_text_mode_writes_through_logging() -> None:
    ours = logging.getLogger("slotblock")
    kept = (ours.handlers[:], ours.level, ours.propagate)
    stream = io.StringIO()
    try:
        logs.configure("text", stream)
        assert logs._direct.handler is None
        logs.access(ARGS, dict(FIELDS))
    finally:
        ours.handlers[:], ours.level, ours.propagate = kept
    (line,) = stream.getvalue().splitlines()
    assert "INFO slotblock.access: GET /calendars/blocked-slots 200 0.5ms" in line
    assert line.endswith("location=loc-1")

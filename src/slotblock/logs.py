"""Log lines for people (text, on a terminal) or for collectors (one JSON object a line).

In JSON mode every logger writes through `JsonLines`: slotblock's own, uvicorn's (started,
stopped, its supervisor's and its errors: `uvicorn_log_config`), Python's warnings and any
other library's. Each line carries the process id (`pid`, one per worker) and, inside a
request, its `request_id`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

# The attributes every LogRecord has; anything else was passed in `extra` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# uvicorn's extra for terminals (ANSI colours): not a field.
_NOT_FIELDS = frozenset({"color_message"})

# The id of the request being answered (set by the observability middleware).
REQUEST_ID: ContextVar[str | None] = ContextVar("slotblock_request_id", default=None)


def _head(created: float, level: str, logger: str, pid: int | None, message: str) -> dict[str, Any]:
    """The fields every JSON line starts with, in order (and the request id inside one)."""
    line: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "pid": pid,
        "message": message,
    }
    request_id = REQUEST_ID.get()
    if request_id is not None:
        line["request_id"] = request_id
    return line


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, pid, message, the request id inside a
    request, and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = _head(
            record.created,
            record.levelname.lower(),
            record.name,
            record.process,
            record.getMessage(),
        )
        line.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _NOT_FIELDS}
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class Text(logging.Formatter):
    """`time level logger: message key=value…` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        location = getattr(record, "location_id", None)
        if request_id:
            text += f" id={request_id}"
        if location:
            text += f" location={location}"
        return text


def wants_json(log_format: str, stream: TextIO) -> bool:
    return log_format == "json" or (log_format == "auto" and not stream.isatty())


def configure(log_format: str, stream: TextIO | None = None) -> None:
    """Send slotblock's loggers to `stream` (stderr) in the chosen format; in JSON mode also
    every other logger's warnings and Python's warnings."""
    out = stream or sys.stderr
    as_json = wants_json(log_format, out)
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines() if as_json else Text())
    root = logging.getLogger("slotblock")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    _direct.handler = handler if as_json else None
    if as_json:
        logging.captureWarnings(True)
        everything = logging.getLogger()
        everything.handlers[:] = [handler]
        if everything.level == logging.NOTSET or everything.level > logging.WARNING:
            everything.setLevel(logging.WARNING)


def uvicorn_log_config(log_format: str, stream: TextIO | None = None) -> dict[str, Any] | None:
    """uvicorn's `log_config` in JSON mode (its loggers through `JsonLines`, on stderr); None
    in text mode (uvicorn's own format)."""
    if not wants_json(log_format, stream or sys.stderr):
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLines"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


# --- the access log --------------------------------------------------------------------------
#
# One line per request is the log's hottest path: through `logging` it costs a LogRecord, a
# caller lookup and a formatter pass over the record's attributes (about 20 us a request
# here, a fifth of a cached answer's time). In JSON mode, when slotblock's loggers are as
# `configure` left them, `access` writes the same line directly: the same fields in the same
# order, through the same handler's stream, under its lock. Anything else — text mode, a
# handler, filter or level set on the access logger by someone else, `logging.disable` —
# goes through `logging` as before.

ACCESS = logging.getLogger("slotblock.access")
ACCESS_FORMAT = "%s %s %d %.1fms"


class _Direct:
    """The handler `configure` installed in JSON mode (None in text mode, or before)."""

    handler: logging.StreamHandler[TextIO] | None = None


_direct = _Direct()


def access(args: tuple[str, str, int, float], fields: dict[str, Any]) -> None:
    """The access log's line for one request: `ACCESS_FORMAT % args` and `fields`."""
    handler = _direct.handler
    if handler is None or not _configured_as_left(handler):
        ACCESS.info(ACCESS_FORMAT, *args, extra=fields)
        return
    line = _head(time.time(), "info", ACCESS.name, os.getpid(), ACCESS_FORMAT % args)
    line.update(fields)
    text = orjson.dumps(line, default=str).decode() + handler.terminator
    with handler.lock:  # type: ignore[union-attr]
        handler.stream.write(text)
        handler.stream.flush()


def _configured_as_left(handler: logging.Handler) -> bool:
    """Whether a record of the access logger would reach `handler` alone, unfiltered."""
    owner = ACCESS.parent
    return (
        ACCESS.isEnabledFor(logging.INFO)
        and not ACCESS.handlers
        and not ACCESS.filters
        and ACCESS.propagate
        and owner is not None
        and owner.handlers == [handler]
        and not owner.filters
        and not handler.filters
        and handler.level <= logging.INFO
        and not owner.propagate
    )

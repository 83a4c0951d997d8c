"""Running the HTTP server: the port check, one or several worker processes, and the
environment the workers share (database URL, the metrics directory)."""

from __future__ import annotations

import os
import socket
import tempfile
from contextlib import ExitStack

import uvicorn

from slotblock import logs
from slotblock.config import Settings


class PortInUse(Exception):
    """The address cannot be listened on."""


def check_port(host: str, port: int) -> None:
    """Fail now, in one line, if `host:port` cannot be bound (before any banner or token)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise PortInUse(f"cannot listen on {host}:{port}: {reason}") from None


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted. Several workers share the port (uvicorn's
    supervisor), each with its own pools: on PostgreSQL up to 3 × `pool_size` connections
    (SQLAlchemy's pool and overflow, and the direct reads' pool)."""
    logs.configure(settings.log_format)
    from slotblock.api.server import uvicorn_options  # noqa: PLC0415 - the web stack, late

    options = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,  # slotblock writes its own (api/middleware/observability.py)
        **uvicorn_options(settings),
    }
    log_config = logs.uvicorn_log_config(settings.log_format)
    if log_config is not None:  # JSON: uvicorn's own lines too (text: uvicorn's format)
        options["log_config"] = log_config
    if workers == 1:
        from slotblock.api.app import create_app  # noqa: PLC0415 - the web stack, late

        uvicorn.run(create_app(settings), **options)
        return
    with ExitStack() as stack:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            directory = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="slotblock-metrics-")
            )
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        os.environ["SLOTBLOCK_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "slotblock.api.workers:app",
            factory=True,
            workers=workers,
            # A worker still importing the app on a busy machine is not hung.
            timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
            **options,
        )

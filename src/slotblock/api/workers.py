"""The app of one worker process of `slotblock serve --workers N`: settings from the
environment, which `serve` has completed before starting the workers."""

from __future__ import annotations

import atexit
import os

from fastapi import FastAPI
from prometheus_client import multiprocess

from slotblock import logs
from slotblock.api.app import create_app
from slotblock.api.server import uvicorn_options
from slotblock.config import Settings


def app() -> FastAPI:
    settings = Settings()
    logs.configure(settings.log_format)
    uvicorn_options(settings)  # this process's header deadline
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A worker that stops leaves the live gauges (pool in use, cache size) of the others.
        atexit.register(multiprocess.mark_process_dead, os.getpid())
    return create_app(settings)

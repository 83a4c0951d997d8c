"""The app of one worker process of `slotblock serve --workers N`: settings from the
environment, which `serve` has completed before starting the workers."""

from __future__ import annotations

from fastapi import FastAPI

from slotblock import logs
from slotblock.api.app import create_app
from slotblock.config import Settings


def app() -> FastAPI:
    settings = Settings()
    logs.configure(settings.log_format)
    return create_app(settings)

"""Where the official OpenAPI documents lie, and how tests load them.

SLOTBLOCK_SPEC_DIR, else ../shared/spec/leadconnector beside the repository. Without them a
test skips (outside CI) with the reason; in CI it fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

SPEC_DIR = Path(
    os.environ.get(
        "SLOTBLOCK_SPEC_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "spec" / "leadconnector",
    )
)
IMPLEMENTED = (
    "get-blocked-slots",
    "create-block-slot",
    "edit-block-slot",
    "delete-event",
    "get-calendars",
    "create-calendar",
    "get-calendar",
    "update-calendar",
    "delete-calendar",
    "get-groups",
    "create-calendar-group",
    "edit-group",
    "delete-group",
    "get-slots",
)


def spec_file(version: str, *parts: str) -> Path:
    path = SPEC_DIR.joinpath(version, *parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"CI needs the official spec at {path}")
        pytest.skip(f"the official spec is not at {path} (set SLOTBLOCK_SPEC_DIR)")
    return path


def official(version: str) -> dict[str, Any]:
    """The official calendars document of `version` (v2 or v3)."""
    document: dict[str, Any] = json.loads(spec_file(version, "apps", "calendars.json").read_text())
    return document


def common(version: str) -> dict[str, Any]:
    """The official common schemas (error bodies) beside it."""
    document: dict[str, Any] = json.loads(
        spec_file(version, "common", "common-schemas.json").read_text()
    )
    return document

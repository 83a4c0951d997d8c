"""One version everywhere, and the files that ship it stay readable by every tool."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import slotblock

ROOT = Path(__file__).resolve().parents[2]
VERSION_HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def test_the_newest_changelog_version_is_the_package_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## [Unreleased]"
    versions = VERSION_HEADING.findall(text)
    assert versions, "no dated version in CHANGELOG.md"
    assert len(versions) == len(headings) - 1, "a version heading without a date"
    assert versions[0][0] == slotblock.__version__
    dates = [date for _, date in versions]
    assert dates == sorted(dates, reverse=True)


def test_the_dockerfile_needs_no_frontend_image_and_runs_slotblock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.MULTILINE | re.IGNORECASE)
    assert "ARG BASE_IMAGE=python:3.11-slim" in text
    assert 'ENTRYPOINT ["slotblock"]' in text
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    assert re.search(r"^USER \d+", text, re.MULTILINE), "the image runs as root"


def test_compose_publishes_one_port_and_runs_two_nodes() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "node1", "node2", "lb"} <= set(services)
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["lb"]
    assert len(services["lb"]["ports"]) == 1
    for node in ("node1", "node2"):
        assert services[node]["command"][-2:] == ["--workers", "2"]
        assert "healthcheck" in services[node]

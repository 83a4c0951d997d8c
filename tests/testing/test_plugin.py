"""The pytest plugin as an integrator gets it: a temporary project, a fresh virtualenv into
which pip installs the slotblock wheel (with pytest, the official Python SDK and
httpx-retries, which the README's example retries with), and the
README's `fixture.yaml` and `test_calendar.py` run word for word with
`pytest --slotblock-fixture fixture.yaml` — on the plugin's default SQLite, and on
PostgreSQL through `--slotblock-database-url`.

The virtualenv is built once per session, from a wheelhouse kept in pytest's cache (the
first run fills it from the package index). When it cannot be built, the test skips with
the reason (in CI it fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.toolkit.conftest import readme_file

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ["pytest", "gohighlevel-api-client==3.0.0", "httpx-retries==0.6.0"]


def _pip(*args: str, timeout: float = 240) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _build(work: Path, wheelhouse: Path) -> Path:
    """A fresh virtualenv with slotblock's wheel, pytest and the official SDK installed."""
    dist = work / "dist"
    _pip("wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT))
    [wheel] = dist.glob("slotblock-*.whl")
    wanted = [str(wheel), *REQUIREMENTS]
    try:  # the wheelhouse of an earlier run, without the index
        _pip("wheel", "-q", "--no-index", "-f", str(wheelhouse), "-w", str(wheelhouse), *wanted)
    except subprocess.CalledProcessError:
        _pip("wheel", "-q", "-f", str(wheelhouse), "-w", str(wheelhouse), *wanted)
    for stale in wheelhouse.glob("slotblock-*.whl"):
        stale.unlink()
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "-q", "--no-index", "-f", str(wheelhouse), *wanted)
    return venv


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    cache = pytestconfig.cache
    wheelhouse = (
        cache.mkdir("slotblock-wheelhouse") if cache else tmp_path_factory.mktemp("wheelhouse")
    )
    try:
        return _build(tmp_path_factory.mktemp("fresh"), Path(wheelhouse))
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        reason = f"could not build a virtualenv with slotblock: {exc} {detail[-500:]}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def test_readme_example_in_a_fresh_project(
    fresh_venv: Path, database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "fixture.yaml").write_text(readme_file("fixture.yaml"))
    (tmp_path / "test_calendar.py").write_text(readme_file("test_calendar.py"))
    command = [str(fresh_venv / "bin" / "pytest"), "--slotblock-fixture", "fixture.yaml"]
    if not database_url.startswith("sqlite"):
        command += ["--slotblock-database-url", database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "SLOTBLOCK"))}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "7 passed" in result.stdout

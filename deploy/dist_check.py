"""`make dist`'s last step: the artefacts in dist/ are what a user installs.

One sdist and one wheel, both named with the package's version; the wheel installed into a
fresh virtualenv (with pytest and the official Python SDK) answers `slotblock --version` with
that version, and the README's pytest-plugin example passes there, word for word.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

from deploy.harness import ROOT, CheckFailed, expect, version
from tests.toolkit.conftest import readme_file

PLUGIN_REQUIREMENTS = ["pytest", "gohighlevel-api-client==3.0.0"]


def artefacts(dist: Path, ver: str) -> Path:
    names = sorted(p.name for p in dist.iterdir())
    wheel = f"slotblock-{ver}-py3-none-any.whl"
    sdist = f"slotblock-{ver}.tar.gz"
    expect(names == sorted([wheel, sdist]), f"dist/ holds {names}, not {sdist} and {wheel}")
    return dist / wheel


# The web week view's files (package data): without them /ui/ fails at its first request.
WEB_VIEW = (
    "slotblock/api/web_ui/index.html",
    "slotblock/api/web_ui/app.js",
    "slotblock/api/web_ui/app.css",
    "slotblock/api/web_ui/vendor/fullcalendar/index.global.min.js",
    "slotblock/api/web_ui/vendor/fullcalendar/LICENSE.md",
)


def web_view_in(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        missing = sorted(set(WEB_VIEW) - set(archive.namelist()))
    expect(not missing, f"the wheel lacks the web view's {missing}")


def run(command: list[str], cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "SLOTBLOCK"))}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    expect(
        result.returncode == 0,
        f"{' '.join(command)}: exit {result.returncode}\n{result.stdout[-3000:]}"
        f"{result.stderr[-3000:]}",
    )
    return result.stdout


def main() -> int:
    ver = version()
    try:
        wheel = artefacts(ROOT / "dist", ver)
        web_view_in(wheel)
        with tempfile.TemporaryDirectory(prefix="slotblock-dist-") as tmp:
            work = Path(tmp)
            venv.EnvBuilder(with_pip=True).create(work / "venv")
            bin_dir = work / "venv" / "bin"
            run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)])
            said = run([str(bin_dir / "slotblock"), "--version"]).strip()
            expect(said == f"slotblock {ver}", f"slotblock --version said {said!r}")
            print(f"dist: the wheel in a fresh virtualenv says {said!r}")
            run([str(bin_dir / "python"), "-m", "pip", "install", "-q", *PLUGIN_REQUIREMENTS])
            project = work / "project"
            project.mkdir()
            (project / "fixture.yaml").write_text(readme_file("fixture.yaml"))
            (project / "test_calendar.py").write_text(readme_file("test_calendar.py"))
            out = run(
                [str(bin_dir / "pytest"), "-q", "--slotblock-fixture", "fixture.yaml"], project
            )
            summary = out.strip().splitlines()[-1]
            expect(" passed" in summary and "failed" not in summary, out[-2000:])
            print(f"dist: the README's pytest-plugin example there: {summary}")
    except CheckFailed as exc:
        print(f"dist: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

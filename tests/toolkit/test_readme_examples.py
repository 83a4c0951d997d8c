"""The README's admin API walk-through, run word for word with bash and curl against
`slotblock serve --workers 2 --fixture fixture.yaml` started as the README says (only the
port differs, so that parallel runs do not collide): two workers answer as one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import SLOTBLOCK
from tests.live import free_port, wait_ready
from tests.toolkit.conftest import readme_block_after, readme_fixture


def readme_block(after: str) -> str:
    return readme_block_after(after)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_admin_api_walk_through(tmp_path: Path) -> None:
    (tmp_path / "fixture.yaml").write_text(readme_fixture())
    start = readme_block("worker processes, to show that they answer as one):").splitlines()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    for line in start:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
    assert "slotblock serve --workers 2 --fixture fixture.yaml &" in start
    port = free_port()
    server = subprocess.Popen(
        [*SLOTBLOCK, "serve", "--workers", "2", "--fixture", "fixture.yaml", "--port", str(port)],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, seconds=60)
        script = readme_block("and then, in the same shell:").replace(
            "127.0.0.1:8000", f"127.0.0.1:{port}"
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.communicate(timeout=15)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "HTTP/1.1 429" in out and "x-ratelimit-remaining: 0" in out.lower()
    assert "retry-after: 2" in out.lower()
    assert '"Too Many Requests"}429\n200\n' in out
    assert '"hits":0' in out and '{"deleted":1}' in out
    assert "{}\n" in out and '"frozen":true' in out and '"controlled":false' in out
    afternoon = [f"2026-01-05T{h}:{m}:00+01:00" for h in range(13, 17) for m in ("00", "30")]
    assert json.dumps({"2026-01-05": {"slots": afternoon}}, separators=(",", ":")) in out
    assert json.dumps({"2026-01-05": {"slots": afternoon[5:]}}, separators=(",", ":")) in out
    assert '"status":200' in out and '"tokenId":"ciToken01"' in out
    exported = json.loads((tmp_path / "clinic.json").read_text())
    assert [b["id"] for b in exported["locations"][0]["blocks"]] == [
        "focusSeries01",
        "lunchBlock01",
    ]
    assert out.count('{"reset":') == 2 and out.count('"loaded":') == 2

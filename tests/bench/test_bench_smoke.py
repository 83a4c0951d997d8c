"""The benchmark's smoke run (`python -m bench.run --smoke`): seconds long, N=2k on SQLite,
no peers. It checks that the benchmark runs and reports every figure and target; it asserts
no timing (machines are noisy, and the figures belong in bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    [row] = [line for line in text.splitlines() if line.startswith("| sqlite | 2,000 |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 16 and all(cells), row
    assert int(cells[3]) > 0  # the seed query returned events
    for target in ("1. sqlite", "2. sqlite", "4. sqlite", "5. sqlite"):
        assert any(target in line and line[2:6] in ("PASS", "MISS") for line in text.splitlines())

"""Many nodes migrating one empty database at the same moment: every one succeeds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fleet.servers import SLOTBLOCK, empty_postgres, node_env

pytestmark = pytest.mark.slow

NODES = 4


def migrate_all_at_once(url: str) -> list[subprocess.CompletedProcess[str]]:
    env = node_env()
    processes = [
        subprocess.Popen(
            [*SLOTBLOCK, "migrate", "--database-url", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(NODES)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def assert_all_up(results: list[subprocess.CompletedProcess[str]]) -> None:
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "database is up to date" in result.stderr


@pytest.mark.postgres
def test_nodes_migrate_an_empty_postgresql_database_at_once() -> None:
    with empty_postgres() as url:
        assert_all_up(migrate_all_at_once(url))


def test_nodes_migrate_an_empty_sqlite_database_at_once(tmp_path: Path) -> None:
    database = tmp_path / "fleet.db"
    assert_all_up(migrate_all_at_once(f"sqlite:///{database}"))
    assert (tmp_path / "fleet.db.migrate.lock").exists()

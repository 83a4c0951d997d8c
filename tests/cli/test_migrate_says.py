"""`slotblock migrate` says what it did: created the schema, upgraded it from one revision to
another, or nothing to do — each with the revision the database is now at."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from slotblock.cli import app
from slotblock.store.migrate import alembic_config


def migrate(url: str) -> str:
    result = CliRunner().invoke(app, ["migrate", "--database-url", url])
    assert result.exit_code == 0, result.stderr
    return result.stderr.strip()


def _script_head() -> str:
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


def test_a_new_database_is_created_then_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    top = _script_head()
    assert migrate(url) == (
        f"created the schema (revision {top}); database is up to date (revision {top})"
    )
    assert migrate(url) == f"database is up to date (revision {top})"


def test_an_older_schema_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0003_changefeed")
    engine.dispose()
    top = _script_head()
    assert migrate(f"sqlite:///{path}") == (
        f"upgraded the schema from revision 0003_changefeed to {top}; "
        f"database is up to date (revision {top})"
    )

"""Every setting is in the README's tables, by its environment variable, with its default."""

from __future__ import annotations

import re
from pathlib import Path

from slotblock.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> dict[str, str]:
    """`SLOTBLOCK_X` → the default cell of its table row."""
    rows = re.findall(r"^\| `(SLOTBLOCK_[A-Z0-9_]+)` \| ([^|]*) \|", README.read_text(), re.M)
    return {name: default.strip() for name, default in rows}


def test_every_setting_has_a_row_with_its_default() -> None:
    rows = documented()
    missing, wrong = [], []
    for name, field in Settings.model_fields.items():
        variable = f"SLOTBLOCK_{name.upper()}"
        if variable not in rows:
            missing.append(variable)
            continue
        default = field.default
        if default == "":
            expected = "empty"
        elif isinstance(default, bool):
            expected = str(default).lower()
        elif isinstance(default, int | float | str):
            expected = str(default)
        else:
            continue  # unset or computed: the row says so in words
        cell = rows[variable].strip("`").replace(",", "")
        if cell not in (expected, expected.removesuffix(".0")):
            wrong.append(f"{variable}: README {rows[variable]!r}, code {default!r}")
    assert not missing, f"settings without a README row: {missing}"
    assert not wrong, wrong

"""Configuration mistakes, told in one line naming the environment variable.

Pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from pydantic_settings import BaseSettings

PREFIX = "SLOTBLOCK_"
# Variables that belong to slotblock's own tests and benchmark, not to the server.
_NOT_SETTINGS = ("SLOTBLOCK_TEST_",)


def variable(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def describe(error: ValidationError) -> str:
    """`SLOTBLOCK_X=value: <what it must be>` for the first problem (and how many others)."""
    problems = error.errors()
    first = problems[0]
    name = variable(".".join(str(p) for p in first["loc"]) or "settings")
    line = f"{name}={first.get('input')!s}: {first['msg'].removeprefix('Value error, ')}"
    if len(problems) > 1:
        line += f" (and {len(problems) - 1} more problem(s))"
    return line


def unknown_variables(environ: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """`SLOTBLOCK_…` variables that name no setting (a typo goes unnoticed otherwise)."""
    known = {variable(name) for name in settings.model_fields}
    return sorted(
        key
        for key in environ
        if key.upper().startswith(PREFIX)
        and key.upper() not in known
        and not key.upper().startswith(_NOT_SETTINGS)
    )


def check_consistency(metrics: str, metrics_token: str | None) -> None:
    """Settings that are each valid but do not fit together."""
    if metrics == "token" and not metrics_token:
        raise ValueError(f"{variable('metrics')}=token needs {variable('metrics_token')}")

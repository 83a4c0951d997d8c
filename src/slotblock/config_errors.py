"""Configuration mistakes, told in one line naming the environment variable.

Pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from slotblock.config import SECRETS

PREFIX = "SLOTBLOCK_"
# Variables that belong to slotblock's own tests and benchmark, not to the server.
_NOT_SETTINGS = ("SLOTBLOCK_TEST_",)


def variable(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def masked(field: str, value: object) -> str:
    """A setting's value as an error may print it: secrets as ***, a URL's password as ***."""
    text = str(value)
    if field in SECRETS:
        return "***"
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    if password:
        return text.replace(f":{password}@", ":***@", 1)
    return text


def describe(error: ValidationError) -> str:
    """`SLOTBLOCK_X=value: <what it must be>` for the first problem (and how many others)."""
    problems = error.errors()
    first = problems[0]
    field = ".".join(str(p) for p in first["loc"])
    name = variable(field or "settings")
    shown = masked(field, first.get("input"))
    line = f"{name}={shown}: {first['msg'].removeprefix('Value error, ')}"
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


def unreachable_database(url: str, error: BaseException) -> str:
    """One line for a database that cannot be reached: the setting, the URL (password
    masked), the host and the first cause that says something."""
    cause: BaseException | None = error
    reasons = []
    while cause is not None:
        text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        if text and "unavailable; retry later" not in text:
            reasons.append(f"{type(cause).__name__}: {text}")
        cause = cause.__cause__ or cause.__context__
    reason = reasons[-1] if reasons else type(error).__name__
    try:
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port or 5432}" if parts.hostname else parts.path
    except ValueError:
        where = ""
    place = f" at {where}" if where else ""
    return (
        f"{variable('database_url')}={masked('database_url', url)}: "
        f"cannot reach the database{place}: {reason}"
    )

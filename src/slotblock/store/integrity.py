"""What a database failure means, whatever the backend: a unique key taken, a reference
missing (foreign key), or the database unreachable. Drivers say it differently (SQLSTATE
on PostgreSQL, extended result codes on SQLite); the rest of slotblock sees domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from slotblock.core.errors import AlreadyExists, ReferenceMissing, StillReferenced, Unavailable

_SQLITE_CODES = {1555: "unique", 2067: "unique", 787: "foreign_key"}
_PG_STATES = {"23505": "unique", "23503": "foreign_key"}


def constraint_kind(exc: IntegrityError) -> str:
    """ "unique", "foreign_key" or "other"."""
    orig = exc.orig
    state = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if state in _PG_STATES:
        return _PG_STATES[str(state)]
    code = getattr(orig, "sqlite_errorcode", None)
    if code in _SQLITE_CODES:
        return _SQLITE_CODES[int(code)]
    text = str(orig).upper()
    if "FOREIGN KEY" in text:
        return "foreign_key"
    if "UNIQUE" in text:
        return "unique"
    return "other"


@contextmanager
def writing(*, duplicate: str, missing: str | None = None) -> Iterator[None]:
    """An insert or update: a taken key → AlreadyExists(duplicate), a missing reference →
    ReferenceMissing(missing) (a table without references gives no `missing`)."""
    try:
        yield
    except IntegrityError as exc:
        kind = constraint_kind(exc)
        if kind == "unique":
            raise AlreadyExists(duplicate) from exc
        if kind == "foreign_key" and missing is not None:
            raise ReferenceMissing(missing) from exc
        raise


@contextmanager
def deleting(referenced: str) -> Iterator[None]:
    """A delete: a row still referenced → StillReferenced(referenced)."""
    try:
        yield
    except IntegrityError as exc:
        if constraint_kind(exc) == "foreign_key":
            raise StillReferenced(referenced) from exc
        raise


def is_outage(exc: BaseException) -> bool:
    """True for failures that mean "the database cannot be reached now", not a bug."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(exc, OSError | TimeoutError | ConnectionError)


@contextmanager
def reachable() -> Iterator[None]:
    """Turn an outage into Unavailable (503 at the edge); anything else passes through."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
        if is_outage(exc) and not isinstance(exc, IntegrityError):
            raise Unavailable("the database is unavailable; retry later") from exc
        raise

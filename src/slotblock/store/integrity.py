"""What a database failure means, whatever the backend: a unique key taken, a reference
missing (foreign key), or the database unreachable. Drivers say it differently (SQLSTATE
on PostgreSQL, extended result codes on SQLite); the rest of slotblock sees domain errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
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
def writing(*, duplicate: str, missing: str) -> Iterator[None]:
    """An insert or update: a taken key → AlreadyExists(duplicate), a missing reference →
    ReferenceMissing(missing)."""
    try:
        yield
    except IntegrityError as exc:
        kind = constraint_kind(exc)
        if kind == "unique":
            raise AlreadyExists(duplicate) from exc
        if kind == "foreign_key":
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


# SQLSTATEs of a server that went away or takes no connection now: connection exceptions
# (class 08), operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03
# cannot connect now), too many connections (53300).
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
UNAVAILABLE = "the database is unavailable; retry later"


def is_outage(exc: BaseException) -> bool:
    """True for failures that mean "the database cannot be reached now", not a bug: the
    engine's (SQLAlchemy's) and the drivers' own, as the fast path's direct reads raise
    them, with one verdict."""
    if isinstance(exc, IntegrityError | sqlite3.IntegrityError):
        return False
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return True
        return exc.orig is not None and driver_outage(exc.orig)
    if isinstance(exc, sa.exc.TimeoutError):
        return True
    return driver_outage(exc)


def driver_outage(exc: BaseException) -> bool:
    """A driver's exception that SQLAlchemy would report as an outage: sqlite3's
    OperationalError and InterfaceError (locked, unreadable, missing), asyncpg's interface
    errors and the SQLSTATEs above, and socket failures and timeouts."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError | asyncpg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_OUTAGE_STATES)


@contextmanager
def reachable() -> Iterator[None]:
    """Turn an outage into Unavailable (503 at the edge); anything else passes through."""
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            raise Unavailable(UNAVAILABLE) from exc
        raise

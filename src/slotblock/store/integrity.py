"""What a database failure means, whatever the backend: a unique key taken, a reference
missing (foreign key), the database unreachable, or a transaction that lost to another.
Drivers say it differently (SQLSTATE on PostgreSQL, extended result codes on SQLite); the
rest of slotblock sees domain errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from slotblock.core.errors import (
    CONTENTION,
    AlreadyExists,
    Conflict,
    ReferenceMissing,
    StillReferenced,
    Unavailable,
)

_SQLITE_CODES = {1555: "unique", 2067: "unique", 787: "foreign_key"}
_PG_STATES = {"23505": "unique", "23503": "foreign_key"}
# SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) that mean the
# server cannot serve now, whatever the statement: class 08 (connection exception), class 53
# (insufficient resources: too many connections, out of memory or disk), 57P01-57P05 (admin
# or crash shutdown, "the database system is starting up", database dropped, idle session
# timeout) and 57014 (a statement cancelled, as the statement timeout does).
_OUTAGE_CLASSES = ("08", "53")
_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "57014"})
# A transaction that lost to a concurrent one and may simply be tried again: class 40
# (serialization failure, deadlock detected) and 55P03 (a lock not obtained in time).
_CONTENTION_CLASSES = ("40",)
_CONTENTION_STATES = frozenset({"55P03"})


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


def sqlstate(exc: BaseException) -> str:
    """The PostgreSQL SQLSTATE of a driver error, wrapped by SQLAlchemy or not ("" if none)."""
    for candidate in (exc, getattr(exc, "orig", None)):
        state = getattr(candidate, "pgcode", None) or getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return ""


def is_outage(exc: BaseException) -> bool:
    """True for failures that mean "the database cannot be reached now", not a bug: no
    connection, a connection lost, a pool or statement timeout, or a server that says it
    cannot serve (see _OUTAGE_STATES), whether SQLAlchemy wrapped the driver's error or not."""
    if isinstance(exc, IntegrityError | sqlite3.IntegrityError):
        return False
    state = sqlstate(exc)
    if state.startswith(_OUTAGE_CLASSES) or state in _OUTAGE_STATES:
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.OperationalError | sa.exc.InterfaceError):
        return not state  # an SQLSTATE not listed above is the statement's own fault
    if type(exc).__module__.startswith("asyncpg") and "InterfaceError" in _names(exc):
        return True  # the driver's own "connection closed / does not exist", unwrapped
    return driver_outage(exc)


UNAVAILABLE = "the database is unavailable; retry later"


def driver_outage(exc: BaseException) -> bool:
    """A driver's own exception (as the fast path's direct reads raise them) that SQLAlchemy
    would report as an outage: sqlite3's OperationalError and InterfaceError (locked,
    unreadable, missing), asyncpg's interface errors and the outage SQLSTATEs, and socket
    failures and timeouts."""
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError | asyncpg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state.startswith(_OUTAGE_CLASSES) or state in _OUTAGE_STATES)


_DRIVERS = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


def is_database_outage(exc: BaseException) -> bool:
    """`is_outage`, for a failure met anywhere (the edge's last handler): only an error of
    a database driver or of SQLAlchemy, or a refused or reset connection, counts; a bare
    timeout or OS error elsewhere is not the database's."""
    if not is_outage(exc):
        return False
    return type(exc).__module__.startswith(_DRIVERS) or isinstance(exc, ConnectionError)


def is_contention(exc: BaseException) -> bool:
    """True for a transaction that lost to a concurrent one (deadlock, serialization
    failure, lock timeout): worth trying again, not a bug."""
    state = sqlstate(exc)
    return state.startswith(_CONTENTION_CLASSES) or state in _CONTENTION_STATES


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


@contextmanager
def reachable() -> Iterator[None]:
    """Turn an outage into Unavailable (503 at the edge) and a lost concurrent transaction
    into Conflict (409); anything else passes through (a constraint violation too: its
    statement's `writing` says what it means)."""
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            raise Unavailable(UNAVAILABLE) from exc
        if is_contention(exc):
            raise Conflict(CONTENTION) from exc
        raise

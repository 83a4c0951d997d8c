"""Queries of the shared control plane: the fault rules, their counts and stamp, and the
snapshot every observed request reads (the clock and the rules' stamp, one statement)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.clock import ClockSetting
from slotblock.core.faults import FaultRule
from slotblock.store import clock as clock_store
from slotblock.store.tables import clock, control_state, fault_rules

_ROW = 1


def _snapshot_statement() -> sa.Select[Any]:
    stamp = sa.select(control_state.c.faults_stamp).where(control_state.c.id == _ROW)
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return sa.select(*clock_store.COLUMNS, stamp.scalar_subquery().label("stamp")).select_from(
        one.outerjoin(clock, clock.c.id == _ROW)
    )


_SNAPSHOT = _snapshot_statement()  # built once: it runs before every observed request
# The same statement as text, for a driver's own connection (store/window_query.py).
SNAPSHOT_SQL = str(_SNAPSHOT.compile(compile_kwargs={"literal_binds": True}))


def snapshot_of(row: Sequence[Any]) -> tuple[ClockSetting | None, str | None]:
    """(the stored clock, the fault rules' stamp) of a snapshot row."""
    return clock_store.setting_of(row), row[3]


async def snapshot(conn: AsyncConnection) -> tuple[ClockSetting | None, str | None]:
    """(the stored clock, the fault rules' stamp), in one statement."""
    return snapshot_of((await conn.execute(_SNAPSHOT)).one())


async def _new_stamp(conn: AsyncConnection) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stamp = secrets.token_hex(16)
    await conn.execute(
        insert(control_state)
        .values(id=_ROW, faults_stamp=stamp)
        .on_conflict_do_update(index_elements=[control_state.c.id], set_={"faults_stamp": stamp})
    )


async def rules(conn: AsyncConnection) -> tuple[list[FaultRule], str | None]:
    """The rules in the order they were added, with their counts; and their stamp."""
    found = await conn.execute(
        sa.select(
            fault_rules.c.id, fault_rules.c.rule, fault_rules.c.hits, fault_rules.c.draws
        ).order_by(fault_rules.c.seq)
    )
    stamp = await conn.execute(
        sa.select(control_state.c.faults_stamp).where(control_state.c.id == _ROW)
    )
    listed = [FaultRule.from_stored(r.id, r.rule, r.hits, r.draws) for r in found]
    return listed, stamp.scalar_one_or_none()


async def add_rule(conn: AsyncConnection, rule: FaultRule) -> None:
    await conn.execute(fault_rules.insert().values(id=rule.id, rule=rule.stored(), hits=0, draws=0))
    await _new_stamp(conn)


async def remove_rules(conn: AsyncConnection, rule_id: str | None = None) -> int:
    """Remove one rule, or all; how many were removed."""
    statement = fault_rules.delete()
    if rule_id is not None:
        statement = statement.where(fault_rules.c.id == rule_id)
    removed = (await conn.execute(statement)).rowcount
    if removed:
        await _new_stamp(conn)
    return int(removed)


async def take_draw(conn: AsyncConnection, rule_id: str) -> int | None:
    """The number (from 0) of the rule's next probability draw; None if the rule is gone."""
    found = await conn.execute(
        fault_rules.update()
        .where(fault_rules.c.id == rule_id)
        .values(draws=fault_rules.c.draws + 1)
        .returning(fault_rules.c.draws)
    )
    draws = found.scalar_one_or_none()
    return None if draws is None else int(draws) - 1


async def take_hit(conn: AsyncConnection, rule_id: str, times: int | None) -> int | None:
    """Count a hit if the rule may still fire (fewer than `times` hits); its hits then, or
    None when it is spent or gone."""
    statement = fault_rules.update().where(fault_rules.c.id == rule_id)
    if times is not None:
        statement = statement.where(fault_rules.c.hits < times)
    found = await conn.execute(
        statement.values(hits=fault_rules.c.hits + 1).returning(fault_rules.c.hits)
    )
    hits = found.scalar_one_or_none()
    return None if hits is None else int(hits)

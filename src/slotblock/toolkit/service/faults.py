"""Fault rules stored with the data (core/faults.py says what a rule is), the same for every
worker and node of one database.

Each process keeps the rules it last read and their stamp (a random value stored anew with
every added or removed rule); before each request it observes, the control plane reads the
stored stamp (with the clock, in one statement) and the rules are read again only when it
changed. A rule fires by counting in the database: a probability draw takes the rule's next
draw number, and a hit is counted only while the rule has fewer than `times` hits (one
conditional UPDATE each), so that `times` holds across processes and a seeded rule draws
the sequence one process would. A rule a process still has but another has removed, or
spent, is skipped.
"""

from __future__ import annotations

from slotblock.core.faults import FaultRule, FaultTable, RequestFacts, exempt
from slotblock.store import Store
from slotblock.toolkit.store import faults as fault_store


class SharedFaults:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = FaultTable()  # this process's copy, without authoritative counts
        self.stamp: str | None = None
        self._read = False

    @property
    def armed(self) -> bool:
        return self.table.armed

    @property
    def needs_caller(self) -> bool:
        return self.table.needs_caller

    @property
    def needs_operation(self) -> bool:
        return self.table.needs_operation

    async def follow(self, stamp: str | None) -> None:
        """Read the rules again if the stored stamp is not the one they were read at."""
        if not self._read or stamp != self.stamp:
            await self.listed()

    def forget(self) -> None:
        """Read the rules again before the next request (stored state was reset)."""
        self._read = False

    async def listed(self) -> list[FaultRule]:
        """The stored rules, with their hit counts (and this process's copy refreshed)."""
        async with self.store.read() as conn:
            rules, stamp = await fault_store.rules(conn)
        self.table = FaultTable({rule.id: rule for rule in rules})
        self.stamp, self._read = stamp, True
        return rules

    async def add(self, rule: FaultRule) -> None:
        async with self.store.begin() as conn:
            await fault_store.add_rule(conn, rule)
        self._read = False

    async def remove(self, rule_id: str | None = None) -> int:
        """Remove one rule, or every rule; how many were removed."""
        async with self.store.begin() as conn:
            removed = await fault_store.remove_rules(conn, rule_id)
        self._read = False
        return removed

    async def pick(self, facts: RequestFacts) -> FaultRule | None:
        """The first rule that fires for this request, its draw and hit counted."""
        if exempt(facts.path):
            return None
        for rule in list(self.table.rules.values()):
            if rule.wants(facts) and await self._fires(rule):
                return rule
        return None

    async def _fires(self, rule: FaultRule) -> bool:
        async with self.store.begin() as conn:
            if rule.probability is not None:
                number = await fault_store.take_draw(conn, rule.id)
                if number is None or not rule.lucky(number):
                    return False
            hits = await fault_store.take_hit(conn, rule.id, rule.times)
        if hits is None:  # spent (or removed) through another process
            rule.hits = rule.times if rule.times is not None else rule.hits
            return False
        rule.hits = hits
        return True

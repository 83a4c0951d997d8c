"""The hot path's caches without a database: bounded in bytes, and the per-week expansion
equal to expanding the window itself."""

from __future__ import annotations

import gc
import random
import sys
import threading
import tracemalloc
from dataclasses import replace

import pytest

from slotblock.core import recurrence
from slotblock.core.bounded_cache import BoundedCache
from slotblock.core.errors import TooManyInstances
from slotblock.core.instances import instances
from slotblock.core.model import Override
from slotblock.service.caches.week_expansion import WeekExpansion
from tests.unit.test_instances import DAY, START, H, block


def test_bounded_by_bytes_least_recently_used_out() -> None:
    cache: BoundedCache[str] = BoundedCache(100)
    for key in "abcd":
        cache.put(key, key, 30)
    assert cache.bytes == 90 and len(cache) == 3  # "a" went for "d"
    assert cache.get("a") is None and cache.get("b") == "b"
    cache.put("e", "e", 30)  # "c" is now the least recently used
    assert cache.get("c") is None and cache.get("b") == "b"
    assert (cache.hits, cache.misses) == (2, 2)


def test_an_entry_larger_than_the_bound_and_a_zero_bound_keep_nothing() -> None:
    cache: BoundedCache[str] = BoundedCache(10)
    cache.put("big", "x", 11)
    assert len(cache) == 0 and cache.bytes == 0
    off: BoundedCache[str] = BoundedCache(0)
    off.put("a", "a", 1)
    assert off.get("a") is None


def test_replacing_a_key_counts_its_bytes_once() -> None:
    cache: BoundedCache[str] = BoundedCache(100)
    cache.put("a", "a", 40)
    cache.put("a", "a", 50)
    assert cache.bytes == 50


RULES = ("RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY;COUNT=30", "RRULE:FREQ=HOURLY;INTERVAL=5")


@pytest.mark.parametrize("rule", RULES)
def test_weeks_give_the_windows_own_instances(rule: str) -> None:
    series = block(rule)
    moved = Override(START + 2 * DAY, START + 9 * DAY, START + 9 * DAY + H, {"title": "x"})
    series = replace(series, overrides=(moved,))
    expansion = WeekExpansion(1_000_000)
    rng = random.Random(rule)
    for _ in range(60):
        start = START + rng.randrange(-5 * DAY, 60 * DAY, 60_000)
        end = start + rng.choice((H, DAY, 7 * DAY, 23 * DAY, 40 * DAY))
        want = instances(series, start, end, 10_000)
        got = expansion.instances(series, start, end, 10_000)
        assert sorted(e.id for e in got) == sorted(e.id for e in want)
        assert {(e.id, e.start_ms, e.end_ms) for e in got} == {
            (e.id, e.start_ms, e.end_ms) for e in want
        }
    assert expansion.cache.bytes <= 1_000_000 and expansion.cache.hits > 0


def test_expansion_cache_stays_within_its_bytes() -> None:
    expansion = WeekExpansion(80_000)  # about two weeks of an hourly series
    series = block("RRULE:FREQ=HOURLY")
    for week in range(30):
        expansion.instances(series, START + week * 7 * DAY, START + (week + 1) * 7 * DAY, 10_000)
    assert 0 < expansion.cache.bytes <= 80_000
    assert 0 < len(expansion.cache) < 30


def test_a_week_over_the_limit_gives_the_windows_own_error() -> None:
    series = block("RRULE:FREQ=HOURLY")
    expansion = WeekExpansion(1_000_000)
    assert len(expansion.instances(series, START, START + 10 * H, 20)) == 10  # week: 168 > 20
    with pytest.raises(TooManyInstances):
        expansion.instances(series, START, START + 2 * DAY, 20)


def test_missing_weeks_are_expanded_one_run_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A year-long window costs one walk, not one per week; a window that moves on by a
    week costs one walk over the new week only; a window inside known weeks costs none."""
    walks: list[tuple[int, int]] = []

    def counted(b, start, end, limit, budget=None):  # type: ignore[no-untyped-def]
        walks.append((start, end))
        return instances(b, start, end, limit, budget)

    monkeypatch.setattr("slotblock.service.caches.week_expansion.instances", counted)
    series = block("RRULE:FREQ=DAILY")
    expansion = WeekExpansion(10_000_000)
    year = expansion.instances(series, START, START + 366 * DAY, 10_000)
    assert len(walks) == 1 and len(year) == len(instances(series, START, START + 366 * DAY, 10_000))
    moved = expansion.instances(series, START + 9 * DAY, START + 375 * DAY, 10_000)
    assert len(walks) == 2 and walks[1][1] - walks[1][0] <= 14 * DAY
    assert [e.id for e in sorted(moved, key=lambda e: e.start_ms)] == [
        e.id for e in instances(series, START + 9 * DAY, START + 375 * DAY, 10_000)
    ]
    expansion.instances(series, START + 40 * DAY, START + 71 * DAY, 10_000)
    assert len(walks) == 2


def test_a_run_over_the_limit_is_expanded_week_by_week() -> None:
    series = block("RRULE:FREQ=HOURLY")  # 168 a week: a run of 3 weeks holds 504
    expansion = WeekExpansion(10_000_000)
    got = expansion.instances(series, START, START + 21 * DAY, 200)
    assert len(got) == len(instances(series, START, START + 21 * DAY, 10_000)) == 504


def test_concurrent_puts_from_threads_keep_the_byte_count_exact() -> None:
    """Worker threads and the event loop share the caches: a drifting count once left the
    map empty with the count past the bound, and every later `put` raised KeyError."""
    cache: BoundedCache[int] = BoundedCache(5_000)
    errors: list[BaseException] = []
    gets = [0] * 6

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(20_000):
                key = rng.randrange(400)
                if rng.random() < 0.5:
                    cache.put(key, n, rng.randrange(1, 300))
                else:
                    cache.get(key)
                    gets[seed] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave between almost any two bytecodes
    try:
        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    stats = cache.stats()
    assert stats.bytes == cache.entry_bytes() <= cache.max_bytes
    assert stats.entries == len(cache) > 0
    assert stats.hits + stats.misses == sum(gets)
    assert stats.evictions > 0


def test_parsed_rules_are_kept_within_their_bytes() -> None:
    """A rule with hundreds of EXDATEs takes ~100 KB once parsed: 4,096 of them, as a memo
    bounded by a count kept, held over 600 MB. The memo counts them in bytes, high."""
    stamps = ",".join(f"2026{m:02d}{d:02d}T090000Z" for m in range(1, 13) for d in range(1, 29))
    text = "RRULE:FREQ=DAILY;INTERVAL=999\nEXDATE:" + stamps
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        rule = recurrence.stored_rule(text)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rule.exdates) == 336
    assert after - before <= 1_000 + 24 * len(text)  # the estimate the memo charges
    for n in range(1, 120):  # 120 x ~140 KB estimated: past the memo's bytes
        recurrence.stored_rule(f"RRULE:FREQ=DAILY;INTERVAL={n}\nEXDATE:" + stamps)
    assert 0 < recurrence._STORED.bytes <= recurrence.MEMO_BYTES


def test_get_many_is_get_of_each_key() -> None:
    cache: BoundedCache[str] = BoundedCache(300)
    for key in "abc":
        cache.put(key, key.upper(), 100)
    assert cache.get_many(["a", "x", "c"]) == ["A", None, "C"]
    assert (cache.hits, cache.misses) == (2, 1)
    cache.put("d", "D", 100)  # "b" is the least recently used now: "a" and "c" were read
    assert cache.get_many(["a", "b", "c", "d"]) == ["A", None, "C", "D"]

"""Fault rules, pure: matching, counts, seeded probability, exempt paths."""

from __future__ import annotations

from slotblock.core.faults import (
    Action,
    FaultRule,
    FaultTable,
    Match,
    RequestFacts,
    draw,
    exempt,
)

FACTS = RequestFacts("GET", "/calendars/groups", "get-groups", "loc1", "tok1")


def test_every_given_field_must_match() -> None:
    assert Match().accepts(FACTS)
    assert Match(method="get", path="/calendars/*", operation_id="get-groups").accepts(FACTS)
    assert Match(location_id="loc1", token_id="tok1").accepts(FACTS)
    assert not Match(method="POST").accepts(FACTS)
    assert not Match(path="/calendars/").accepts(FACTS)
    assert not Match(token_id="tok2").accepts(FACTS)
    assert not Match(location_id="loc1", operation_id="get-calendars").accepts(FACTS)


def test_times_counts_hits_then_stops() -> None:
    rule = FaultRule("r", Match(), Action(status=503), times=2)
    assert [rule.fires(FACTS) for _ in range(4)] == [True, True, False, False]
    assert rule.hits == 2 and not rule.active


def test_probability_is_reproducible() -> None:
    def draws(seed: int) -> list[bool]:
        rule = FaultRule("r", Match(), Action(status=500), probability=0.3, seed=seed)
        return [rule.fires(FACTS) for _ in range(200)]

    assert draws(1) == draws(1) != draws(2)
    assert 30 < draws(1).count(True) < 90


def test_a_draw_is_a_function_of_the_seed_and_its_number() -> None:
    """So that processes sharing a rule's draw count draw what one process would."""
    rule = FaultRule("r", Match(), Action(status=500), probability=0.3, seed=5)
    fired = [rule.fires(FACTS) for _ in range(50)]
    assert rule.draws == 50 and rule.hits == fired.count(True)
    assert fired == [draw(5, n) < 0.3 for n in range(50)]
    assert [rule.lucky(n) for n in range(50)] == fired


def test_stored_and_read_back() -> None:
    rule = FaultRule(
        id="r",
        match=Match(method="GET", path="/x/*", location_id="loc1"),
        action=Action(status=429, latency_ms=5, retry_after_s=3),
        times=2,
        probability=0.5,
        seed=9,
        hits=1,
        draws=4,
    )
    again = FaultRule.from_stored("r", rule.stored(), hits=1, draws=4)
    assert again == rule and again.as_json() == rule.as_json()


def test_first_rule_that_fires_wins_and_exempt_paths_never_match() -> None:
    table = FaultTable()
    table.add(FaultRule("a", Match(method="POST"), Action(status=502)))
    table.add(FaultRule("b", Match(), Action(status=429), times=1))
    assert table.armed and not table.needs_caller and not table.needs_operation
    assert (picked := table.pick(FACTS)) is not None and picked.id == "b"
    assert table.pick(FACTS) is None
    for path in ("/_admin", "/_admin/reset", "/healthz", "/readyz"):
        assert exempt(path)
        table.add(FaultRule("c", Match(), Action(status=500)))
        assert table.pick(RequestFacts("GET", path)) is None
    assert not exempt("/_adminx") and not exempt("/calendars/")


def test_429_carries_the_platform_headers() -> None:
    assert Action(status=429, retry_after_s=7).rate_limit_headers() == {
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199900",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Max": "100",
        "X-RateLimit-Remaining": "0",
        "Retry-After": "7",
    }

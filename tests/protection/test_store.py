"""The counters behind rate limits, pressure and spent challenges: in this process and in a
real Redis server, which several processes share."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from reservations.protection import rates
from reservations.protection.rates import Rate
from reservations.protection.store import MemoryStore, RedisStore, Store
from tests.protection.conftest import RedisServer
from tests.support.waiting import wait_until


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rates_parse_as_the_rules_write_them() -> None:
    assert rates.parse("120/minute") == Rate(120, 60.0)
    assert rates.parse("10/second") == Rate(10, 1.0)
    assert rates.parse("5/hour") == Rate(5, 3600.0)
    assert rates.parse("1/day") == Rate(1, 86400.0)
    assert rates.parse("off") is None
    assert rates.parse("0/minute") == Rate(0, 60.0)
    with pytest.raises(ValueError, match="rate"):
        rates.parse("ten per minute")


def test_a_burst_of_the_limit_passes_then_one_per_interval() -> None:
    clock = FakeMonotonic()
    store = MemoryStore(now=clock)
    limit = [("k", Rate(10, 60.0))]
    assert [store.hit(limit) for _ in range(10)] == [0.0] * 10
    wait = store.hit(limit)
    assert wait == pytest.approx(6.0)  # one place every 60/10 seconds
    clock.now += 5.9
    assert store.hit(limit) == pytest.approx(0.1)
    clock.now += 0.1
    assert store.hit(limit) == 0.0
    assert store.hit(limit) == pytest.approx(6.0)


def test_keys_are_independent_and_all_must_allow() -> None:
    clock = FakeMonotonic()
    store = MemoryStore(now=clock)
    tight, generous = Rate(2, 60.0), Rate(100, 60.0)
    assert store.hit([("ip", generous), ("phone-a", tight)]) == 0.0
    assert store.hit([("ip", generous), ("phone-a", tight)]) == 0.0
    assert store.hit([("ip", generous), ("phone-a", tight)]) == pytest.approx(30.0)
    # The refused request consumed nothing: another phone from the address still passes.
    assert store.hit([("ip", generous), ("phone-b", tight)]) == 0.0


def test_a_zero_rate_lets_nothing_through() -> None:
    store = MemoryStore(now=FakeMonotonic())
    assert store.hit([("k", Rate(0, 60.0))]) == 60.0


def test_stale_keys_are_swept_and_a_flood_of_keys_stays_bounded() -> None:
    clock = FakeMonotonic()
    store = MemoryStore(now=clock)
    store.MAX_KEYS = 1000
    for index in range(3000):
        store.hit([(f"k{index}", Rate(5, 1.0))])
    assert len(store._arrivals) <= 1000
    clock.now += MemoryStore.SWEEP_EVERY + 1
    store.hit([("fresh", Rate(5, 1.0))])
    assert list(store._arrivals) == ["fresh"]


def test_pressure_rises_over_the_threshold_and_holds() -> None:
    clock = FakeMonotonic()
    store = MemoryStore(now=clock)
    meter = Rate(5, 1.0)
    assert not any(store.pressure(meter, 30, count=True) for _ in range(5))
    assert store.pressure(meter, 30, count=True)  # the sixth within the second
    clock.now += 10
    assert store.pressure(meter, 30, count=False)
    assert store.pressure(meter, 30, count=True)  # calm traffic: still held
    clock.now += 31
    assert not store.pressure(meter, 30, count=True)
    assert not store.pressure(None, 30, count=True)


def unreachable() -> str | None:
    raise AssertionError("Redis was there: nothing falls back")


@pytest.fixture
def redis_store(redis_server: RedisServer) -> Iterator[RedisStore]:
    store = RedisStore(redis_server.url, "test:")
    yield store
    store.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")  # type: ignore[no-any-return]


def test_both_stores_limit_alike_in_real_time(store: Store) -> None:
    # Four a second: the fifth hit waits what is left of the quarter second after the first.
    limit = [("rl:x", Rate(4, 1.0))]
    first = time.monotonic()
    assert [store.hit(limit) for _ in range(4)] == [0.0] * 4
    wait = store.hit(limit)
    refused = time.monotonic()
    assert 0.25 - (refused - first) - 0.01 <= wait <= 0.25
    # A refused hit takes nothing: asking again is allowed only once the wait is over.
    wait_until(lambda: store.hit(limit) == 0.0, "the limit never let the next hit in")
    assert time.monotonic() - first >= 0.25 - 0.01

    assert not store.pressure(Rate(3, 10.0), 0.5, count=True)
    assert not store.pressure(Rate(3, 10.0), 0.5, count=True)
    assert not store.pressure(Rate(3, 10.0), 0.5, count=True)
    raised = time.monotonic()
    assert store.pressure(Rate(3, 10.0), 0.5, count=True)
    assert store.pressure(None, 0.5, count=False) or time.monotonic() - raised >= 0.5
    wait_until(
        lambda: not store.pressure(None, 0.5, count=False), "the pressure was never released"
    )
    assert time.monotonic() - raised >= 0.5 - 0.01


def test_processes_sharing_redis_share_the_limits(redis_server: RedisServer) -> None:
    first, second = RedisStore(redis_server.url, "s:"), RedisStore(redis_server.url, "s:")
    limit = [("rl:shared", Rate(6, 60.0))]
    outcomes = [(first if index % 2 else second).hit(limit) for index in range(8)]
    assert outcomes[:6] == [0.0] * 6
    assert all(wait > 9 for wait in outcomes[6:])
    assert first.claim("pow:once", 60, "-", fallback=unreachable) is None
    assert second.claim("pow:once", 60, "-", fallback=unreachable) == "-"
    # Keys in Redis are hashed names with the configured prefix, with an expiry.
    keys = redis_server.client().keys("s:*")
    assert set(keys) == {"s:rl:shared", "s:pow:once"}
    assert all(0 < redis_server.client().pttl(key) <= 60_000 for key in keys)
    first.close()
    second.close()


def test_without_redis_the_service_falls_back_to_this_process(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(redis_server.url, "f:")
    redis_server.stop()
    limit = [("rl:down", Rate(2, 60.0))]
    with caplog.at_level(logging.WARNING, logger="reservations.protection"):
        started = time.monotonic()
        outcomes = [store.hit(limit) for _ in range(3)]
        elapsed = time.monotonic() - started
    assert outcomes[:2] == [0.0, 0.0] and outcomes[2] > 0
    assert elapsed < 2, "one failed attempt, then the fallback without waiting on Redis"
    assert sum("redis unreachable" in record.message for record in caplog.records) == 1
    # A spent challenge is never this process's alone: it falls back to the shared store.
    assert store.claim("pow:x", 10, "-", fallback=lambda: "held elsewhere") == "held elsewhere"
    store.close()

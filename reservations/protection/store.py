"""Where the protection keeps its counters: in this process by default, or in Redis, shared
by every process and machine of the service, when ``RESERVATIONS_REDIS_URL`` is set.

Three kinds of state, all short-lived:

- **rate limits**, as a generic cell rate algorithm (GCRA): per key one "theoretical arrival
  time"; a rate of N per period lets a burst of N through, then one every period/N. Several
  keys are checked together and only consumed when all of them allow the request;
- **pressure**: a meter of booking attempts across the service and a flag that stays up
  for a while after the meter went over its rate;
- **claims** (Redis only): remembering a spent proof-of-work challenge until it expires;
  without Redis, the database does (``reservations.protection.spent``).

Keys arrive already hashed (no personal data in them). Durations come from the monotonic
clock in this process and from Redis's own clock in Redis, never from the wall clock, so
a frozen rehearsal clock does not freeze the limits.

When Redis cannot be reached the service keeps answering: it falls back to the in-process
state for a few seconds at a time and logs the outage once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from reservations import clock
from reservations.protection.rates import Rate
from reservations.settings import Settings, get_settings

log = logging.getLogger("reservations.protection")

Limit = tuple[str, Rate]

# Floating-point slack: N requests at one instant against N/period must all pass.
_EPSILON = 1e-6


class Store(Protocol):
    def hit(self, limits: Sequence[Limit]) -> float:
        """Count one request against every limit. 0 if allowed, else seconds to wait."""
        ...

    def pressure(self, meter: Rate | None, hold_seconds: float, *, count: bool) -> bool:
        """Whether the service is under pressure; with ``count``, one attempt is counted."""
        ...


class MemoryStore:
    """The state of one process."""

    MAX_KEYS = 400_000
    SWEEP_EVERY = 10.0

    def __init__(self, now: Callable[[], float] = clock.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._arrivals: dict[str, float] = {}
        self._pressure_until = -math.inf
        self._next_sweep = 0.0

    def hit(self, limits: Sequence[Limit]) -> float:
        with self._lock:
            now = self._now()
            self._sweep(now)
            return self._hit(limits, now)

    def _hit(self, limits: Sequence[Limit], now: float) -> float:
        worst = 0.0
        updates: list[tuple[str, float]] = []
        for key, rate in limits:
            if rate.count == 0:
                worst = max(worst, rate.period)
                continue
            arrival = max(self._arrivals.get(key, now), now) + rate.interval
            wait = arrival - now - rate.period
            if wait > _EPSILON:
                worst = max(worst, wait)
            updates.append((key, arrival))
        if worst > 0:
            return worst
        for key, arrival in updates:
            # Re-inserting keeps the dict in order of last use, oldest first.
            self._arrivals.pop(key, None)
            self._arrivals[key] = arrival
        return 0.0

    def pressure(self, meter: Rate | None, hold_seconds: float, *, count: bool) -> bool:
        with self._lock:
            now = self._now()
            if count and meter is not None and self._hit([("pressure", meter)], now) > 0:
                self._pressure_until = now + hold_seconds
            return now < self._pressure_until

    def _sweep(self, now: float) -> None:
        """Forget what no longer matters; under a flood of distinct keys, the oldest."""
        crowded = len(self._arrivals) > self.MAX_KEYS
        if now < self._next_sweep and not crowded:
            return
        self._next_sweep = now + self.SWEEP_EVERY
        self._arrivals = {key: at for key, at in self._arrivals.items() if at > now}
        excess = len(self._arrivals) - int(self.MAX_KEYS * 0.9)
        if excess > 0:
            for key in list(self._arrivals)[:excess]:
                del self._arrivals[key]


# Redis scripts: each decision is one round trip and atomic across every process.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""

_HIT = (
    _NOW
    + """
local worst = 0
local updates = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  if interval < 0 then
    if period > worst then worst = period end
  else
    local arrival = tonumber(redis.call('GET', key) or '0')
    if arrival < now then arrival = now end
    arrival = arrival + interval
    local wait = arrival - now - period
    if wait > 0.001 and wait > worst then worst = wait end
    updates[i] = arrival
  end
end
if worst > 0 then return tostring(worst) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(updates[i]), 'PX', math.max(1, math.ceil(updates[i] - now)))
end
return '0'
"""
)

_PRESSURE = (
    _NOW
    + """
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local over = interval < 0
if not over then
  local arrival = tonumber(redis.call('GET', KEYS[1]) or '0')
  if arrival < now then arrival = now end
  arrival = arrival + interval
  if arrival - now - period > 0.001 then
    over = true
  else
    redis.call('SET', KEYS[1], tostring(arrival), 'PX', math.max(1, math.ceil(arrival - now)))
  end
end
if over then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return 1
end
return redis.call('EXISTS', KEYS[2])
"""
)

_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
return redis.call('GET', KEYS[1])
"""


def _script_args(rate: Rate) -> list[str]:
    interval = -1.0 if rate.count == 0 else rate.interval * 1000
    return [repr(interval), repr(rate.period * 1000)]


class RedisStore:
    """State shared through Redis; the in-process store stands in while Redis is away."""

    RETRY_AFTER_OUTAGE = 5.0

    def __init__(self, url: str, prefix: str, fallback: MemoryStore | None = None) -> None:
        import redis

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            health_check_interval=30,
            decode_responses=True,
        )
        self.prefix = prefix
        self.fallback = fallback or MemoryStore()
        self._hit_script = self.client.register_script(_HIT)
        self._pressure_script = self.client.register_script(_PRESSURE)
        self._claim_script = self.client.register_script(_CLAIM)
        self._down_until = -math.inf
        self._state_lock = threading.Lock()

    def _available(self) -> bool:
        return clock.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        with self._state_lock:
            first = self._down_until == -math.inf or clock.monotonic() >= self._down_until
            self._down_until = clock.monotonic() + self.RETRY_AFTER_OUTAGE
        if first:
            log.warning(
                "redis unreachable (%s); using per-process limits for now", type(exc).__name__
            )

    def _run(self, call: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
        if self._available():
            try:
                return call()
            except self._errors as exc:
                self._failed(exc)
        return fallback()

    def hit(self, limits: Sequence[Limit]) -> float:
        keys = [self.prefix + key for key, _rate in limits]
        args = [arg for _key, rate in limits for arg in _script_args(rate)]
        result = self._run(
            lambda: float(self._hit_script(keys=keys, args=args)) / 1000,
            lambda: self.fallback.hit(limits),
        )
        return float(result)

    def pressure(self, meter: Rate | None, hold_seconds: float, *, count: bool) -> bool:
        flag = self.prefix + "pressure:on"
        if not count or meter is None:
            return bool(
                self._run(
                    lambda: self.client.exists(flag),
                    lambda: self.fallback.pressure(meter, hold_seconds, count=False),
                )
            )
        keys = [self.prefix + "pressure:meter", flag]
        args = [*_script_args(meter), str(max(1, int(hold_seconds * 1000)))]
        return bool(
            self._run(
                lambda: self._pressure_script(keys=keys, args=args),
                lambda: self.fallback.pressure(meter, hold_seconds, count=True),
            )
        )

    def claim(
        self, key: str, ttl_seconds: float, value: str, fallback: Callable[[], str | None]
    ) -> str | None:
        """Take ``key`` for ``ttl_seconds``: ``None`` if it was free, else its holder's value.

        While Redis is unreachable, ``fallback`` decides (a store every process shares: the
        database), never this process alone.
        """
        ttl = str(max(1, math.ceil(ttl_seconds * 1000)))
        result = self._run(
            lambda: self._claim_script(keys=[self.prefix + key], args=[value, ttl]), fallback
        )
        return None if result is None else str(result)

    def close(self) -> None:
        self.client.close()


_lock = threading.Lock()
_current: tuple[Settings, Store] | None = None


def get_store() -> Store:
    """This process's store, made anew when the settings were reloaded."""
    global _current
    settings = get_settings()
    with _lock:
        if _current is None or _current[0] is not settings:
            if _current is not None and isinstance(_current[1], RedisStore):
                _current[1].close()
            store: Store
            if settings.redis_url:
                store = RedisStore(settings.redis_url, settings.redis_prefix)
            else:
                store = MemoryStore()
            _current = (settings, store)
        return _current[1]

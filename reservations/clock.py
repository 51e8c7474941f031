"""The service's one clock, in the museum's time zone.

Nothing else reads the system time. In tests and rehearsals
(``RESERVATIONS_FAKE_NOW``) the clock is frozen and moved only through
``PUT /api/v1/test/clock``; the frozen instant lives in the database so every
worker process reads the same time.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

_zone: tzinfo = ZoneInfo("Asia/Shanghai")
_fake_source: Callable[[], datetime] | None = None


def configure(timezone: str, fake_source: Callable[[], datetime] | None = None) -> None:
    """Set the museum's zone and, in fake mode, where the frozen instant is read from."""
    global _zone, _fake_source
    _zone = ZoneInfo(timezone)
    _fake_source = fake_source


def zone() -> tzinfo:
    return _zone


def is_fake() -> bool:
    return _fake_source is not None


def now() -> datetime:
    """The current instant, as an aware datetime in the museum's zone."""
    if _fake_source is not None:
        return _fake_source().astimezone(_zone)
    return datetime.now(_zone)


def today() -> date:
    return now().date()


def monotonic() -> float:
    """For measuring durations only; never for rules."""
    return _time.monotonic()


def localize(day: date, hhmm: str) -> datetime:
    """The instant at ``hhmm`` on ``day`` in the museum's zone."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=_zone)

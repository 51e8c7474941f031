"""When a daily job is due: its occurrences, in the museum's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reservations import clock


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One scheduled run of a daily job: ``key`` is its day, ``at`` the instant it is due."""

    key: str
    at: datetime


def latest(time_of_day: str, now: datetime) -> Occurrence:
    """The most recent occurrence at or before ``now``."""
    at = clock.localize(now.date(), time_of_day)
    if now < at:
        at = clock.localize(now.date() - timedelta(days=1), time_of_day)
    return Occurrence(at.date().isoformat(), at)


def following(time_of_day: str, now: datetime) -> datetime:
    """The first occurrence after ``now``."""
    at = clock.localize(now.date(), time_of_day)
    if now >= at:
        at = clock.localize(now.date() + timedelta(days=1), time_of_day)
    return at


def hour_minute(time_of_day: str) -> tuple[int, int]:
    hour, minute = time_of_day.split(":")
    return int(hour), int(minute)

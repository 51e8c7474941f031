"""Waiting for a condition, never for a fixed time: tests must pass on a busy machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text

from reservations import db

T = TypeVar("T")


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = 30, interval: float = 0.01
) -> None:
    """Return as soon as ``condition()`` holds; fail, saying ``what`` never happened, once
    ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(interval)


def eventually(
    check: Callable[[], T | None], what: str = "the condition", timeout: float = 60
) -> T:
    """What ``check()`` gives as soon as it gives something; fail, saying ``what`` never
    came, once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.05)


def postgres_waits_on_a_lock() -> bool:
    """Whether a session of the test's PostgreSQL database is waiting on a lock."""
    with db.get_engine().connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return int(waiting) > 0

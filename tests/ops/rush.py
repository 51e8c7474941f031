"""A bounded booking rush against a real server, recording every answer, with a hook to
break something in the middle of it."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

from tests.support import people
from tests.support.server import REPO


@dataclass
class Answer:
    status: int  # 0: no answer (the connection broke)
    reference: str | None
    code: str | None
    retry_after: str | None
    answered_at: float


@dataclass
class Rush:
    base_url: str
    day: date
    threads: int = 6
    max_requests: int = 400
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    def _visitor(self) -> dict[str, str]:
        number = next(self._numbers)
        born = date(1960, 1, 1) + timedelta(days=number // 900)
        return people.visitor(born=born, sequence=number % 900)

    def _book(self, client: httpx.Client) -> Answer:
        body = people.booking(self.day, visitors=[self._visitor()])
        try:
            response = client.post("/api/v1/bookings", json=body)
        except httpx.HTTPError:
            return Answer(0, None, None, None, time.monotonic())
        found = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        return Answer(
            response.status_code,
            found.get("reference") if response.status_code == 201 else None,
            (found.get("error") or {}).get("code"),
            response.headers.get("retry-after"),
            time.monotonic(),
        )

    def _worker(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self.stop.is_set():
                with self._lock:
                    if len(self.answers) >= self.max_requests:
                        return
                answer = self._book(client)
                with self._lock:
                    self.answers.append(answer)
                if answer.status in (0, 503):
                    # As a client should: wait before trying again (briefly: it is a test).
                    time.sleep(0.3)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.threads)]
        for thread in threads:
            thread.start()
        return threads

    def wait_for(self, condition: Callable[[list[Answer]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition(list(self.answers)):
            assert time.monotonic() < deadline, f"rush: condition not met: {self.summary()}"
            time.sleep(0.05)

    def finish(self, threads: list[threading.Thread]) -> None:
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)

    def confirmed(self, before: float | None = None) -> set[str]:
        return {
            a.reference
            for a in self.answers
            if a.status == 201 and a.reference and (before is None or a.answered_at < before)
        }

    def summary(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.answers:
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts


def sold_out(answers: list[Answer]) -> bool:
    return any(answer.code == "sold_out" for answer in answers)


def confirmations(count: int) -> Callable[[list[Answer]], bool]:
    return lambda answers: sum(a.status == 201 for a in answers) >= count


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``reservations ARGS`` with exactly these settings, as an operator would run it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("RESERVATIONS_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "reservations.cli", *args],
        env=full,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sqlite_bookings(data_dir: Path) -> dict[str, str]:
    """Reference -> status, read straight from an embedded database."""
    connection = sqlite3.connect(data_dir / "reservations.sqlite3")
    try:
        return dict(connection.execute("SELECT reference, status FROM booking").fetchall())
    finally:
        connection.close()


def sqlite_day_counter(data_dir: Path, day: date) -> int:
    connection = sqlite3.connect(data_dir / "reservations.sqlite3")
    try:
        row = connection.execute(
            "SELECT booked FROM capacity_counter WHERE day = ? AND channel = 'individual' "
            "AND slot_id = '*'",
            (day.isoformat(),),
        ).fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0

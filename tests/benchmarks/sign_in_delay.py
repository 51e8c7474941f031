"""How long a booking waits while wrong sign-ins run: ``python -m tests.benchmarks.sign_in_delay``.

Starts the service itself (SQLite by default, ``--postgres`` for a throwaway PostgreSQL
server; one worker; loopback only), then books 20 visitors one after another, first on an
idle service, then while ``--sign-ins`` clients (16) keep sending wrong passwords for the
admin account. Each wrong sign-in costs an Argon2id verification (64 MiB); the sign-in
throttle is raised for the run so every attempt reaches it. Prints the booking latencies
(median and worst) in both phases and their ratio. Bounded: at most ``--seconds`` (60) of
load, then everything it started is stopped.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

from tests.support import people, pgcluster
from tests.support.server import launch

DAY = date(2026, 3, 10)
BOOKINGS = 20


def _bookings(base_url: str, offset: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for index in range(BOOKINGS):
            body = people.booking(
                DAY,
                phone=f"138{offset + index:08d}",
                visitors=[people.visitor(born=date(1985, 5, 5), sequence=offset + index)],
            )
            started = time.perf_counter()
            response = client.post("/api/v1/bookings", json=body)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
    return latencies


def measure(base_url: str, sign_ins: int, seconds: float) -> dict[str, float]:
    idle = _bookings(base_url, 0)
    stop = threading.Event()
    attempts = [0] * sign_ins
    deadline = time.monotonic() + seconds

    def guess(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                response = client.post(
                    "/api/v1/auth/token", data={"username": "admin", "password": "a wrong guess"}
                )
                assert response.status_code == 401, response.text
                attempts[index] += 1

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(sign_ins)]
    for thread in threads:
        thread.start()
    while sum(attempts) < sign_ins and time.monotonic() < deadline:
        time.sleep(0.05)  # every guessing client has had an answer: the load is on
    started = time.monotonic()
    try:
        loaded = _bookings(base_url, 100)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    rate = sum(attempts) / max(time.monotonic() - started, 1e-9)
    return {
        "idle_median_ms": statistics.median(idle) * 1000,
        "idle_worst_ms": max(idle) * 1000,
        "loaded_median_ms": statistics.median(loaded) * 1000,
        "loaded_worst_ms": max(loaded) * 1000,
        "sign_ins_per_second": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sign-ins", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        env = {
            "RESERVATIONS_DATA_DIR": str(Path(directory) / "data"),
            "RESERVATIONS_FAKE_NOW": "2026-03-09T10:00:00+08:00",
            "RESERVATIONS_ADMIN_USERNAME": "admin",
            "RESERVATIONS_ADMIN_PASSWORD": "admin-password-for-benchmarks",
            "RESERVATIONS_RATE_LIMITS": "off",
            "RESERVATIONS_LOGIN_MAX_FAILURES": "1000000",
            "RESERVATIONS_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
        }
        cluster = pgcluster.start() if args.postgres else None
        try:
            if cluster is not None:
                name = f"b_{uuid.uuid4().hex[:12]}"
                env["RESERVATIONS_DATABASE_URL"] = cluster.create_database(name)
            server = launch(env, Path(directory), workers=1)
            try:
                figures = measure(server.base_url, args.sign_ins, args.seconds)
            finally:
                server.stop()
        finally:
            if cluster is not None:
                cluster.stop()
    for name, value in figures.items():
        print(f"{name}: {value:.1f}")
    print(f"loaded/idle median: {figures['loaded_median_ms'] / figures['idle_median_ms']:.1f}")


if __name__ == "__main__":
    main()

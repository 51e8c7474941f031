"""No oversell of team places under a rush, and one outcome for racing reviews: real
worker processes, requests released together, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import TOMORROW, Service, admin_headers, start_server, stop_server
from tests.teams import factories
from tests.teams.helpers import error_code, team_day

TEAM_QUOTA = 100
TEAM_SIZE = 10
ATTEMPTS = 30


def fire_together(
    base_url: str, calls: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Run every call at once from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    with httpx.Client(base_url=base_url, timeout=120, limits=limits) as client:

        def run(call: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
            barrier.wait()
            return call(client)

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, calls))


def outcome(response: httpx.Response) -> str | int:
    return error_code(response) if response.status_code >= 400 else response.status_code


@pytest.mark.server
def test_team_rush_never_oversells_and_racing_reviews_have_one_outcome(
    service: Service, tmp_path: Path
) -> None:
    service.rules_file(tmp_path, team={"daily_quota": TEAM_QUOTA})
    server = start_server(service, tmp_path, workers=2)
    try:
        bodies = [
            factories.team_request(
                TOMORROW,
                slot_id=("0900", "1100")[i % 2],
                size=TEAM_SIZE,
                leader=factories.leader(born=date(1975, 1, 1)),
            )
            for i in range(ATTEMPTS)
        ]
        rush = [(lambda c, b=body: c.post("/api/v1/team-bookings", json=b)) for body in bodies]
        responses = fire_together(server.base_url, rush)
        outcomes = Counter(outcome(r) for r in responses)
        winners = TEAM_QUOTA // TEAM_SIZE
        assert outcomes == {201: winners, "sold_out": ATTEMPTS - winners}, outcomes
        with server.client() as client:
            day = team_day(client, TOMORROW)
            headers = admin_headers(client)
        assert day["team"]["booked"] == TEAM_QUOTA and day["team"]["remaining"] == 0
        assert day["individual"]["booked"] == 0

        # Admins approve and reject one of the pending winners at the same moment.
        created = next(r.json() for r in responses if r.status_code == 201)
        base = f"/api/v1/admin/team-bookings/{created['reference']}"
        reviews: list[Callable[[httpx.Client], httpx.Response]] = []
        for i in range(12):
            if i % 2:
                reviews.append(lambda c: c.post(f"{base}/approve", headers=headers))
            else:
                reviews.append(
                    lambda c: c.post(f"{base}/reject", json={"reason": "满额"}, headers=headers)
                )
        responses = fire_together(server.base_url, reviews)
        outcomes = Counter(outcome(r) for r in responses)
        assert outcomes == {200: 1, "not_pending": 11}, outcomes
        [winner] = [r.json() for r in responses if r.status_code == 200]
        with server.client() as client:
            booking = client.get(
                f"/api/v1/bookings/{created['reference']}",
                headers={"X-Booking-Token": created["manage_token"]},
            ).json()
            day = team_day(client, TOMORROW)
        assert booking["status"] == winner["status"]
        if winner["status"] == "confirmed":
            assert len(booking["tickets"]) == 1 and day["team"]["booked"] == TEAM_QUOTA
        else:
            assert booking["tickets"] == []
            assert day["team"]["booked"] == TEAM_QUOTA - TEAM_SIZE
    finally:
        log = stop_server(server)
    assert "Traceback" not in log

"""Cancellations, confirmations, departures and the job racing, against real worker
processes (SQLite with two workers, PostgreSQL): capacity is never exceeded, every place
is held by exactly one booking or offer, and no entry is offered twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TOMORROW, Service, admin_headers, start_server, stop_server
from tests.support import people
from tests.waitlist.helpers import (
    act,
    book,
    cancel,
    counted,
    join_body,
    joined,
    read,
    status_becomes,
)

QUOTA = 4
ROUNDS = 3


def together(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run every action at once from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> Any:
        barrier.wait()
        return action()

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(run, actions))


def held(client: httpx.Client, day: date) -> tuple[int, int, int]:
    """(the day's counter, people in bookings holding places, people in standing offers)."""
    admin = admin_headers(client)
    stats = client.get(f"/api/v1/admin/stats?start={day}&end={day}", headers=admin).json()
    listed = client.get(f"/api/v1/admin/waiting-list?date={day}", headers=admin).json()
    offers = sum(e["party_size"] for e in listed["entries"] if e["status"] == "offered")
    return counted(client, day)["booked"], stats["days"][0]["individual_booked"], offers


def run_job(client: httpx.Client, headers: dict[str, str]) -> int:
    response = client.post("/api/v1/admin/jobs/process-waiting-list/run", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["result"]["offered"])


def race_a_day(client: httpx.Client, day: date) -> None:
    bookings = [book(client, day) for _ in range(QUOTA)]
    entries = [
        joined(client, join_body(day, visitors=[people.visitor()])) for _ in range(QUOTA + 1)
    ]
    cancel(client, bookings[0])
    status_becomes(client, entries[0], "offered")
    admin = admin_headers(client)

    # Two cancellations and a confirmation at once, with the job running beside them.
    outcomes = together(
        [
            lambda: cancel(client, bookings[1]),
            lambda: cancel(client, bookings[2]),
            lambda: act(client, entries[0], "accept").status_code,
            lambda: run_job(client, admin),
        ]
    )
    assert outcomes[2] == 201
    status_becomes(client, entries[1], "offered")
    status_becomes(client, entries[2], "offered")
    assert [read(client, e)["status"] for e in entries] == [
        "booked",
        "offered",
        "offered",
        "waiting",
        "waiting",
    ]
    assert held(client, day) == (QUOTA, 2, 2)

    # A confirmation and a departure racing the job: the departed offer goes on, once.
    accepted, left, _ran = together(
        [
            lambda: act(client, entries[1], "accept").status_code,
            lambda: act(client, entries[2], "leave").status_code,
            lambda: run_job(client, admin),
        ]
    )
    assert (accepted, left) == (201, 200)
    status_becomes(client, entries[3], "offered")
    assert read(client, entries[4])["status"] == "waiting"
    assert held(client, day) == (QUOTA, 3, 1)
    # Booking directly stays impossible: every place is held.
    refused = client.post("/api/v1/bookings", json=people.booking(day))
    assert refused.status_code == 409


@pytest.mark.server
def test_cancellations_and_confirmations_racing_never_oversell(
    service: Service, tmp_path: Path
) -> None:
    service.rules_file(tmp_path, individual={"daily_quota": QUOTA})
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            for offset in range(ROUNDS):
                race_a_day(client, TOMORROW + timedelta(days=offset))
    finally:
        log = stop_server(server)
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.server
def test_many_places_returned_at_once_are_each_offered_once(
    service: Service, tmp_path: Path
) -> None:
    places = 6
    service.rules_file(tmp_path, individual={"daily_quota": places})
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            bookings = [book(client, TOMORROW) for _ in range(places)]
            entries = [
                joined(client, join_body(visitors=[people.visitor()])) for _ in range(places * 2)
            ]
            admin = admin_headers(client)
            # Every place comes back at once, in both workers, while the job runs twice.
            together(
                [(lambda b=b: cancel(client, b)) for b in bookings]
                + [lambda: run_job(client, admin), lambda: run_job(client, admin)]
            )
            for entry in entries[:places]:
                status_becomes(client, entry, "offered")
            # In order of joining: the first six hold the six places; the others wait.
            assert [read(client, e)["status"] for e in entries[places:]] == ["waiting"] * places
            assert held(client, TOMORROW) == (places, 0, places)
            assert run_job(client, admin) == 0
    finally:
        log = stop_server(server)
    assert "Traceback" not in log, log[-3000:]

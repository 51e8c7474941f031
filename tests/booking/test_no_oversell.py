"""No oversell under a real rush: many parallel bookings against real worker processes."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import TOMORROW, Service, start_server, stop_server
from tests.support import people

QUOTA = 30
ATTEMPTS = 120


def _fire_together(server_url: str, bodies: list[dict]) -> list[httpx.Response]:
    """Send every body at once from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(bodies))
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    with httpx.Client(base_url=server_url, timeout=120, limits=limits) as client:

        def send(body: dict) -> httpx.Response:
            barrier.wait()
            return client.post("/api/v1/bookings", json=body)

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(send, bodies))


@pytest.mark.server
def test_parallel_bookings_never_oversell(service: Service, tmp_path: Path) -> None:
    service.rules_file(tmp_path, individual={"daily_quota": QUOTA})
    server = start_server(service, tmp_path, workers=2)
    try:
        bodies = [
            people.booking(TOMORROW, visitors=[people.visitor(born=date(1985, 1, 1), sequence=i)])
            for i in range(ATTEMPTS)
        ]
        responses = _fire_together(server.base_url, bodies)
        outcomes = Counter(
            r.json()["error"]["code"] if r.status_code >= 400 else r.status_code for r in responses
        )
        assert outcomes == {201: QUOTA, "sold_out": ATTEMPTS - QUOTA}, outcomes
        with server.client() as client:
            day = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()
        assert day["days"][0]["individual"] == {"capacity": QUOTA, "booked": QUOTA, "remaining": 0}
        references = {r.json()["reference"] for r in responses if r.status_code == 201}
        assert len(references) == QUOTA
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_one_person_racing_themselves_books_once(service: Service, tmp_path: Path) -> None:
    server = start_server(service, tmp_path, workers=2)
    try:
        person = people.visitor()
        slots = ["0900", "1100", "1300", "1500"]
        bodies = [
            people.booking(TOMORROW, slot_id=slots[i % 4], visitors=[person]) for i in range(40)
        ]
        responses = _fire_together(server.base_url, bodies)
        outcomes = Counter(
            r.json()["error"]["code"] if r.status_code >= 400 else r.status_code for r in responses
        )
        assert outcomes == {201: 1, "duplicate_visitor": 39}, outcomes
        with server.client() as client:
            day = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()
        assert day["days"][0]["individual"]["booked"] == 1
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_parallel_retries_with_one_idempotency_key_book_once(
    sqlite_service: Service, tmp_path: Path
) -> None:
    server = start_server(sqlite_service, tmp_path, workers=2)
    try:
        body = people.booking(TOMORROW, visitors=[people.visitor(), people.visitor()])
        barrier = threading.Barrier(12)
        with httpx.Client(base_url=server.base_url, timeout=60) as client:

            def send(_: int) -> httpx.Response:
                barrier.wait()
                return client.post(
                    "/api/v1/bookings", json=body, headers={"Idempotency-Key": "tap-tap-tap"}
                )

            with ThreadPoolExecutor(max_workers=12) as pool:
                responses = list(pool.map(send, range(12)))
            assert {r.status_code for r in responses} == {201}
            assert len({r.json()["reference"] for r in responses}) == 1
            day = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()
        assert day["days"][0]["individual"]["booked"] == 2
    finally:
        log = stop_server(server)
    assert "Traceback" not in log

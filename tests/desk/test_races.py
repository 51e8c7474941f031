"""Walk-in places are never oversold, whatever the desks send at once: real worker
processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import Service, start_server, stop_server
from tests.desk.helpers import TUESDAY, TUESDAY_MORNING, desk_body
from tests.gate.factories import staff_headers
from tests.support import people

QUOTA = 30
ATTEMPTS = 100


@pytest.mark.server
def test_parallel_desk_bookings_never_oversell_walk_in_places(
    service: Service, tmp_path: Path
) -> None:
    service.rules_file(tmp_path, walk_in={"daily_quota": QUOTA})
    service.env["RESERVATIONS_FAKE_NOW"] = TUESDAY_MORNING
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            headers = staff_headers(client)
        bodies = [
            desk_body(visitors=[people.visitor(born=date(1950, 1, 1), sequence=i)])
            for i in range(ATTEMPTS)
        ]
        barrier = threading.Barrier(ATTEMPTS)
        limits = httpx.Limits(max_connections=ATTEMPTS, max_keepalive_connections=ATTEMPTS)
        with httpx.Client(base_url=server.base_url, timeout=120, limits=limits) as client:

            def send(body: dict) -> httpx.Response:
                barrier.wait()
                return client.post("/api/v1/desk/bookings", json=body, headers=headers)

            with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
                responses = list(pool.map(send, bodies))
            day = client.get(f"/api/v1/availability?start={TUESDAY}&end={TUESDAY}").json()
        outcomes = Counter(
            r.json()["error"]["code"] if r.status_code >= 400 else r.status_code for r in responses
        )
        assert outcomes == {201: QUOTA, "sold_out": ATTEMPTS - QUOTA}, outcomes
        walk_in = day["days"][0]["walk_in"]
        assert (walk_in["capacity"], walk_in["booked"], walk_in["remaining"]) == (QUOTA, QUOTA, 0)
        assert day["days"][0]["individual"]["booked"] == 0
        assert {r.json()["channel"] for r in responses if r.status_code == 201} == {"walk_in"}
        assert len({r.json()["reference"] for r in responses if r.status_code == 201}) == QUOTA
    finally:
        log = stop_server(server)
    assert "Traceback" not in log

"""A proof-of-work solution books once across every process and machine, with or without
Redis: without it, spent challenges are rows of the database every process shares."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import clock, db
from reservations.protection import challenge, spent
from tests.conftest import TOMORROW, LiveServer, Service, set_clock, start_server, stop_server
from tests.support import people


def spent_rows() -> list[str]:
    with db.transaction(write=False) as session:
        rows = session.connection().execute(text("SELECT nonce FROM spent_challenge"))
        return sorted(row.nonce for row in rows)


def test_a_challenge_is_spent_once_in_the_database(any_client: TestClient) -> None:
    expires = clock.now() + timedelta(minutes=5)
    assert spent.claim("nonce-a", expires, "request-1") is None
    # The same request may present it again; any other learns who holds it.
    assert spent.claim("nonce-a", expires, "request-2") == "request-1"
    assert spent.claim("nonce-b", expires, "request-2") is None
    assert spent_rows() == ["nonce-a", "nonce-b"]


def test_concurrent_claims_of_one_challenge_let_one_through(any_client: TestClient) -> None:
    expires = clock.now() + timedelta(minutes=5)
    barrier = threading.Barrier(8)
    outcomes: list[str | None] = []

    def claim(index: int) -> None:
        barrier.wait()
        outcomes.append(spent.claim("raced", expires, f"request-{index}"))

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 8 and outcomes.count(None) == 1
    holders = set(filter(None, outcomes))
    assert len(holders) == 1 and holders <= {f"request-{index}" for index in range(8)}


def test_expired_challenges_are_forgotten(any_client: TestClient) -> None:
    assert spent.claim("old", clock.now() + timedelta(minutes=5), "r") is None
    set_clock(any_client, clock.now() + timedelta(minutes=6))
    spent.purge_soon()
    assert spent.claim("new", clock.now() + timedelta(minutes=5), "r") is None
    assert spent_rows() == ["new"]


@pytest.fixture
def two_workers(sqlite_service: Service, tmp_path: Path) -> Iterator[LiveServer]:
    """Two worker processes on one SQLite file, no Redis, proof of work always."""
    sqlite_service.env.update(RESERVATIONS_RATE_LIMITS="on", RESERVATIONS_POW_DIFFICULTY="8")
    sqlite_service.rules_file(
        tmp_path,
        protection={
            "proof_of_work": "always",
            "rate_limit_per_ip": "off",
            "rate_limit_per_identity": "off",
        },
    )
    server = start_server(sqlite_service, tmp_path, workers=2)
    try:
        yield server
    finally:
        log = stop_server(server)
        assert "Traceback" not in log, log[-3000:]


@pytest.mark.server
def test_one_solution_books_once_on_two_workers_without_redis(two_workers: LiveServer) -> None:
    offer = httpx.get(f"{two_workers.base_url}/api/v1/challenge").json()
    solution = challenge.solve(offer["challenge"], offer["difficulty"])
    statuses: list[object] = []
    for index in range(8):
        body = people.booking(
            TOMORROW,
            phone=f"1370000{index:04d}",
            visitors=[people.visitor(born=date(1988, 8, 8), sequence=index)],
        )
        # A new connection each time: either worker may answer.
        response = httpx.post(
            f"{two_workers.base_url}/api/v1/bookings",
            json=body,
            headers={"X-Challenge-Solution": solution, "Connection": "close"},
            timeout=60,
        )
        statuses.append(
            response.status_code
            if response.status_code == 201
            else response.json()["error"]["details"].get("reason")
        )
    assert Counter(statuses) == {201: 1, "reused": 7}, statuses

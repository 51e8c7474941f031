"""Scale-out: two machines' worth of the service (separate data directories, two worker
processes each) on one PostgreSQL database, sharing nothing else but Redis and the secret
key. Limits and spent challenges hold across all of them, and no place is sold twice.

(Machine "a" runs two worker processes, machine "b" one: three processes in all.)"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest

from reservations.protection import challenge
from tests.conftest import TOMORROW, LiveServer, Service, _service_env, start_server, stop_server
from tests.protection.conftest import start_redis
from tests.support import people, pgcluster

pytestmark = [pytest.mark.server, pytest.mark.postgres]

QUOTA = 12


@pytest.fixture(scope="module")
def machines(
    tmp_path_factory: pytest.TempPathFactory, postgres: pgcluster.Cluster
) -> Iterator[list[LiveServer]]:
    tmp_path = tmp_path_factory.mktemp("machines")
    redis_server = start_redis(tmp_path)
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    servers: list[LiveServer] = []
    try:
        for machine, workers in (("a", 2), ("b", 1)):
            directory = tmp_path / machine
            directory.mkdir()
            env = _service_env(directory, url)
            env.update(
                RESERVATIONS_RATE_LIMITS="on",
                RESERVATIONS_REDIS_URL=redis_server.url,
                RESERVATIONS_SECRET_KEY=secret,
                RESERVATIONS_POW_DIFFICULTY="8",
            )
            service = Service(env, "postgres")
            service.rules_file(
                directory,
                individual={"daily_quota": QUOTA},
                protection={"proof_of_work": "always", "rate_limit_per_ip": "off"},
            )
            servers.append(start_server(service, directory, workers=workers))
        yield servers
    finally:
        logs = [stop_server(server) for server in servers]
        postgres.drop_database(name)
        redis_server.stop()
        for log in logs:
            assert "Traceback" not in log, log[-3000:]


def solution_from(server: LiveServer) -> str:
    offer = httpx.get(f"{server.base_url}/api/v1/challenge").json()
    return challenge.solve(offer["challenge"], offer["difficulty"])


def test_a_challenge_from_one_machine_is_good_once_on_any(machines: list[LiveServer]) -> None:
    first, second = machines
    solution = solution_from(first)
    body = people.booking(TOMORROW, visitors=[people.visitor(born=date(1991, 1, 1), sequence=1)])
    headers = {"X-Challenge-Solution": solution}
    accepted = httpx.post(f"{second.base_url}/api/v1/bookings", json=body, headers=headers)
    assert accepted.status_code == 201, accepted.text
    body = people.booking(TOMORROW, visitors=[people.visitor(born=date(1991, 1, 1), sequence=2)])
    for server in (first, second, first, second):
        again = httpx.post(f"{server.base_url}/api/v1/bookings", json=body, headers=headers)
        assert again.status_code == 428
        assert again.json()["error"]["details"]["reason"] == "reused"


def test_identity_limits_hold_across_machines_and_workers(machines: list[LiveServer]) -> None:
    id_number = people.resident_id(born=date(1966, 6, 6), sequence=5)
    statuses = []
    with httpx.Client(timeout=30) as client:
        for index in range(14):
            server = machines[index % 2]
            response = client.post(
                f"{server.base_url}/api/v1/bookings/lookup",
                json={"phone": "13800138000", "id_type": "resident_id", "id_number": id_number},
                headers={"Connection": "close"},  # a new connection: any worker may answer
            )
            statuses.append(response.status_code)
    assert Counter(statuses) == {200: 10, 429: 4}, statuses


def test_a_rush_on_both_machines_never_oversells(machines: list[LiveServer]) -> None:
    attempts = 48
    solutions = [solution_from(machines[index % 2]) for index in range(attempts)]
    barrier = threading.Barrier(attempts)

    def book(index: int) -> httpx.Response:
        body = people.booking(
            TOMORROW,
            phone=f"1360000{index:04d}",
            visitors=[people.visitor(born=date(1992, 2, 2), sequence=index)],
        )
        barrier.wait()
        return httpx.post(
            f"{machines[index % 2].base_url}/api/v1/bookings",
            json=body,
            headers={"X-Challenge-Solution": solutions[index]},
            timeout=60,
        )

    before = httpx.get(
        f"{machines[0].base_url}/api/v1/availability?start={TOMORROW}&end={TOMORROW}"
    ).json()["days"][0]["individual"]["remaining"]
    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(book, range(attempts)))
    outcomes = Counter(
        r.json()["error"]["code"] if r.status_code >= 400 else r.status_code for r in responses
    )
    assert outcomes == {201: before, "sold_out": attempts - before}, outcomes
    for server in machines:
        day = httpx.get(
            f"{server.base_url}/api/v1/availability?start={TOMORROW}&end={TOMORROW}"
        ).json()
        assert day["days"][0]["individual"] == {"capacity": QUOTA, "booked": QUOTA, "remaining": 0}

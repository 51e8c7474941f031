"""The deployment compose describes, for real on loopback: Debian's nginx with
docker/nginx.conf in front of two app servers, each with its own data directory, on one
PostgreSQL and one Redis. A rush and the gate go through nginx: the sale is exact, a ticket
enters once, and rate limits key on the client address nginx passes on."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from reservations.rehearsal import separation
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, TOMORROW, Service, _service_env
from tests.docker.test_proxy import nginx_in_front
from tests.ops.helpers import value
from tests.protection.conftest import start_redis
from tests.support import people, pgcluster
from tests.support.server import Server, launch

pytestmark = [pytest.mark.server, pytest.mark.postgres]

QUOTA = 40
# The gate's day (the rush sells TOMORROW out).
VISIT_DAY = TOMORROW + timedelta(days=1)
# Per client address, an hour: on a busy machine no allowance comes back mid-test.
PER_ADDRESS = 20


@dataclass
class Deployment:
    proxy: str
    servers: list[Server]
    cluster: pgcluster.Cluster
    database: str


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, postgres: pgcluster.Cluster
) -> Iterator[Deployment]:
    tmp_path = tmp_path_factory.mktemp("deployment")
    redis_server = start_redis(tmp_path)
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    servers: list[Server] = []
    try:
        for machine in ("a", "b"):
            directory = tmp_path / machine
            directory.mkdir()
            service = Service(_service_env(directory, url), "postgres")
            service.env.update(
                RESERVATIONS_RATE_LIMITS="on",
                RESERVATIONS_REDIS_URL=redis_server.url,
                RESERVATIONS_SECRET_KEY=secret,
                RESERVATIONS_TRUSTED_PROXIES="127.0.0.1",
                RESERVATIONS_METRICS_ALLOW="127.0.0.1",
            )
            service.rules_file(
                directory,
                individual={"daily_quota": QUOTA},
                protection={"rate_limit_per_ip": f"{PER_ADDRESS}/hour"},
            )
            if servers:
                # One set of signing keys, as compose's shared data volume gives them, with
                # that volume's mark of the clock it serves (a rehearsal's, here).
                first, data = tmp_path / "a" / "data", directory / "data"
                shutil.copytree(first / "signing-keys", data / "signing-keys")
                shutil.copy2(first / separation.MARK_FILE, data / separation.MARK_FILE)
            servers.append(launch(service.env, directory, workers=1))
        with nginx_in_front(tmp_path, *(server.base_url for server in servers)) as proxy:
            yield Deployment(proxy, servers, postgres, name)
    finally:
        logs = [server.stop() for server in servers]
        postgres.drop_database(name)
        redis_server.stop()
        for log in logs:
            assert "Traceback" not in log, log[-3000:]


def from_address(proxy: str, address: str) -> httpx.Client:
    """A client whose connections to nginx come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.Client(
        base_url=proxy, timeout=60, transport=httpx.HTTPTransport(local_address=address)
    )


def test_a_rush_through_nginx_sells_exactly_the_quota(deployment: Deployment) -> None:
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def rush(index: int) -> None:
        with from_address(deployment.proxy, f"127.0.1.{index + 1}") as client:
            for number in range(8):
                visitor = people.visitor(sequence=index * 10 + number)
                # A phone of its own: the per-identity limit counts phones too.
                phone = f"139{index * 10 + number:08d}"
                body = people.booking(TOMORROW, visitors=[visitor], phone=phone)
                response = client.post("/api/v1/bookings", json=body)
                body = response.json()
                with lock:
                    answers.append((response.status_code, body.get("reference")))

    threads = [threading.Thread(target=rush, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = [status for status, _ in answers]
    assert len(answers) == 80 and set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) == QUOTA
    stored = deployment.cluster.psql(
        "SELECT count(*) FROM booking WHERE status = 'confirmed'", deployment.database
    )
    counter = deployment.cluster.psql(
        f"SELECT booked FROM capacity_counter WHERE day = '{TOMORROW}' AND slot_id = '*'",
        deployment.database,
    )
    assert int(stored) == int(counter) == QUOTA
    # nginx spread the rush over both servers.
    for server in deployment.servers:
        scraped = httpx.get(f"{server.base_url}/metrics", timeout=30).text
        assert value(scraped, "reservations_http_requests_total", route="/api/v1/bookings") > 0
    assert httpx.get(f"{deployment.proxy}/metrics", timeout=30).status_code == 404


def test_a_ticket_enters_once_through_nginx(deployment: Deployment) -> None:
    with from_address(deployment.proxy, "127.0.2.1") as client:
        visit = people.booking(VISIT_DAY, visitors=[people.visitor(sequence=900)])
        booked = client.post("/api/v1/bookings", json=visit)
        assert booked.status_code == 201, booked.text
        for server in deployment.servers:  # each server keeps its rehearsal clock
            moved = httpx.put(
                f"{server.base_url}/api/v1/test/clock",
                json={"now": f"{VISIT_DAY}T09:05:00+08:00"},
            )
            assert moved.status_code == 200
        token = client.post(
            "/api/v1/auth/token", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
    scan = {
        "payload": booked.json()["tickets"][0]["qr_payload"],
        "gate": "east-1",
        "direction": "in",
        "headcount": None,
    }
    verdicts: list[dict[str, object]] = []

    def gate(index: int) -> None:
        with from_address(deployment.proxy, f"127.0.3.{index + 1}") as client:
            response = client.post(
                "/api/v1/gate/scan", json=scan, headers={"Authorization": f"Bearer {token}"}
            )
            verdicts.append(response.json())

    threads = [threading.Thread(target=gate, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(bool(v["admitted"]) for v in verdicts) == 1
    assert [v["reason"] for v in verdicts if not v["admitted"]] == ["already_used"] * 5


def test_rate_limits_key_on_the_address_nginx_passes_on(deployment: Deployment) -> None:
    lookup = {"phone": "13900139000", "id_type": "passport", "id_number": "E12345678"}
    with from_address(deployment.proxy, "127.0.4.1") as flooder:
        statuses = [
            flooder.post(
                "/api/v1/bookings/lookup",
                # Another visitor each time: the per-identity limit stays out of it.
                json=lookup | {"phone": f"1390014{index:04d}", "id_number": f"E1234{index:04d}"},
                # nginx replaces whatever the client claims.
                headers={"X-Forwarded-For": f"192.0.2.{index}"},
            ).status_code
            for index in range(PER_ADDRESS + 2)
        ]
    # Counted once across both servers (Redis): the allowance, then refusals.
    assert statuses[:PER_ADDRESS] == [200] * PER_ADDRESS
    assert statuses[PER_ADDRESS:] == [429, 429]
    with from_address(deployment.proxy, "127.0.4.2") as neighbour:
        assert neighbour.post("/api/v1/bookings/lookup", json=lookup).status_code == 200

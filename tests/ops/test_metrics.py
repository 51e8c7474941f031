"""/metrics: who may read it, what it counts, and that no label carries personal data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from reservations.ops import metrics
from reservations.settings import Settings
from tests.conftest import TOMORROW, Service, admin_headers, set_clock, start_in_process
from tests.ops.helpers import book, value
from tests.support import people


def read_metrics(client: TestClient) -> str:
    response = client.get("/metrics", headers=admin_headers(client))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_only_admins_read_metrics_without_an_allowed_address(client: TestClient) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    created = client.post(
        "/api/v1/admin/users",
        headers=admin_headers(client),
        json={"username": "gate1", "password": "a gate password", "role": "staff"},
    )
    assert created.status_code == 201, created.text
    token = client.post(
        "/api/v1/auth/token", data={"username": "gate1", "password": "a gate password"}
    ).json()["access_token"]
    staff = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert staff.status_code == 403
    assert staff.json()["error"]["code"] == "forbidden"
    assert "reservations_http_requests_total" in read_metrics(client)


def test_allowed_addresses_are_networks() -> None:
    networks = metrics.allowed_networks("127.0.0.1, 10.0.0.0/8,::1")
    assert metrics.address_allowed("127.0.0.1", networks)
    assert metrics.address_allowed("10.20.30.40", networks)
    assert metrics.address_allowed("::1", networks)
    assert not metrics.address_allowed("127.0.0.2", networks)
    assert not metrics.address_allowed("192.0.2.1", networks)
    assert not metrics.address_allowed("testclient", networks)
    assert not metrics.address_allowed("127.0.0.1", metrics.allowed_networks(None))
    with pytest.raises(ValueError, match="addresses or networks"):
        Settings(metrics_allow="127.0.0.1,not-a-network")


def test_requests_are_counted_by_route_template_never_by_path(client: TestClient) -> None:
    created = book(client, TOMORROW)
    assert created.status_code == 201, created.text
    reference, token = created.json()["reference"], created.json()["manage_token"]
    for _ in range(3):
        read = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
        assert read.status_code == 200
    client.get(f"/my/{reference}/{token}")
    client.get("/no/such/page/13800138000")
    text = read_metrics(client)
    route = "/api/v1/bookings/{reference}"
    assert value(text, "reservations_http_requests_total", route=route, status="200") >= 3
    assert value(text, "reservations_http_request_duration_seconds_count", route=route) >= 3
    assert value(text, "reservations_http_requests_total", route="/my/{reference}/{token}") >= 1
    assert value(text, "reservations_http_requests_total", route="unmatched", status="404") >= 1
    body = created.json()
    for secret in (reference, token, "13800138000", body["tickets"][0]["ticket_id"]):
        assert secret not in text


def test_bookings_are_counted_by_outcome(client: TestClient) -> None:
    before = read_metrics(client)

    def grown(text: str, **labels: str) -> float:
        return value(text, "reservations_bookings_total", **labels) - value(
            before, "reservations_bookings_total", **labels
        )

    assert book(client, TOMORROW).status_code == 201
    too_far = book(client, TOMORROW + timedelta(days=30))
    assert too_far.json()["error"]["code"] == "booking_window"
    monday = TOMORROW + timedelta(days=6)
    assert book(client, monday).json()["error"]["code"] == "booking_window"
    admin = admin_headers(client)
    closed = client.put(
        f"/api/v1/admin/days/{TOMORROW + timedelta(days=1)}",
        headers=admin,
        json={"individual_quota": 0},
    )
    assert closed.status_code == 200, closed.text
    assert book(client, TOMORROW + timedelta(days=1)).status_code == 409
    text = read_metrics(client)
    assert grown(text, channel="individual", outcome="confirmed") == 1
    assert grown(text, channel="individual", outcome="refused", code="booking_window") == 2
    assert grown(text, channel="individual", outcome="sold_out", code="sold_out") == 1


def test_scans_people_inside_and_places_left(client: TestClient) -> None:
    created = book(client, TOMORROW, visitors=[people.visitor(), people.visitor("李四")])
    assert created.status_code == 201, created.text
    payload = created.json()["tickets"][0]["qr_payload"]
    admin = admin_headers(client)
    before = read_metrics(client)
    scan = {"payload": payload, "gate": "east-1", "direction": "in", "headcount": None}
    early = client.post("/api/v1/gate/scan", headers=admin, json=scan)
    assert early.json()["reason"] == "wrong_date"
    set_clock(client, "2026-03-10T09:05:00+08:00")
    admin = admin_headers(client)
    assert client.post("/api/v1/gate/scan", headers=admin, json=scan).json()["admitted"]
    bogus = client.post("/api/v1/gate/scan", headers=admin, json=scan | {"payload": "ZT1.nope"})
    assert bogus.json()["reason"] == "invalid"
    text = read_metrics(client)

    def scans(verdict: str) -> float:
        name = "reservations_gate_scans_total"
        return value(text, name, verdict=verdict) - value(before, name, verdict=verdict)

    assert (scans("wrong_date"), scans("admitted"), scans("invalid")) == (1, 1, 1)
    assert value(text, "reservations_people_inside") == 1
    assert value(text, "reservations_people_inside_limit") == 600
    today = {"which": "today", "date": "2026-03-10", "channel": "individual"}
    assert value(text, "reservations_places_left", slot="all", **today) == 998
    assert value(text, "reservations_places_left", slot="0900", **today) == 248
    # Individuals book up to seven days ahead, released at midnight: 03-17 is the newest.
    release = {"which": "release", "date": "2026-03-17", "channel": "individual"}
    assert value(text, "reservations_places_left", slot="all", **release) == 1000
    assert value(text, "reservations_places_left", which="release", channel="team", slot="all")


def test_job_runs_are_counted_and_their_last_run_is_known(client: TestClient) -> None:
    admin = admin_headers(client)
    before = read_metrics(client)
    ran = client.post("/api/v1/admin/jobs/check-counters/run", headers=admin)
    assert ran.status_code == 200, ran.text
    text = read_metrics(client)
    name = "reservations_job_runs_total"
    labels = {"job": "check-counters", "outcome": "succeeded"}
    assert value(text, name, **labels) - value(before, name, **labels) == 1
    finished = value(text, "reservations_job_last_run_timestamp_seconds", **labels)
    assert finished == pytest.approx(1773021600, abs=5)  # the frozen clock, 2026-03-09 10:00
    assert value(text, "reservations_counter_drift") == 0


@pytest.fixture
def limited_client(
    sqlite_service: Service, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    sqlite_service.env["RESERVATIONS_RATE_LIMITS"] = "on"
    sqlite_service.rules_file(tmp_path, protection={"rate_limit_per_identity": "2/minute"})
    with start_in_process(sqlite_service, monkeypatch) as test_client:
        yield test_client


def test_rate_limit_refusals_are_counted(limited_client: TestClient) -> None:
    before = read_metrics(limited_client)
    lookup = {"phone": "13800138000", "id_type": "resident_id", "id_number": people.resident_id()}
    answers = [
        limited_client.post("/api/v1/bookings/lookup", json=lookup).status_code for _ in range(4)
    ]
    assert answers.count(429) == 2
    text = read_metrics(limited_client)
    name = "reservations_protection_refusals_total"
    labels = {"scope": "lookup", "refusal": "rate_limited"}
    assert value(text, name, **labels) - value(before, name, **labels) == 2

"""At the gate the team's one ticket admits the people who came, in parts, never more than
booked; occupancy counts the people admitted."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.teams import factories
from tests.teams.helpers import approve, error_code, request_visit, staff_headers


def scan(client: TestClient, headers: dict, payload: str, **changes) -> dict:
    body = {"payload": payload, "gate": "east-1", "direction": "in", "headcount": None}
    body.update(changes)
    response = client.post("/api/v1/gate/scan", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_gate_admits_the_team_by_headcount(any_client: TestClient) -> None:
    created = request_visit(any_client, factories.team_request(TOMORROW, size=35)).json()
    approved = approve(any_client, created["reference"], admin_headers(any_client)).json()
    [ticket] = approved["tickets"]

    set_clock(any_client, "2026-03-10T09:10:00+08:00")
    staff = staff_headers(any_client, admin_headers(any_client))
    too_many = any_client.post(
        "/api/v1/gate/scan",
        json={
            "payload": ticket["qr_payload"],
            "gate": "east-1",
            "direction": "in",
            "headcount": 36,
        },
        headers=staff,
    )
    assert too_many.status_code == 422 and error_code(too_many) == "validation_error"

    admitted = scan(any_client, staff, ticket["qr_payload"], headcount=30)
    assert admitted["admitted"] is True and admitted["reason"] is None
    assert admitted["ticket"]["party_size"] == 35
    assert admitted["ticket"]["ticket_id"] == ticket["ticket_id"]
    assert admitted["occupancy"]["inside"] == 30
    occupancy = any_client.get("/api/v1/occupancy").json()
    assert occupancy["inside"] == 30 and occupancy["entered_today"] == 30

    # The last five arrive later: the ticket admits them, and then nobody more.
    again = scan(any_client, staff, ticket["qr_payload"], headcount=5)
    assert again["admitted"] is True and again["remaining"] == 0
    assert again["occupancy"]["inside"] == 35
    full = scan(any_client, staff, ticket["qr_payload"], headcount=1)
    assert full["admitted"] is False and full["reason"] == "already_used"
    assert full["occupancy"]["inside"] == 35

    read = any_client.get(
        f"/api/v1/bookings/{created['reference']}",
        headers={"X-Booking-Token": created["manage_token"]},
    ).json()
    assert read["status"] == "checked_in" and read["tickets"][0]["used"] is True

    leaving = scan(any_client, staff, ticket["qr_payload"], direction="out")
    assert leaving["occupancy"]["inside"] == 0


def test_a_cancelled_team_ticket_is_refused(client: TestClient) -> None:
    created = request_visit(client, factories.team_request(TOMORROW, size=20)).json()
    [ticket] = approve(client, created["reference"], admin_headers(client)).json()["tickets"]
    client.post(
        f"/api/v1/bookings/{created['reference']}/cancel",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    set_clock(client, "2026-03-10T09:10:00+08:00")
    staff = staff_headers(client, admin_headers(client))
    refused = scan(client, staff, ticket["qr_payload"])
    assert refused["admitted"] is False and refused["reason"] == "cancelled"
    assert client.get("/api/v1/occupancy").json()["inside"] == 0

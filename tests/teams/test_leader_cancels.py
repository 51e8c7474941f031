"""The leader reads and cancels a team booking with the ordinary booking endpoints."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.teams import factories
from tests.teams.helpers import approve, error_code, request_visit, team_day


def cancel(client: TestClient, created: dict, token: str | None = None):
    return client.post(
        f"/api/v1/bookings/{created['reference']}/cancel",
        headers={"X-Booking-Token": token or created["manage_token"]},
    )


@pytest.mark.parametrize("approved", [False, True])
def test_leader_cancels_and_the_team_places_return(any_client: TestClient, approved: bool) -> None:
    leader = factories.leader()
    created = request_visit(any_client, factories.team_request(TOMORROW, leader=leader)).json()
    if approved:
        assert (
            approve(any_client, created["reference"], admin_headers(any_client)).status_code == 200
        )
    read = any_client.get(
        f"/api/v1/bookings/{created['reference']}",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    assert read.status_code == 200
    assert read.json()["organization"] == "郑州市第一中学" and read.json()["size"] == 35
    assert read.json()["status"] == ("confirmed" if approved else "pending")
    assert read.json()["cancellable_until"] == "2026-03-10T09:00:00+08:00"

    assert cancel(any_client, created, token="wrong").status_code == 404
    response = cancel(any_client, created)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert all(ticket["status"] == "void" for ticket in response.json()["tickets"])
    day = team_day(any_client, TOMORROW)
    assert day["team"]["booked"] == 0 and day["individual"]["booked"] == 0
    assert error_code(cancel(any_client, created)) == "cannot_cancel"
    # The leader's claim on the day is free again.
    again = request_visit(any_client, factories.team_request(TOMORROW, leader=leader))
    assert again.status_code == 201


def test_no_cancelling_once_the_slot_has_started(client: TestClient) -> None:
    created = request_visit(client, factories.team_request(TOMORROW)).json()
    set_clock(client, "2026-03-10T09:00:00+08:00")
    response = cancel(client, created)
    assert response.status_code == 409 and error_code(response) == "cannot_cancel"

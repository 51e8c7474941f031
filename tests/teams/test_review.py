"""Admins approve or reject pending team requests; nobody's review means expiry."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from reservations import db
from reservations.teams import service
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.teams import factories
from tests.teams.helpers import (
    approve,
    error_code,
    reject,
    request_visit,
    staff_headers,
    team_day,
)


def pending(client: TestClient, day: date = TOMORROW, **overrides) -> dict:
    response = request_visit(client, factories.team_request(day, **overrides))
    assert response.status_code == 201 and response.json()["status"] == "pending", response.text
    return response.json()


def read(client: TestClient, created: dict) -> dict:
    response = client.get(
        f"/api/v1/bookings/{created['reference']}",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def expire_now() -> int:
    with db.transaction() as session:
        return service.expire_pending(session)


def test_approval_confirms_and_issues_the_party_ticket(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    created = pending(any_client, size=35)
    response = approve(any_client, created["reference"], headers)
    assert response.status_code == 200, response.text
    approved = response.json()
    assert approved["status"] == "confirmed"
    assert approved["manage_token"] is None
    [ticket] = approved["tickets"]
    assert ticket["party_size"] == 35 and ticket["status"] == "valid"
    assert ticket["qr_payload"].startswith("ZT1.")
    # The leader sees the same ticket with their manage token; places were held all along.
    assert read(any_client, created)["tickets"] == approved["tickets"]
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 35

    again = approve(any_client, created["reference"], headers)
    assert again.status_code == 409 and error_code(again) == "not_pending"
    assert again.json()["error"]["details"] == {"status": "confirmed"}
    assert error_code(reject(any_client, created["reference"], headers)) == "not_pending"
    assert len(read(any_client, created)["tickets"]) == 1


def test_rejection_returns_the_places_and_tells_the_leader_why(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    leader = factories.leader()
    created = pending(any_client, leader=leader, size=40)
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 40
    response = reject(any_client, created["reference"], headers, reason="当日场馆维护")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert response.json()["tickets"] == []
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 0
    seen = read(any_client, created)
    assert seen["status"] == "rejected" and seen["review_note"] == "当日场馆维护"
    assert seen["cancellable_until"] is None
    # The leader may ask again for the same day.
    assert (
        request_visit(any_client, factories.team_request(TOMORROW, leader=leader)).status_code
        == 201
    )
    again = approve(any_client, created["reference"], headers)
    assert error_code(again) == "not_pending"
    assert again.json()["error"]["details"] == {"status": "rejected"}


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_rejection_needs_a_reason(client: TestClient, body: dict) -> None:
    created = pending(client)
    response = client.post(
        f"/api/v1/admin/team-bookings/{created['reference']}/reject",
        json=body,
        headers=admin_headers(client),
    )
    assert response.status_code == 422 and error_code(response) == "validation_error"
    assert read(client, created)["status"] == "pending"


def test_reviews_are_audited_without_personal_data(client: TestClient) -> None:
    headers = admin_headers(client)
    first, second = pending(client), pending(client, leader=factories.leader("王五"))
    approve(client, first["reference"], headers)
    reject(client, second["reference"], headers, reason="名额调整")
    entries = client.get("/api/v1/admin/audit", headers=headers).json()["entries"]
    reviews = {e["action"]: e for e in entries if e["action"].startswith("team.")}
    assert reviews["team.approve"]["target"] == first["reference"]
    assert reviews["team.approve"]["actor"] == "admin"
    assert reviews["team.approve"]["before"]["status"] == "pending"
    assert reviews["team.approve"]["after"] == {
        "status": "confirmed",
        "date": "2026-03-10",
        "slot_id": "0900",
        "size": 35,
    }
    assert reviews["team.reject"]["target"] == second["reference"]
    assert reviews["team.reject"]["after"]["status"] == "rejected"
    text = str(entries)
    for secret in ("李四", "王五", "13900139000", "139****9000", "名额调整"):
        assert secret not in text


def test_unknown_or_individual_references_are_not_found(client: TestClient) -> None:
    from tests.support import people

    headers = admin_headers(client)
    assert error_code(approve(client, "ZZZZZZZZ", headers)) == "not_found"
    assert reject(client, "ZZZZZZZZ", headers).status_code == 404
    individual = client.post("/api/v1/bookings", json=people.booking(TOMORROW)).json()
    assert approve(client, individual["reference"], headers).status_code == 404


def test_review_needs_an_admin(client: TestClient) -> None:
    created = pending(client)
    reference = created["reference"]
    nobody = approve(client, reference, {})
    assert nobody.status_code == 401 and error_code(nobody) == "unauthorized"
    staff = staff_headers(client, admin_headers(client))
    assert error_code(approve(client, reference, staff)) == "forbidden"
    assert reject(client, reference, staff).status_code == 403
    assert client.get("/api/v1/admin/team-bookings", headers=staff).status_code == 403
    assert read(client, created)["status"] == "pending"


def test_admin_list_filters_by_status(client: TestClient) -> None:
    headers = admin_headers(client)
    members = factories.members(11)
    waiting = pending(client, day=date(2026, 3, 11), size=12, members=members)
    soonest = pending(client, leader=factories.leader("王五"))
    approved = pending(client, leader=factories.leader("赵六"), slot_id="1300")
    approve(client, approved["reference"], headers)

    listed = client.get("/api/v1/admin/team-bookings?status=pending", headers=headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()["bookings"]
    assert [r["reference"] for r in rows] == [soonest["reference"], waiting["reference"]]
    row = rows[1]
    assert row["status"] == "pending" and row["organization"] == "郑州市第一中学"
    assert row["review_deadline"] == "2026-03-11T00:00:00+08:00"
    assert len(row["members"]) == 11 and row["members"][0]["name"] == "学*0"
    assert (
        row["members"][0]["id_masked"]
        == members[0]["id_number"][:4] + "*" * 10 + members[0]["id_number"][-4:]
    )
    assert row["leader"]["name"] == "李*" and row["manage_token"] is None
    for member in members:
        assert member["id_number"] not in listed.text

    everything = client.get("/api/v1/admin/team-bookings", headers=headers).json()["bookings"]
    assert len(everything) == 3
    confirmed = client.get("/api/v1/admin/team-bookings?status=confirmed", headers=headers)
    [only] = confirmed.json()["bookings"]
    assert only["reference"] == approved["reference"] and only["reviewed_by"] == "admin"
    assert only["review_deadline"] is None
    ranged = client.get(
        "/api/v1/admin/team-bookings?start=2026-03-11&end=2026-03-11", headers=headers
    )
    assert [r["reference"] for r in ranged.json()["bookings"]] == [waiting["reference"]]
    bad = client.get("/api/v1/admin/team-bookings?status=maybe", headers=headers)
    assert bad.status_code == 422 and error_code(bad) == "validation_error"


def test_unreviewed_requests_expire_when_the_visit_day_begins(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    tomorrow = pending(any_client, size=30)
    later = pending(any_client, day=date(2026, 3, 11), leader=factories.leader("王五"))
    kept = pending(any_client, leader=factories.leader("赵六"), slot_id="1300", size=20)
    assert approve(any_client, kept["reference"], headers).status_code == 200

    set_clock(any_client, "2026-03-09T23:59:59+08:00")
    assert expire_now() == 0
    set_clock(any_client, "2026-03-10T00:00:00+08:00")
    assert expire_now() == 1
    assert expire_now() == 0  # idempotent

    assert read(any_client, tomorrow)["status"] == "expired"
    assert read(any_client, later)["status"] == "pending"
    assert read(any_client, kept)["status"] == "confirmed"
    day = team_day(any_client, TOMORROW)
    assert day["team"]["booked"] == 20  # the expired request's 30 places returned
    slot = next(s for s in day["slots"] if s["id"] == "0900")
    assert slot["team_remaining"] == 100

    set_clock(any_client, "2026-03-11T00:00:00+08:00")
    assert expire_now() == 1
    assert read(any_client, later)["status"] == "expired"


def test_a_review_after_the_deadline_expires_the_request(any_client: TestClient) -> None:
    created = pending(any_client, size=30)
    set_clock(any_client, "2026-03-10T00:30:00+08:00")  # the expiry job has not run yet
    response = approve(any_client, created["reference"], admin_headers(any_client))
    assert response.status_code == 409 and error_code(response) == "not_pending"
    assert response.json()["error"]["details"] == {"status": "expired"}
    assert read(any_client, created)["status"] == "expired"
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 0
    assert read(any_client, created)["tickets"] == []
    assert expire_now() == 0


def test_an_expired_leader_may_ask_again(client: TestClient) -> None:
    leader = factories.leader()
    pending(client, day=TOMORROW, leader=leader)
    set_clock(client, "2026-03-10T00:00:00+08:00")
    assert expire_now() == 1
    later = factories.team_request(date(2026, 3, 12), leader=leader)
    assert request_visit(client, later).status_code == 201

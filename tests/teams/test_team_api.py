"""The team booking API: its own window, quota and size range, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.support import people
from tests.teams import factories
from tests.teams.helpers import error_code, patch_rules, request_visit, team_day


def test_request_is_pending_and_holds_team_places_only(any_client: TestClient) -> None:
    body = factories.team_request(TOMORROW, slot_id="1100", size=35)
    response = request_visit(any_client, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    assert created["channel"] == "team"
    assert created["tickets"] == []
    assert created["organization"] == "郑州市第一中学"
    assert created["size"] == 35 and created["party_size"] == 35
    assert created["date"] == "2026-03-10"
    assert created["slot"] == {"id": "1100", "start": "11:00", "end": "13:00"}
    assert created["leader"]["name"] == "李*"
    leader_id = body["leader"]["id_number"]
    assert created["leader"]["id_masked"] == leader_id[:4] + "*" * 10 + leader_id[-4:]
    assert created["phone_masked"] == "139****9000"
    assert len(created["reference"]) == 8 and created["manage_token"]
    for secret in (leader_id, "13900139000", "李四"):
        assert secret not in response.text

    day = team_day(any_client, TOMORROW)
    assert day["team"] == {
        "capacity": 400,
        "booked": 35,
        "remaining": 365,
        "bookable": True,
        "reason": None,
    }
    assert day["individual"] == {"capacity": 1000, "booked": 0, "remaining": 1000}
    slot = next(s for s in day["slots"] if s["id"] == "1100")
    assert slot["team_capacity"] == 100 and slot["team_remaining"] == 65
    assert slot["individual_remaining"] == 250


def test_without_approval_the_team_gets_one_party_ticket(any_client: TestClient) -> None:
    patch_rules(any_client, admin_headers(any_client), {"team": {"requires_approval": False}})
    response = request_visit(any_client, factories.team_request(TOMORROW, size=35))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "confirmed"
    [ticket] = created["tickets"]
    assert ticket["party_size"] == 35
    assert ticket["qr_payload"].startswith("ZT1.") and ticket["qr_payload"].split(".")[5] == "35"
    assert ticket["visitor"]["name"] == "李*"  # the leader answers for the party
    assert ticket["status"] == "valid" and ticket["used"] is False
    qr = any_client.get(ticket["qr_png_url"])
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"


def test_team_channel_opening_date(client: TestClient) -> None:
    set_clock(client, "2020-09-28T10:00:00+08:00")
    early = request_visit(client, factories.team_request(date(2020, 10, 1)))
    assert early.status_code == 409 and error_code(early) == "booking_window"
    assert early.json()["error"]["details"] == {"reason": "channel_not_open"}
    days = client.get("/api/v1/availability?start=2020-10-01&end=2020-10-08").json()["days"]
    reasons = {d["date"]: (d["reason"], d["team"]["reason"]) for d in days}
    assert reasons["2020-10-01"] == (None, "channel_not_open")  # individuals already book
    # Not open until its opening day, whatever the visit date.
    assert {team for _individual, team in reasons.values()} == {"channel_not_open"}

    set_clock(client, "2020-10-01T10:00:00+08:00")
    too_early = request_visit(client, factories.team_request(date(2020, 10, 9)))
    assert too_early.json()["error"]["details"] == {"reason": "channel_not_open"}
    set_clock(client, "2020-10-08T10:00:00+08:00")
    opening_day = request_visit(client, factories.team_request(date(2020, 10, 9)))
    assert opening_day.status_code == 201, opening_day.text


@pytest.mark.parametrize(("size", "accepted"), [(9, False), (10, True), (50, True), (51, False)])
def test_size_range(client: TestClient, size: int, accepted: bool) -> None:
    response = request_visit(client, factories.team_request(TOMORROW, size=size))
    if accepted:
        assert response.status_code == 201, response.text
        assert response.json()["size"] == size
    else:
        assert response.status_code == 422 and error_code(response) == "team_size_out_of_range"
        assert response.json()["error"]["details"] == {"min": 10, "max": 50}
        assert team_day(client, TOMORROW)["team"]["booked"] == 0


def test_size_range_follows_the_rules(client: TestClient) -> None:
    patch_rules(client, admin_headers(client), {"team": {"min_size": 20, "max_size": 150}})
    small = request_visit(client, factories.team_request(TOMORROW, size=15))
    assert error_code(small) == "team_size_out_of_range"
    assert small.json()["error"]["details"] == {"min": 20, "max": 150}
    assert request_visit(client, factories.team_request(TOMORROW, size=100)).status_code == 201


def test_team_quota_per_slot_and_day_never_touches_individual_places(
    any_client: TestClient,
) -> None:
    headers = admin_headers(any_client)
    slots = [
        {
            "id": "0900",
            "start": "09:00",
            "end": "11:00",
            "individual_capacity": 5,
            "team_capacity": 40,
        },
        {
            "id": "1100",
            "start": "11:00",
            "end": "13:00",
            "individual_capacity": 5,
            "team_capacity": 40,
        },
    ]
    patch_rules(any_client, headers, {"slots": slots, "team": {"daily_quota": 50}})

    def team(slot_id: str, size: int) -> dict:
        return factories.team_request(
            TOMORROW, slot_id=slot_id, size=size, leader=factories.leader()
        )

    assert request_visit(any_client, team("0900", 30)).status_code == 201
    full_slot = request_visit(any_client, team("0900", 11))
    assert full_slot.status_code == 409 and error_code(full_slot) == "sold_out"
    assert full_slot.json()["error"]["details"] == {"scope": "slot"}
    full_day = request_visit(any_client, team("1100", 21))
    assert error_code(full_day) == "sold_out"
    assert full_day.json()["error"]["details"] == {"scope": "day"}
    assert request_visit(any_client, team("1100", 20)).status_code == 201

    day = team_day(any_client, TOMORROW)
    assert day["team"]["booked"] == 50 and day["team"]["remaining"] == 0
    assert day["team"]["bookable"] is False and day["team"]["reason"] == "sold_out"
    assert [s["team_remaining"] for s in day["slots"]] == [0, 0]
    # The individual channel is untouched and still books.
    assert day["individual"] == {"capacity": 1000, "booked": 0, "remaining": 1000}
    assert day["bookable"] is True
    individual = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW))
    assert individual.status_code == 201, individual.text


def test_a_day_override_can_close_the_team_quota(client: TestClient) -> None:
    headers = admin_headers(client)
    closed = client.put(f"/api/v1/admin/days/{TOMORROW}", json={"team_quota": 0}, headers=headers)
    assert closed.status_code == 200
    response = request_visit(client, factories.team_request(TOMORROW, size=10))
    assert response.status_code == 409 and error_code(response) == "sold_out"
    assert team_day(client, TOMORROW)["individual"]["capacity"] == 1000


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 3, 8), "past"),
        (date(2026, 3, 16), "closed"),  # a Monday
        (date(2026, 3, 23), "not_released"),  # today + 14 is a Monday; + 15 below
        (date(2026, 3, 24), "not_released"),
    ],
)
def test_team_booking_window(client: TestClient, day: date, reason: str) -> None:
    if day == date(2026, 3, 23):
        reason = "closed"  # closed wins over not_released
    response = request_visit(client, factories.team_request(day))
    assert response.status_code == 409 and error_code(response) == "booking_window"
    assert response.json()["error"]["details"] == {"reason": reason}


def test_teams_book_further_ahead_than_individuals(client: TestClient) -> None:
    far = date(2026, 3, 22)  # today + 13: beyond the individual window of 7 days
    individual = client.post("/api/v1/bookings", json=people.booking(far))
    assert individual.json()["error"]["details"] == {"reason": "not_released"}
    assert request_visit(client, factories.team_request(far)).status_code == 201


def test_today_is_too_soon_for_teams(client: TestClient) -> None:
    set_clock(client, "2026-03-10T08:00:00+08:00")
    response = request_visit(client, factories.team_request(date(2026, 3, 10)))
    assert response.json()["error"]["details"] == {"reason": "too_soon"}


def test_teams_are_received_only_on_their_weekdays(client: TestClient) -> None:
    weekdays = ["tuesday", "wednesday", "thursday", "friday", "sunday"]
    patch_rules(client, admin_headers(client), {"team": {"received_weekdays": weekdays}})
    saturday = date(2026, 3, 14)
    response = request_visit(client, factories.team_request(saturday))
    assert response.json()["error"]["details"] == {"reason": "closed"}
    day = team_day(client, saturday)
    assert day["bookable"] is True  # individuals still come on Saturdays
    assert day["team"]["bookable"] is False and day["team"]["reason"] == "closed"
    assert request_visit(client, factories.team_request(date(2026, 3, 15))).status_code == 201


def test_same_day_request_needing_review_is_too_soon(client: TestClient) -> None:
    headers = admin_headers(client)
    patch_rules(client, headers, {"team": {"min_days_ahead": 0}})
    set_clock(client, "2026-03-10T08:00:00+08:00")
    today = date(2026, 3, 10)
    pending = request_visit(client, factories.team_request(today, slot_id="1300"))
    assert pending.json()["error"]["details"] == {"reason": "too_soon"}
    headers = admin_headers(client)  # the clock moved past the first token's lifetime
    patch_rules(client, headers, {"team": {"requires_approval": False}})
    confirmed = request_visit(client, factories.team_request(today, slot_id="1300"))
    assert confirmed.status_code == 201 and confirmed.json()["status"] == "confirmed"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"consent": False}, "consent_required"),
        ({"sensitive_consent": False}, "consent_required"),
        ({"leader": factories.leader(phone="12345")}, "invalid_phone"),
        ({"leader": factories.leader(id_number="110105194912310021")}, "invalid_id_number"),
        ({"leader": factories.leader(id_type="passport", id_number="AB1")}, "invalid_id_number"),
        ({"leader": factories.leader(born=date(2010, 1, 1))}, "leader_not_adult"),
        ({"organization": "   "}, "validation_error"),
        ({"organization": "校" * 201}, "validation_error"),
        ({"size": "35"}, "validation_error"),
        ({"size": True}, "validation_error"),
        ({"slot_id": "0800"}, "validation_error"),
        ({"date": "2026-02-30"}, "validation_error"),
        ({"leader": {"name": "李四", "id_type": "resident_id"}}, "validation_error"),
        ({"visitors": []}, "validation_error"),
    ],
)
def test_request_errors(client: TestClient, change: dict, code: str) -> None:
    response = request_visit(client, factories.team_request(TOMORROW, **change))
    assert response.status_code == 422, response.text
    assert error_code(response) == code
    assert team_day(client, TOMORROW)["team"]["booked"] == 0
    for value in change.values():
        if isinstance(value, dict) and "id_number" in value:
            assert value["id_number"] not in response.text


def test_missing_fields(client: TestClient) -> None:
    body = factories.team_request(TOMORROW)
    for field in ("organization", "size", "leader", "consent", "date", "slot_id"):
        incomplete = {k: v for k, v in body.items() if k != field}
        response = request_visit(client, incomplete)
        assert response.status_code == 422 and error_code(response) == "validation_error", field


def test_leader_with_a_passport(client: TestClient) -> None:
    leader = factories.leader("Jason", id_type="passport", id_number="E12345678")
    response = request_visit(client, factories.team_request(TOMORROW, leader=leader))
    assert response.status_code == 201, response.text
    assert response.json()["leader"] == {"name": "J***n", "id_masked": "E******78"}


def test_banned_leader(any_client: TestClient) -> None:
    from reservations import clock, db
    from reservations.booking.identities import person_document
    from reservations.booking.models import VisitorBan

    leader = factories.leader()
    with db.transaction() as session:
        session.add(
            VisitorBan(
                identity_hash=person_document("resident_id", leader["id_number"], clock.today()),
                until=date(2026, 4, 1),
                created_at=clock.now(),
            )
        )
    response = request_visit(any_client, factories.team_request(TOMORROW, leader=leader))
    assert response.status_code == 403 and error_code(response) == "visitor_banned"
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 0


def test_one_team_per_leader_per_day(client: TestClient) -> None:
    leader = factories.leader()
    first = request_visit(client, factories.team_request(TOMORROW, leader=leader))
    assert first.status_code == 201
    again = request_visit(client, factories.team_request(TOMORROW, slot_id="1300", leader=leader))
    assert again.status_code == 409 and error_code(again) == "duplicate_visitor"
    next_day = factories.team_request(date(2026, 3, 11), leader=leader)
    assert request_visit(client, next_day).status_code == 201
    assert team_day(client, TOMORROW)["team"]["booked"] == 35


def test_idempotency_key_requests_once(any_client: TestClient) -> None:
    body = factories.team_request(TOMORROW)
    first = request_visit(any_client, body, **{"Idempotency-Key": "team-1"})
    second = request_visit(any_client, body, **{"Idempotency-Key": "team-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert team_day(any_client, TOMORROW)["team"]["booked"] == 35
    other = factories.team_request(TOMORROW, leader=factories.leader())
    reused = request_visit(any_client, other, **{"Idempotency-Key": "team-1"})
    assert reused.status_code == 409 and error_code(reused) == "idempotency_key_reused"


def test_messages_follow_accept_language(client: TestClient) -> None:
    body = factories.team_request(TOMORROW, size=3)
    english = request_visit(client, body, **{"Accept-Language": "en"})
    assert "team size" in english.json()["error"]["message"]
    chinese = request_visit(client, body)
    assert "团队人数" in chinese.json()["error"]["message"]

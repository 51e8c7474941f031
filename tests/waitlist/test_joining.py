"""POST /api/v1/waiting-list: the same checks as a booking, and every refusal in the
contract's shape; GET and leave with the entry's token."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations import clock, db
from reservations.booking.identities import person_document
from reservations.booking.models import VisitorBan
from tests.conftest import TOMORROW, Service, admin_headers, set_clock
from tests.support import people
from tests.waitlist.helpers import (
    act,
    book,
    counted,
    error_code,
    fill,
    join,
    join_body,
    joined,
    read,
    set_quota,
)

MINOR = date(2018, 6, 1)


def test_joining_a_sold_out_day_says_the_position_and_how_the_visitor_will_be_told(
    any_client: TestClient,
) -> None:
    fill(any_client, 2)
    first = joined(any_client, join_body(email="visitor@example.com"))
    assert first["status"] == "waiting" and first["position"] == 1
    assert first["date"] == TOMORROW.isoformat() and first["slot_id"] is None
    assert first["manage_token"] and len(first["reference"]) == 8
    assert first["notify"] == {"sms": "138****8000", "email": "v***@example.com",
                               "offer_minutes": 30}  # fmt: skip
    assert first["visitors"][0]["id_masked"].count("*") == 10
    assert first["visitors"][0]["name"] == "张*"
    second = joined(any_client, join_body(slot_id="1100", phone="13900139000"))
    assert second["position"] == 2 and second["slot_id"] == "1100"

    again = read(any_client, second)
    assert again["position"] == 2 and again["manage_token"] is None and again["offer"] is None
    left = act(any_client, first, "leave")
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert read(any_client, second)["position"] == 1
    # Nothing of the places moved: waiting takes none.
    assert counted(any_client) == {"capacity": 2, "booked": 2, "remaining": 0}


def test_a_day_with_room_is_booked_not_waited_for(any_client: TestClient) -> None:
    refused = join(any_client)
    assert refused.status_code == 409 and error_code(refused) == "places_available"
    assert refused.json()["error"]["details"]["slots"] == ["0900", "1100", "1300", "1500"]
    english = join(any_client, **{"Accept-Language": "en"}).json()["error"]["message"]
    assert "book them directly" in english
    set_quota(any_client, 1)
    book(any_client, slot_id="1300")
    assert joined(any_client)["position"] == 1


def test_a_full_slot_on_a_day_with_room_can_be_waited_for(any_client: TestClient) -> None:
    # Slot 0900 holds 250; the day 1000. Fill the slot alone.
    any_client.patch(
        "/api/v1/admin/rules",
        json={
            "slots": [
                {
                    "id": "0900",
                    "start": "09:00",
                    "end": "11:00",
                    "individual_capacity": 1,
                    "team_capacity": 100,
                },
                {
                    "id": "1100",
                    "start": "11:00",
                    "end": "13:00",
                    "individual_capacity": 5,
                    "team_capacity": 100,
                },
            ]
        },
        headers=admin_headers(any_client),
    )
    book(any_client, slot_id="0900")
    assert joined(any_client, join_body(slot_id="0900"))["slot_id"] == "0900"
    refused = join(any_client, join_body(slot_id="1100"))
    assert refused.status_code == 409 and refused.json()["error"]["details"]["slots"] == ["1100"]
    # A party larger than what is left may wait for any slot.
    big = [people.visitor() for _ in range(5)]
    assert join(any_client, join_body(visitors=big, phone="13700137000")).status_code == 409
    book(any_client, slot_id="1100")
    assert joined(any_client, join_body(visitors=big, phone="13700137000"))["party_size"] == 5


def test_one_booking_or_waiting_entry_per_person_and_day(any_client: TestClient) -> None:
    fill(any_client, 1)
    person = people.visitor()
    entry = joined(any_client, join_body(visitors=[person]))

    twice = join(any_client, join_body(visitors=[person], phone="13900139000"))
    assert twice.status_code == 409 and error_code(twice) == "duplicate_visitor"
    assert twice.json()["error"]["details"] == {"waiting_list": True}
    within = join(any_client, join_body(visitors=[person, dict(person)]))
    assert within.status_code == 409 and within.json()["error"]["details"] == {
        "within_request": True
    }

    # A person on the list cannot book the day directly either...
    set_quota(any_client, 5)
    direct = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    assert direct.status_code == 409 and error_code(direct) == "duplicate_visitor"
    assert direct.json()["error"]["details"] == {"waiting_list": True}
    assert (
        "waiting list"
        in any_client.post(
            "/api/v1/bookings",
            json=people.booking(TOMORROW, visitors=[person]),
            headers={"Accept-Language": "en"},
        ).json()["error"]["message"]
    )
    # ... until they leave it.
    assert act(any_client, entry, "leave").json()["status"] == "left"
    booked = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[person]))
    assert booked.status_code == 201, booked.text

    # Someone who holds a booking that day cannot wait for it.
    set_quota(any_client, 2)
    holder = join(any_client, join_body(visitors=[person]))
    assert holder.status_code == 409 and error_code(holder) == "duplicate_visitor"
    assert holder.json()["error"]["details"] == {}
    # Another day is another claim.
    other_day = date(2026, 3, 11)
    fill(any_client, 1, other_day)
    assert joined(any_client, join_body(other_day, visitors=[person]))["position"] == 1


def test_the_same_checks_as_a_booking(any_client: TestClient) -> None:
    fill(any_client, 1)

    def refusal(body: dict, status: int, code: str) -> dict:
        response = join(any_client, body)
        assert response.status_code == status, response.text
        assert error_code(response) == code
        return dict(response.json()["error"])

    child = people.visitor("小明", born=MINOR)
    refusal(join_body(visitors=[child]), 422, "minor_without_guardian")
    refusal(join_body(visitors=[child, people.visitor()], guardian_consent=False), 422,
            "consent_required")  # fmt: skip
    refusal(join_body(consent=False), 422, "consent_required")
    refusal(join_body(sensitive_consent=False), 422, "consent_required")
    bad = people.visitor()
    bad["id_number"] = bad["id_number"][:-1] + ("0" if bad["id_number"][-1] != "0" else "1")
    error = refusal(join_body(visitors=[bad]), 422, "invalid_id_number")
    assert error["details"]["problem"] == "check_character"
    refusal(join_body(phone="12345"), 422, "invalid_phone")
    refusal(join_body(visitors=[people.visitor() for _ in range(6)]), 422, "too_many_visitors")
    refusal(join_body(slot_id="0800"), 422, "validation_error")
    refusal({**join_body(), "visitors": []}, 422, "validation_error")
    refusal({**join_body(), "surprise": 1}, 422, "validation_error")
    refusal(join_body(date(2026, 3, 9)), 409, "booking_window")  # today: too soon
    assert refusal(join_body(date(2026, 3, 16)), 409, "booking_window")["details"] == {
        "reason": "closed"  # a Monday
    }
    assert refusal(join_body(date(2026, 3, 20)), 409, "booking_window")["details"] == {
        "reason": "not_released"
    }
    # Nothing of the refusals stayed.
    assert (
        any_client.get(
            f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin_headers(any_client)
        ).json()["entries"]
        == []
    )


def test_a_banned_visitor_cannot_wait(any_client: TestClient) -> None:
    fill(any_client, 1)
    person = people.visitor()
    with db.transaction() as session:
        session.add(
            VisitorBan(
                identity_hash=person_document("resident_id", person["id_number"], clock.today()),
                until=date(2026, 4, 1),
                created_at=clock.now(),
            )
        )
    refused = join(any_client, join_body(visitors=[person, people.visitor()]))
    assert refused.status_code == 403 and error_code(refused) == "visitor_banned"
    assert refused.json()["error"]["details"] == {"until": "2026-04-01"}


def test_switched_off_the_list_takes_nobody(any_client: TestClient) -> None:
    fill(any_client, 1)
    admin = admin_headers(any_client)
    switched = any_client.patch(
        "/api/v1/admin/rules", json={"waiting_list": {"enabled": False}}, headers=admin
    )
    assert switched.status_code == 200 and switched.json()["waiting_list"]["enabled"] is False
    refused = join(any_client)
    assert refused.status_code == 409 and error_code(refused) == "waiting_list_closed"
    english = join(any_client, **{"Accept-Language": "en"})
    assert english.json()["error"]["message"] == "The waiting list is not open."
    # The rules refuse nonsense like any other rule.
    bad = any_client.patch(
        "/api/v1/admin/rules", json={"waiting_list": {"offer_minutes": 0}}, headers=admin
    )
    assert bad.status_code == 422 and error_code(bad) == "validation_error"


def test_the_entry_is_only_for_its_token(any_client: TestClient) -> None:
    fill(any_client, 1)
    entry = joined(any_client)
    path = f"/api/v1/waiting-list/{entry['reference']}"
    for headers in ({}, {"X-Booking-Token": "wrong"}, {"X-Booking-Token": "x" * 32}):
        response = any_client.get(path, headers=headers)
        assert response.status_code == 404 and error_code(response) == "not_found"
        for action in ("accept", "leave"):
            acted = any_client.post(f"{path}/{action}", headers=headers)
            assert acted.status_code == 404 and error_code(acted) == "not_found"
    unknown = any_client.get(
        "/api/v1/waiting-list/ZZZZZZZZ", headers={"X-Booking-Token": entry["manage_token"]}
    )
    assert unknown.status_code == 404
    # Lower case and spaces around the reference find it, as for bookings.
    lower = any_client.get(
        f"/api/v1/waiting-list/{entry['reference'].lower()}",
        headers={"X-Booking-Token": entry["manage_token"]},
    )
    assert lower.status_code == 200


def test_leaving_twice_answers_the_same_and_an_ended_entry_cannot_be_left(
    any_client: TestClient,
) -> None:
    fill(any_client, 1)
    entry = joined(any_client)
    assert act(any_client, entry, "leave").json()["status"] == "left"
    again = act(any_client, entry, "leave")
    assert again.status_code == 200 and again.json()["status"] == "left"
    no_offer = act(any_client, entry, "accept")
    assert no_offer.status_code == 409 and error_code(no_offer) == "no_offer"

    waiting = joined(any_client, join_body(phone="13900139000"))
    early = act(any_client, waiting, "accept")
    assert early.status_code == 409 and error_code(early) == "no_offer"
    set_clock(any_client, "2026-03-10T00:00:01+08:00")  # the day can no longer be booked
    admin = admin_headers(any_client)
    ran = any_client.post("/api/v1/admin/jobs/process-waiting-list/run", headers=admin)
    assert ran.json()["result"]["entries_expired"] == 1
    assert read(any_client, waiting)["status"] == "expired"
    ended = act(any_client, waiting, "leave")
    assert ended.status_code == 409 and error_code(ended) == "not_waiting"


def test_a_retry_with_the_same_idempotency_key_joins_once(any_client: TestClient) -> None:
    fill(any_client, 1)
    body = join_body()
    first = join(any_client, body, **{"Idempotency-Key": "tap-1"})
    again = join(any_client, body, **{"Idempotency-Key": "tap-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = join(any_client, join_body(phone="13900139000"), **{"Idempotency-Key": "tap-1"})
    assert other.status_code == 409 and error_code(other) == "idempotency_key_reused"
    entries = any_client.get(
        f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin_headers(any_client)
    ).json()["entries"]
    assert len(entries) == 1


def test_only_admins_read_the_lists(client: TestClient) -> None:
    from tests.gate.factories import staff_headers

    assert client.get(f"/api/v1/admin/waiting-list?date={TOMORROW}").status_code == 401
    staff = client.get(f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=staff_headers(client))
    assert staff.status_code == 403
    bad_date = client.get(
        "/api/v1/admin/waiting-list?date=2026-02-30", headers=admin_headers(client)
    )
    assert bad_date.status_code == 422 and error_code(bad_date) == "validation_error"


@pytest.fixture
def guarded(sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """Rate limits on and proof of work always asked (as under a bot rush)."""
    from tests.conftest import start_in_process

    sqlite_service.env["RESERVATIONS_RATE_LIMITS"] = "on"
    sqlite_service.env["RESERVATIONS_POW_DIFFICULTY"] = "8"
    sqlite_service.rules_file(tmp_path, protection={"proof_of_work": "always"})
    return start_in_process(sqlite_service, monkeypatch)


def test_joining_is_protected_like_booking(guarded: TestClient) -> None:
    from reservations.bootstrap import reset_process_state
    from reservations.protection import challenge

    with guarded as client:
        missing = join(client)
        assert missing.status_code == 428 and error_code(missing) == "challenge_required"
        offer = client.get("/api/v1/challenge").json()
        solution = challenge.solve(offer["challenge"], offer["difficulty"])
        # Solved, the request reaches the service (which finds the day has room).
        answered = join(client, **{"X-Challenge-Solution": solution})
        assert error_code(answered) == "places_available"
        # One phone number, however written, is limited like a booking's.
        limited = None
        for attempt in range(12):
            fresh = client.get("/api/v1/challenge").json()
            limited = join(
                client,
                join_body(phone="+86 138 0013 8000"),
                **{
                    "X-Challenge-Solution": challenge.solve(fresh["challenge"], fresh["difficulty"])
                },
            )
            if limited.status_code == 429:
                break
            assert attempt < 11
        assert limited is not None and error_code(limited) == "rate_limited"
        assert int(limited.headers["Retry-After"]) > 0
    reset_process_state()

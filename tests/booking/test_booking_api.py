"""The individual booking API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.support import people


def book(client: TestClient, body: dict, **headers: str):
    return client.post("/api/v1/bookings", json=body, headers=headers)


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]["code"]


def test_booking_two_visitors_returns_masked_tickets(any_client: TestClient) -> None:
    adult = people.visitor("张三丰", born=date(1980, 1, 2))
    child = people.visitor("李四", born=date(2018, 6, 1))
    response = book(any_client, people.booking(TOMORROW, visitors=[adult, child]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["date"] == "2026-03-10"
    assert body["slot"] == {"id": "0900", "start": "09:00", "end": "11:00"}
    assert len(body["reference"]) == 8 and body["manage_token"]
    assert [t["visitor"]["name"] for t in body["tickets"]] == ["张*丰", "李*"]
    masked = body["tickets"][0]["visitor"]["id_masked"]
    assert masked == adult["id_number"][:4] + "*" * 10 + adult["id_number"][-4:]
    assert body["phone_masked"] == "138****8000"
    for ticket in body["tickets"]:
        assert ticket["party_size"] == 1
        assert ticket["qr_payload"].startswith("ZT1.")
        for kind in ("png", "svg"):
            url = ticket[f"qr_{kind}_url"]
            assert re.fullmatch(rf"/api/v1/tickets/{ticket['ticket_id']}/qr\.{kind}\?sig=\w+", url)
    text = response.text
    for secret in (adult["id_number"], child["id_number"], "13800138000", "张三丰"):
        assert secret not in text


def test_places_are_counted_per_day_and_slot(any_client: TestClient) -> None:
    visitors = [people.visitor(born=date(1990, 1, 1 + i)) for i in range(3)]
    assert (
        book(any_client, people.booking(TOMORROW, slot_id="1100", visitors=visitors)).status_code
        == 201
    )
    day = any_client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()["days"][0]
    assert day["individual"] == {"capacity": 1000, "booked": 3, "remaining": 997}
    slot = next(s for s in day["slots"] if s["id"] == "1100")
    assert slot["individual_capacity"] == 250 and slot["individual_remaining"] == 247
    assert day["team"]["remaining"] == 400


def test_read_and_cancel_need_the_manage_token(any_client: TestClient) -> None:
    created = book(any_client, people.booking(TOMORROW)).json()
    reference, token = created["reference"], created["manage_token"]
    assert any_client.get(f"/api/v1/bookings/{reference}").status_code == 404
    wrong = any_client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": "nope"})
    assert wrong.status_code == 404 and error_code(wrong) == "not_found"
    unknown = any_client.get("/api/v1/bookings/ZZZZZZZZ", headers={"X-Booking-Token": token})
    assert unknown.json() == wrong.json()  # no hint that the reference exists

    read = any_client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert read.status_code == 200 and read.json()["reference"] == reference
    assert read.json()["manage_token"] is None  # shown once only

    cancelled = any_client.post(
        f"/api/v1/bookings/{reference}/cancel", headers={"X-Booking-Token": token}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert all(t["status"] == "void" for t in cancelled.json()["tickets"])
    day = any_client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()["days"][0]
    assert day["individual"]["booked"] == 0
    again = any_client.post(
        f"/api/v1/bookings/{reference}/cancel", headers={"X-Booking-Token": token}
    )
    assert again.status_code == 409 and error_code(again) == "cannot_cancel"


def test_cancelled_visitor_can_book_the_day_again(any_client: TestClient) -> None:
    body = people.booking(TOMORROW)
    created = book(any_client, body).json()
    assert error_code(book(any_client, body)) == "duplicate_visitor"
    any_client.post(
        f"/api/v1/bookings/{created['reference']}/cancel",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    assert book(any_client, body).status_code == 201


def test_cannot_cancel_after_the_deadline(client: TestClient) -> None:
    created = book(client, people.booking(TOMORROW, slot_id="0900")).json()
    set_clock(client, "2026-03-10T09:00:00+08:00")
    response = client.post(
        f"/api/v1/bookings/{created['reference']}/cancel",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    assert response.status_code == 409 and error_code(response) == "cannot_cancel"


def test_one_active_booking_per_person_per_day(any_client: TestClient) -> None:
    person = people.visitor()
    assert book(any_client, people.booking(TOMORROW, visitors=[person])).status_code == 201
    other_slot = book(any_client, people.booking(TOMORROW, slot_id="1300", visitors=[person]))
    assert other_slot.status_code == 409 and error_code(other_slot) == "duplicate_visitor"
    lower_x = dict(person, id_number=person["id_number"].lower())
    assert error_code(book(any_client, people.booking(TOMORROW, visitors=[lower_x]))) == (
        "duplicate_visitor"
    )
    next_day = book(any_client, people.booking(TOMORROW + timedelta(days=1), visitors=[person]))
    assert next_day.status_code == 201


def test_same_person_twice_in_one_request(client: TestClient) -> None:
    person = people.visitor()
    response = book(client, people.booking(TOMORROW, visitors=[person, dict(person, name="王五")]))
    assert response.status_code == 409 and error_code(response) == "duplicate_visitor"


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"consent": False}, "consent_required", 422),
        ({"sensitive_consent": False}, "consent_required", 422),
        ({"phone": "12345"}, "invalid_phone", 422),
        ({"phone": "12800138000"}, "invalid_phone", 422),
        ({"slot_id": "0800"}, "validation_error", 422),
        ({"date": "2026-02-30"}, "validation_error", 422),
        ({"visitors": []}, "validation_error", 422),
        ({"consent": "maybe"}, "validation_error", 422),
        ({"unexpected": 1}, "validation_error", 422),
    ],
)
def test_request_errors(client: TestClient, change: dict, code: str, status: int) -> None:
    response = book(client, people.booking(TOMORROW, **change))
    assert response.status_code == status, response.text
    assert error_code(response) == code


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("resident_id", "110105194912310021"),  # wrong check character
        ("resident_id", "11010519491332002X"),  # no 32nd of December... month 13
        ("resident_id", "110105202702300016"),  # born in the future (and not a date)
        ("resident_id", "11010519491231002"),  # too short
        ("passport", "AB12"),
        ("passport", "E1234567$"),
        ("hk_macau_permit", "X12345678"),
        ("taiwan_permit", "1234567"),
    ],
)
def test_invalid_documents(client: TestClient, id_type: str, number: str) -> None:
    visitor = {"name": "张三", "id_type": id_type, "id_number": number}
    response = book(client, people.booking(TOMORROW, visitors=[visitor]))
    assert response.status_code == 422 and error_code(response) == "invalid_id_number"
    assert number not in response.text


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("resident_id", "11010519491231002x"),
        ("resident_id", "810000199001010015"),
        ("passport", "E12345678"),
        ("passport", "EA1234567"),
        ("passport", "X9876543"),
        ("hk_macau_permit", "H1234567800"),
        ("taiwan_permit", "12345678"),
    ],
)
def test_valid_documents(client: TestClient, id_type: str, number: str) -> None:
    if number.startswith("8100"):
        number = people.resident_id(date(1990, 1, 1), area="810000", sequence=1)
    visitor = {"name": "Jason", "id_type": id_type, "id_number": number}
    response = book(client, people.booking(TOMORROW, visitors=[visitor]))
    assert response.status_code == 201, response.text
    assert response.json()["tickets"][0]["visitor"]["name"] == "J***n"


def test_too_many_visitors(client: TestClient) -> None:
    visitors = [people.visitor(born=date(1990, 2, 1 + i)) for i in range(6)]
    response = book(client, people.booking(TOMORROW, visitors=visitors))
    assert response.status_code == 422 and error_code(response) == "too_many_visitors"
    assert book(client, people.booking(TOMORROW, visitors=visitors[:5])).status_code == 201


def test_children_only_with_an_adult(client: TestClient) -> None:
    child = people.visitor("小明", born=date(2015, 1, 1))
    teen = people.visitor("小红", born=date(2010, 1, 1))  # 16: not a minor, not an adult
    alone = book(client, people.booking(TOMORROW, visitors=[child]))
    assert alone.status_code == 422 and error_code(alone) == "minor_without_guardian"
    with_teen = book(client, people.booking(TOMORROW, visitors=[child, teen]))
    assert error_code(with_teen) == "minor_without_guardian"
    no_guardian_consent = book(
        client,
        people.booking(TOMORROW, visitors=[people.visitor(), child], guardian_consent=False),
    )
    assert error_code(no_guardian_consent) == "consent_required"
    assert (
        book(client, people.booking(TOMORROW, visitors=[people.visitor(), child])).status_code
        == 201
    )
    assert book(client, people.booking(TOMORROW, visitors=[teen])).status_code == 201


def test_child_turning_14_before_the_visit_is_not_a_minor(client: TestClient) -> None:
    fourteen_on_visit_day = people.visitor("小刚", born=date(2012, 3, 10))
    response = book(client, people.booking(TOMORROW, visitors=[fourteen_on_visit_day]))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 3, 8), "past"),
        (date(2026, 3, 9), "past"),  # today is not past, but the day is closed... see below
        (date(2026, 3, 16), "closed"),  # a Monday
        (date(2026, 3, 17), "not_released"),  # today + 8
    ],
)
def test_booking_window(client: TestClient, day: date, reason: str) -> None:
    if day == date(2026, 3, 9):
        reason = "closed"  # today is a Monday: closed wins over too_soon
    response = book(client, people.booking(day))
    assert response.status_code == 409 and error_code(response) == "booking_window"
    assert response.json()["error"]["details"]["reason"] == reason


def test_today_is_too_soon(client: TestClient) -> None:
    set_clock(client, "2026-03-10T08:00:00+08:00")
    response = book(client, people.booking(date(2026, 3, 10)))
    assert response.json()["error"]["details"] == {"reason": "too_soon"}
    assert book(client, people.booking(date(2026, 3, 11))).status_code == 201
    assert book(client, people.booking(date(2026, 3, 17))).status_code == 201  # today + 7


def test_individual_channel_opening_date(client: TestClient) -> None:
    # Before its opening day nobody books the channel, whatever the visit date.
    set_clock(client, "2020-09-25T10:00:00+08:00")
    early = book(client, people.booking(date(2020, 9, 27)))
    assert early.json()["error"]["details"] == {"reason": "channel_not_open"}
    later = book(client, people.booking(date(2020, 9, 29)))
    assert later.json()["error"]["details"] == {"reason": "channel_not_open"}
    set_clock(client, "2020-09-28T10:00:00+08:00")
    assert book(client, people.booking(date(2020, 9, 29))).status_code == 201


def test_sold_out_slot_and_day(client: TestClient) -> None:
    headers = admin_headers(client)
    patch = {
        "slots": [
            {
                "id": "0900",
                "start": "09:00",
                "end": "11:00",
                "individual_capacity": 2,
                "team_capacity": 0,
            },
            {
                "id": "1100",
                "start": "11:00",
                "end": "13:00",
                "individual_capacity": 5,
                "team_capacity": 0,
            },
        ],
        "individual": {"daily_quota": 4},
    }
    assert client.patch("/api/v1/admin/rules", json=patch, headers=headers).status_code == 200
    two = [people.visitor(born=date(1991, 1, 1 + i)) for i in range(2)]
    assert book(client, people.booking(TOMORROW, visitors=two)).status_code == 201
    full_slot = book(client, people.booking(TOMORROW, visitors=[people.visitor()]))
    assert full_slot.status_code == 409 and error_code(full_slot) == "sold_out"
    assert full_slot.json()["error"]["details"] == {"scope": "slot"}
    three = [people.visitor(born=date(1992, 1, 1 + i)) for i in range(3)]
    full_day = book(client, people.booking(TOMORROW, slot_id="1100", visitors=three))
    assert error_code(full_day) == "sold_out" and full_day.json()["error"]["details"] == {
        "scope": "day"
    }
    day = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()["days"][0]
    assert day["individual"]["remaining"] == 2
    assert [s["individual_remaining"] for s in day["slots"]] == [0, 2]


def test_banned_visitor(any_client: TestClient) -> None:
    from reservations import clock, db
    from reservations.booking.identities import person_document
    from reservations.booking.models import VisitorBan

    person = people.visitor()
    with db.transaction() as session:
        session.add(
            VisitorBan(
                identity_hash=person_document("resident_id", person["id_number"], clock.today()),
                until=date(2026, 4, 1),
                created_at=clock.now(),
            )
        )
    response = book(any_client, people.booking(TOMORROW, visitors=[person, people.visitor()]))
    assert response.status_code == 403 and error_code(response) == "visitor_banned"
    set_clock(any_client, "2026-04-02T10:00:00+08:00")
    assert book(any_client, people.booking(date(2026, 4, 3), visitors=[person])).status_code == 201


def test_idempotency_key_books_once(any_client: TestClient) -> None:
    body = people.booking(TOMORROW)
    first = book(any_client, body, **{"Idempotency-Key": "retry-1"})
    second = book(any_client, body, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    day = any_client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()["days"][0]
    assert day["individual"]["booked"] == 1
    different = book(
        any_client,
        people.booking(TOMORROW, visitors=[people.visitor()]),
        **{"Idempotency-Key": "retry-1"},
    )
    assert different.status_code == 409 and error_code(different) == "idempotency_key_reused"


def test_failed_request_does_not_burn_its_idempotency_key(client: TestClient) -> None:
    body = people.booking(TOMORROW, consent=False)
    assert error_code(book(client, body, **{"Idempotency-Key": "k"})) == "consent_required"
    fixed = book(client, dict(body, consent=True), **{"Idempotency-Key": "k2"})
    assert fixed.status_code == 201


def test_lookup_by_phone_and_document(any_client: TestClient) -> None:
    person = people.visitor()
    created = book(any_client, people.booking(TOMORROW, visitors=[person])).json()
    found = any_client.post(
        "/api/v1/bookings/lookup",
        json={
            "phone": "+86 138 0013 8000",
            "id_type": "resident_id",
            "id_number": person["id_number"],
        },
    )
    assert found.status_code == 200
    bookings = found.json()["bookings"]
    assert [b["reference"] for b in bookings] == [created["reference"]]
    assert bookings[0]["manage_token"] is None
    other_phone = any_client.post(
        "/api/v1/bookings/lookup",
        json={"phone": "13900139000", "id_type": "resident_id", "id_number": person["id_number"]},
    )
    assert other_phone.json() == {"bookings": []}
    bad = any_client.post(
        "/api/v1/bookings/lookup",
        json={"phone": "139", "id_type": "resident_id", "id_number": person["id_number"]},
    )
    assert error_code(bad) == "invalid_phone"


def test_availability_window_and_reasons(client: TestClient) -> None:
    days = client.get("/api/v1/availability?start=2026-03-08&end=2026-03-17").json()["days"]
    reasons = {d["date"]: d["reason"] for d in days}
    assert reasons["2026-03-08"] == "past"
    assert reasons["2026-03-09"] == "closed"
    assert reasons["2026-03-10"] is None
    assert reasons["2026-03-16"] == "closed"
    assert reasons["2026-03-17"] == "not_released"
    assert all(d["bookable"] == (d["reason"] is None) for d in days)
    team = {d["date"]: d["team"]["reason"] for d in days}
    assert team["2026-03-17"] is None  # teams book 14 days ahead
    too_long = client.get("/api/v1/availability?start=2026-03-01&end=2026-05-02")
    assert too_long.status_code == 422 and error_code(too_long) == "validation_error"
    reversed_range = client.get("/api/v1/availability?start=2026-03-10&end=2026-03-01")
    assert error_code(reversed_range) == "validation_error"
    assert error_code(client.get("/api/v1/availability?start=soon&end=2026-03-01")) == (
        "validation_error"
    )
    assert client.get("/api/v1/availability?start=2026-03-01&end=2026-05-01").status_code == 200


def test_malformed_json_and_wrong_types(client: TestClient) -> None:
    broken = client.post(
        "/api/v1/bookings",
        content=b'{"date": "2026-03-10",',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422 and error_code(broken) == "validation_error"
    not_object = client.post("/api/v1/bookings", json=[1, 2])
    assert error_code(not_object) == "validation_error"
    wrong_types = client.post("/api/v1/bookings", json={"date": 5, "slot_id": [], "visitors": "x"})
    assert error_code(wrong_types) == "validation_error"
    assert error_code(client.get("/api/v1/nowhere")) == "not_found"
    assert client.delete("/api/v1/bookings").status_code == 405


def test_messages_follow_accept_language(client: TestClient) -> None:
    body = people.booking(TOMORROW, consent=False)
    english = client.post(
        "/api/v1/bookings", json=body, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    chinese = client.post("/api/v1/bookings", json=body)
    assert "consent" in english.json()["error"]["message"]
    assert "同意" in chinese.json()["error"]["message"]


def test_validation_errors_never_echo_personal_data(client: TestClient) -> None:
    body = people.booking(TOMORROW)
    body["visitors"][0]["id_number"] = "4101" * 20  # too long for the field
    response = book(client, body)
    assert error_code(response) == "validation_error"
    assert "4101410141" not in response.text

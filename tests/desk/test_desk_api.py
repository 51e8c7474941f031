"""``POST /desk/bookings``: staff book for a visitor, today from the walk-in places, a later
day as online; the booking says its channel and where its tickets print."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import admin_headers, set_clock
from tests.desk.helpers import TUESDAY, day_of, desk_body, desk_book, on_tuesday
from tests.gate.factories import staff_account, staff_headers
from tests.jobs.helpers import error_code
from tests.rules.test_rules_api import audit_entries
from tests.support import people


def test_a_walk_in_today_comes_from_the_walk_in_places(any_client: TestClient) -> None:
    on_tuesday(any_client)
    username, headers = staff_account(any_client)
    visitor = people.visitor("王奶奶", born=date(1948, 2, 3))
    response = desk_book(any_client, headers, desk_body(visitors=[visitor]))
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["channel"] == "walk_in"
    assert booking["status"] == "confirmed"
    assert booking["date"] == "2026-03-10" and booking["slot"]["id"] == "0900"
    assert booking["phone_masked"] is None
    assert booking["print_url"].startswith(f"/desk/bookings/{booking['reference']}/print?sig=")
    [ticket] = booking["tickets"]
    assert ticket["visitor"]["name"] == "王*奶" and ticket["party_size"] == 1
    assert visitor["id_number"] not in response.text

    day = day_of(any_client, TUESDAY)
    assert day["walk_in"] == {
        "capacity": 50, "booked": 1, "remaining": 49, "bookable": True, "reason": None
    }  # fmt: skip
    assert day["individual"]["booked"] == 0 and day["team"]["booked"] == 0
    slot = next(s for s in day["slots"] if s["id"] == "0900")
    assert (slot["walk_in_capacity"], slot["walk_in_remaining"]) == (50, 49)
    # The consent the staff member obtained by reading the notice out, with who did.
    [entry] = audit_entries(any_client, admin_headers(any_client), action="desk.booking")
    assert (entry["actor"], entry["target"]) == (username, booking["reference"])
    assert entry["after"]["consent"] == "read_out" and entry["after"]["channel"] == "walk_in"
    assert entry["after"]["phone"] is False
    # The ticket is a ticket like any other: the gate admits it.
    scan = any_client.post(
        "/api/v1/gate/scan",
        json={"payload": ticket["qr_payload"], "gate": "east-1", "direction": "in"},
        headers=headers,
    )
    assert scan.json()["admitted"] is True, scan.text


def test_a_phone_given_is_kept_and_masked(client: TestClient) -> None:
    on_tuesday(client)
    body = desk_body(phone="13900139000")
    response = desk_book(client, staff_headers(client), body)
    assert response.status_code == 201, response.text
    assert response.json()["phone_masked"] == "139****9000"


def test_a_later_day_is_booked_as_online(any_client: TestClient) -> None:
    on_tuesday(any_client)
    headers = staff_headers(any_client)
    wednesday = date(2026, 3, 11)
    response = desk_book(any_client, headers, desk_body(wednesday, "0900"))
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "individual"
    assert "print_url" in response.json()
    assert day_of(any_client, wednesday)["individual"]["booked"] == 1
    assert day_of(any_client, wednesday)["walk_in"]["booked"] == 0
    # The individual channel's rules apply, as online.
    beyond = desk_book(any_client, headers, desk_body(date(2026, 3, 20), "0900"))
    assert beyond.status_code == 409 and error_code(beyond) == "booking_window"
    assert beyond.json()["error"]["details"]["reason"] == "not_released"
    past = desk_book(any_client, headers, desk_body(date(2026, 3, 9), "0900"))
    assert past.json()["error"]["details"]["reason"] == "past"


def test_today_is_the_current_slot_or_a_later_one(client: TestClient) -> None:
    on_tuesday(client, "2026-03-10T13:30:00+08:00")
    headers = staff_headers(client)
    over = desk_book(client, headers, desk_body(slot_id="0900"))
    assert over.status_code == 409 and error_code(over) == "booking_window"
    assert over.json()["error"]["details"]["reason"] == "past"
    assert desk_book(client, headers, desk_body(slot_id="1300")).status_code == 201
    assert desk_book(client, headers, desk_body(slot_id="1500")).status_code == 201
    slots = {s["id"]: s for s in day_of(client, TUESDAY)["slots"]}
    assert slots["0900"]["walk_in_remaining"] == 0 and slots["1100"]["walk_in_remaining"] == 0
    assert slots["1300"]["walk_in_remaining"] == 48


def test_only_during_opening_hours_until_the_last_entry(client: TestClient) -> None:
    on_tuesday(client, "2026-03-10T08:30:00+08:00")
    headers = staff_headers(client)
    early = desk_book(client, headers, desk_body(slot_id="0900"))
    assert early.status_code == 409 and early.json()["error"]["details"]["reason"] == "not_released"
    assert day_of(client, TUESDAY)["walk_in"]["reason"] == "not_released"
    on_tuesday(client, "2026-03-10T15:59:00+08:00")
    headers = staff_headers(client)
    assert desk_book(client, headers, desk_body(slot_id="1500")).status_code == 201
    on_tuesday(client, "2026-03-10T16:01:00+08:00")
    headers = staff_headers(client)
    late = desk_book(client, headers, desk_body(slot_id="1500"))
    assert late.status_code == 409 and late.json()["error"]["details"]["reason"] == "past"
    # A closed day takes no walk-ins.
    set_clock(client, "2026-03-16T10:00:00+08:00")  # a Monday
    closed = desk_book(client, staff_headers(client), desk_body(date(2026, 3, 16)))
    assert closed.json()["error"]["details"]["reason"] == "closed"


def test_no_walk_in_place_left_is_sold_out(any_client: TestClient) -> None:
    on_tuesday(any_client)
    admin = admin_headers(any_client)
    patched = any_client.patch(
        "/api/v1/admin/rules", json={"walk_in": {"daily_quota": 2}}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["walk_in"] == {"daily_quota": 2, "cancel_minutes_before_start": 0}
    headers = staff_headers(any_client)
    pair = desk_body(visitors=[people.visitor(), people.visitor()])
    assert desk_book(any_client, headers, pair).status_code == 201
    full = desk_book(any_client, headers, desk_body())
    assert full.status_code == 409 and error_code(full) == "sold_out"
    assert day_of(any_client, TUESDAY)["walk_in"]["reason"] == "sold_out"
    # The individual quota is counted apart: online visitors of later days are untouched.
    assert day_of(any_client, date(2026, 3, 11))["individual"]["remaining"] == 1000


def test_a_day_override_sets_the_walk_in_quota_and_zero_switches_it_off(
    client: TestClient,
) -> None:
    on_tuesday(client)
    admin = admin_headers(client)
    put = client.put(f"/api/v1/admin/days/{TUESDAY}", json={"walk_in_quota": 1}, headers=admin)
    assert put.status_code == 200 and put.json()["walk_in_quota"] == 1, put.text
    assert day_of(client, TUESDAY)["walk_in"]["capacity"] == 1
    headers = staff_headers(client)
    assert desk_book(client, headers, desk_body()).status_code == 201
    assert error_code(desk_book(client, headers, desk_body())) == "sold_out"
    client.put(f"/api/v1/admin/days/{TUESDAY}", json={"walk_in_quota": 0}, headers=admin)
    assert day_of(client, TUESDAY)["walk_in"]["capacity"] == 0
    off = client.patch("/api/v1/admin/rules", json={"walk_in": {"daily_quota": 0}}, headers=admin)
    assert off.status_code == 200
    client.delete(f"/api/v1/admin/days/{TUESDAY}", headers=admin)
    refused = desk_book(client, headers, desk_body())
    assert refused.status_code == 409 and error_code(refused) == "sold_out"


def test_the_visitor_booking_api_cannot_book_walk_in_places(client: TestClient) -> None:
    on_tuesday(client)
    online = client.post("/api/v1/bookings", json=people.booking(TUESDAY, slot_id="1100"))
    assert online.status_code == 409 and online.json()["error"]["details"]["reason"] == "too_soon"
    assert day_of(client, TUESDAY)["walk_in"]["booked"] == 0


def test_consents_and_the_party_are_checked_as_online(client: TestClient) -> None:
    on_tuesday(client)
    headers = staff_headers(client)
    no_consent = desk_book(client, headers, desk_body(consent=False))
    assert no_consent.status_code == 422 and error_code(no_consent) == "consent_required"
    child = people.visitor("小明", born=date(2018, 6, 1))
    alone = desk_book(client, headers, desk_body(visitors=[child]))
    assert error_code(alone) == "minor_without_guardian"
    family = [people.visitor("李爷爷", born=date(1950, 1, 1)), child]
    no_guardian = desk_book(client, headers, desk_body(visitors=family, guardian_consent=False))
    assert error_code(no_guardian) == "consent_required"
    assert no_guardian.json()["error"]["details"]["consent"] == "guardian"
    together = desk_book(client, headers, desk_body(visitors=family, guardian_consent=True))
    assert together.status_code == 201, together.text
    again = desk_book(client, headers, desk_body(visitors=[family[0]]))
    assert again.status_code == 409 and error_code(again) == "duplicate_visitor"
    bad = desk_book(client, headers, desk_body(visitors=[people.visitor(id_number="123")]))
    assert bad.status_code == 422 and error_code(bad) == "invalid_id_number"
    assert "123" not in str(bad.json()["error"]["details"])


def test_only_staff_book_at_the_desk(client: TestClient) -> None:
    on_tuesday(client)
    anonymous = desk_book(client, {}, desk_body())
    assert anonymous.status_code == 401 and error_code(anonymous) == "unauthorized"
    as_admin = desk_book(client, admin_headers(client), desk_body())
    assert as_admin.status_code == 201, as_admin.text


def test_an_idempotency_key_books_once(client: TestClient) -> None:
    on_tuesday(client)
    headers = {**staff_headers(client), "Idempotency-Key": "desk-tap-1"}
    body = desk_body()
    first = desk_book(client, headers, body)
    second = desk_book(client, headers, body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert day_of(client, TUESDAY)["walk_in"]["booked"] == 1

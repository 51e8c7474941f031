"""POST /api/v1/gate/scan and its verdicts, exits and occupancy, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlmodel import col, select

from reservations import db
from reservations.gate import service
from reservations.gate.models import GateScan
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.gate.factories import OPENING, book, scan, staff_headers, team_ticket


def _booking(client: TestClient, booking: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/bookings/{booking['reference']}",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _scans() -> list[GateScan]:
    with db.transaction(write=False) as session:
        return list(session.exec(select(GateScan).order_by(col(GateScan.id))))


def _limit(client: TestClient, limit: int) -> None:
    response = client.patch(
        "/api/v1/admin/rules",
        json={"occupancy": {"instantaneous_limit": limit}},
        headers=admin_headers(client),
    )
    assert response.status_code == 200, response.text


def test_a_ticket_admits_once_and_checks_its_booking_in(any_client: TestClient) -> None:
    booking = book(any_client, visitors=2)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    ticket = booking["tickets"][0]

    first = scan(any_client, staff, ticket["qr_payload"])
    assert first["admitted"] is True and first["reason"] is None
    assert first["ticket"]["ticket_id"] == ticket["ticket_id"]
    assert first["ticket"]["date"] == TOMORROW.isoformat()
    assert first["ticket"]["slot"] == {"id": "0900", "start": "09:00", "end": "11:00"}
    assert first["ticket"]["party_size"] == 1
    assert first["ticket"]["visitor"] == ticket["visitor"]
    assert first["ticket"]["visitor"]["name"] == "王*一"
    assert first["occupancy"] == {"inside": 1, "limit": 600, "entered_today": 1, "exited_today": 0}

    again = scan(any_client, staff, ticket["qr_payload"], gate="west-2")
    assert again["admitted"] is False and again["reason"] == "already_used"
    assert again["ticket"]["entered_gate"] == "east-1"
    assert again["ticket"]["entered_at"] == "2026-03-10T09:00:00+08:00"
    assert again["occupancy"]["inside"] == 1

    read = _booking(any_client, booking)
    assert read["status"] == "checked_in"
    assert [t["used"] for t in read["tickets"]] == [True, False]
    assert any_client.get("/api/v1/occupancy").json() == {
        "inside": 1,
        "limit": 600,
        "entered_today": 1,
        "exited_today": 0,
    }


def test_responses_show_only_masked_personal_data(client: TestClient) -> None:
    body_sent = book(client)
    set_clock(client, OPENING)
    staff = staff_headers(client)
    response = client.post(
        "/api/v1/gate/scan",
        json={"payload": body_sent["tickets"][0]["qr_payload"], "gate": "east-1"},
        headers=staff,
    )
    visitor = response.json()["ticket"]["visitor"]
    assert "*" in visitor["name"] and "**********" in visitor["id_masked"]
    assert "王小一" not in response.text


def test_forged_unreadable_and_unknown_codes_are_invalid(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    payload = ticket["qr_payload"]
    changed_party = payload.replace(".0900.1.", ".0900.5.")
    for code in ("", "not a ticket", payload[:-10], changed_party, payload[:-1] + "A"):
        if code == payload:
            continue
        result = scan(client, staff, code)
        assert result["admitted"] is False and result["reason"] == "invalid", code
        assert result["ticket"] is None
        assert result["occupancy"]["inside"] == 0
    assert scan(client, staff, payload)["admitted"] is True


def test_a_validly_signed_ticket_this_service_does_not_hold_is_invalid(
    client: TestClient,
) -> None:
    from reservations.tickets.signing import get_keyring

    set_clock(client, OPENING)
    staff = staff_headers(client)
    made_up = get_keyring().sign("ABCDEFGH2345", TOMORROW, "0900", 1)
    result = scan(client, staff, made_up)
    assert result["reason"] == "invalid"
    assert _scans()[-1].ticket_id == "ABCDEFGH2345"


def test_cancelled_bookings_do_not_enter(any_client: TestClient) -> None:
    booking = book(any_client)
    cancelled = any_client.post(
        f"/api/v1/bookings/{booking['reference']}/cancel",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert cancelled.status_code == 200
    set_clock(any_client, OPENING)
    result = scan(any_client, staff_headers(any_client), booking["tickets"][0]["qr_payload"])
    assert result["admitted"] is False and result["reason"] == "cancelled"
    assert result["occupancy"]["inside"] == 0


def test_tickets_for_another_day_do_not_enter(client: TestClient) -> None:
    tomorrow = book(client)["tickets"][0]
    day_after = book(client, day=TOMORROW.replace(day=11))["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    assert scan(client, staff, day_after["qr_payload"])["reason"] == "wrong_date"
    set_clock(client, "2026-03-11T09:30:00+08:00")
    staff = staff_headers(client)
    assert scan(client, staff, tomorrow["qr_payload"])["reason"] == "wrong_date"
    assert scan(client, staff, day_after["qr_payload"])["admitted"] is True


@pytest.mark.parametrize(
    ("slot_id", "instant", "reason"),
    [
        ("1100", "2026-03-10T10:29:59+08:00", "too_early"),
        ("1100", "2026-03-10T10:30:00+08:00", None),  # 30 minutes before the slot
        ("0900", "2026-03-10T11:00:00+08:00", None),  # until the slot's end
        ("0900", "2026-03-10T11:00:01+08:00", "too_late"),
        ("1500", "2026-03-10T16:00:00+08:00", None),  # last entry
        ("1500", "2026-03-10T16:00:01+08:00", "too_late"),  # never after last entry
        ("0900", "2026-03-10T08:29:00+08:00", "too_early"),
    ],
)
def test_the_entry_window_around_the_slot(
    client: TestClient, slot_id: str, instant: str, reason: str | None
) -> None:
    ticket = book(client, slot_id=slot_id)["tickets"][0]
    set_clock(client, instant)
    result = scan(client, staff_headers(client), ticket["qr_payload"])
    assert result["reason"] == reason
    assert result["admitted"] is (reason is None)


def test_the_entry_window_follows_the_rules(client: TestClient) -> None:
    early, late = (t["qr_payload"] for t in book(client, visitors=2, slot_id="1100")["tickets"])
    changed = client.patch(
        "/api/v1/admin/rules",
        json={"gate": {"entry_opens_minutes_before": 90, "entry_closes_minutes_after_end": 15}},
        headers=admin_headers(client),
    )
    assert changed.status_code == 200, changed.text
    set_clock(client, "2026-03-10T09:30:00+08:00")
    assert scan(client, staff_headers(client), early)["admitted"] is True
    set_clock(client, "2026-03-10T13:15:00+08:00")
    staff = staff_headers(client)
    assert scan(client, staff, late)["admitted"] is True


def test_the_live_limit_holds_and_refused_tickets_stay_unused(any_client: TestClient) -> None:
    booking = book(any_client, visitors=3)
    _limit(any_client, 2)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    first, second, third = (ticket["qr_payload"] for ticket in booking["tickets"])
    assert scan(any_client, staff, first)["admitted"] is True
    assert scan(any_client, staff, second)["occupancy"] == {
        "inside": 2,
        "limit": 2,
        "entered_today": 2,
        "exited_today": 0,
    }
    full = scan(any_client, staff, third)
    assert full["admitted"] is False and full["reason"] == "capacity_full"
    assert full["ticket"]["state"] == "unused"
    assert full["occupancy"]["inside"] == 2
    assert [t["used"] for t in _booking(any_client, booking)["tickets"]] == [True, True, False]

    out = scan(any_client, staff, first, direction="out")
    assert out["admitted"] is True and out["people"] == 1
    assert out["occupancy"]["inside"] == 1
    assert scan(any_client, staff, third)["admitted"] is True


def test_a_team_enters_with_its_headcount_and_leaves_with_it(any_client: TestClient) -> None:
    set_clock(any_client, OPENING)
    team = team_ticket(30)
    staff = staff_headers(any_client)
    for wrong in (0, 31, -1):
        response = any_client.post(
            "/api/v1/gate/scan",
            json={"payload": team["qr_payload"], "gate": "east-1", "headcount": wrong},
            headers=staff,
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
    assert any_client.get("/api/v1/occupancy").json()["inside"] == 0

    entered = scan(any_client, staff, team["qr_payload"], headcount=27)
    assert entered["admitted"] is True and entered["people"] == 27
    assert entered["ticket"]["party_size"] == 30
    assert entered["ticket"]["admitted_count"] == 27
    assert entered["ticket"]["channel"] == "team"
    assert entered["ticket"]["organization"] == "郑州市第一中学"
    # Shown with the leader's masked name and document.
    assert entered["ticket"]["visitor"]["name"] == "李*师"
    assert entered["ticket"]["visitor"]["id_masked"].startswith("4101")
    assert entered["occupancy"]["inside"] == 27

    left = scan(any_client, staff, team["qr_payload"], direction="out", gate="east-exit")
    assert left["admitted"] is True and left["people"] == 27
    assert left["ticket"]["state"] == "left"
    assert left["occupancy"] == {"inside": 0, "limit": 600, "entered_today": 27, "exited_today": 27}
    again = scan(any_client, staff, team["qr_payload"], direction="out")
    assert again["admitted"] is False and again["reason"] == "not_inside"
    assert again["occupancy"]["inside"] == 0
    # The three who came later still get in on the ticket, and leave by themselves.
    late = scan(any_client, staff, team["qr_payload"])
    assert (late["admitted"], late["people"], late["remaining"]) == (True, 3, 0)
    assert late["ticket"]["admitted_count"] == 30
    assert scan(any_client, staff, team["qr_payload"])["reason"] == "already_used"
    out = scan(any_client, staff, team["qr_payload"], direction="out")
    assert out["people"] == 3 and out["occupancy"]["inside"] == 0


def test_a_whole_team_enters_without_a_headcount(client: TestClient) -> None:
    set_clock(client, OPENING)
    team = team_ticket(12)
    result = scan(client, staff_headers(client), team["qr_payload"])
    assert result["people"] == 12 and result["occupancy"]["inside"] == 12


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_team_bookings_not_approved_do_not_enter(client: TestClient, status: str) -> None:
    set_clock(client, OPENING)
    team = team_ticket(20, status=status)
    result = scan(client, staff_headers(client), team["qr_payload"])
    assert result["admitted"] is False and result["reason"] == "not_approved"
    assert result["occupancy"]["inside"] == 0


def test_a_party_too_large_for_the_limit_is_refused(client: TestClient) -> None:
    _limit(client, 10)
    set_clock(client, OPENING)
    team = team_ticket(11)
    staff = staff_headers(client)
    assert scan(client, staff, team["qr_payload"])["reason"] == "capacity_full"
    assert scan(client, staff, team["qr_payload"], headcount=10)["admitted"] is True


def test_checking_out_an_unused_ticket_changes_nothing(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    result = scan(client, staff, ticket["qr_payload"], direction="out")
    assert result["admitted"] is False and result["reason"] == "not_inside"
    assert result["ticket"]["state"] == "unused"
    assert scan(client, staff, ticket["qr_payload"])["admitted"] is True


def test_exit_counts_never_take_occupancy_below_zero(any_client: TestClient) -> None:
    booking = book(any_client, visitors=3)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    nobody = any_client.post("/api/v1/gate/exits", json={"gate": "x", "count": 4}, headers=staff)
    assert nobody.status_code == 200
    assert nobody.json()["occupancy"]["inside"] == 0
    for ticket in booking["tickets"]:
        scan(any_client, staff, ticket["qr_payload"])
    two = any_client.post(
        "/api/v1/gate/exits", json={"gate": "east-exit", "count": 2}, headers=staff
    )
    assert two.json() == {
        "occupancy": {"inside": 1, "limit": 600, "entered_today": 3, "exited_today": 2}
    }
    many = any_client.post(
        "/api/v1/gate/exits", json={"gate": "east-exit", "count": 50}, headers=staff
    )
    assert many.json()["occupancy"] == {
        "inside": 0,
        "limit": 600,
        "entered_today": 3,
        "exited_today": 3,
    }
    # A ticket checked out after the turnstile already counted its holder out.
    late = scan(any_client, staff, booking["tickets"][0]["qr_payload"], direction="out")
    assert late["admitted"] is True and late["occupancy"]["inside"] == 0
    for count in (0, -3, 10_001):
        response = any_client.post(
            "/api/v1/gate/exits", json={"gate": "east-exit", "count": count}, headers=staff
        )
        assert response.status_code == 422


def test_every_scan_is_recorded(client: TestClient) -> None:
    booking = book(client, visitors=2)
    set_clock(client, OPENING)
    staff = staff_headers(client)
    first, second = (ticket["qr_payload"] for ticket in booking["tickets"])
    scan(client, staff, first, gate="east-1")
    scan(client, staff, first, gate="east-2")
    scan(client, staff, "garbage", gate="east-2")
    scan(client, staff, first, gate="east-exit", direction="out")
    client.post("/api/v1/gate/exits", json={"gate": "east-exit", "count": 2}, headers=staff)
    scan(client, staff, second, gate="east-1")
    records = _scans()
    assert [(r.gate, r.direction, r.verdict, r.people) for r in records] == [
        ("east-1", "in", "admitted", 1),
        ("east-2", "in", "already_used", 0),
        ("east-2", "in", "invalid", 0),
        ("east-exit", "out", "checked_out", 1),
        ("east-exit", "out", "exit_count", 2),
        ("east-1", "in", "admitted", 1),
    ]
    tickets = [ticket["ticket_id"] for ticket in booking["tickets"]]
    assert [r.ticket_id for r in records] == [
        tickets[0],
        tickets[0],
        None,
        tickets[0],
        None,
        tickets[1],
    ]
    assert {r.actor for r in records} == {records[0].actor} and records[0].actor.startswith("staff")
    assert all(r.at.isoformat().startswith("2026-03-10T01:00:00") for r in records)


def test_codes_typed_through_a_chinese_input_method_or_caps_lock_are_read(
    client: TestClient,
) -> None:
    booking = book(client, visitors=3)
    set_clock(client, OPENING)
    staff = staff_headers(client)
    ime, caps, fullwidth = (ticket["qr_payload"] for ticket in booking["tickets"])
    assert scan(client, staff, ime.replace(".", "。") + "\r\n")["admitted"] is True
    assert scan(client, staff, caps.swapcase())["admitted"] is True
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in fullwidth)
    assert scan(client, staff, wide)["admitted"] is True


def test_verdicts_speak_the_request_language(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    english = {**staff, "Accept-Language": "en-GB,en;q=0.9"}
    assert scan(client, english, ticket["qr_payload"])["message"] == "Admitted"
    assert scan(client, english, ticket["qr_payload"])["message"] == "Ticket already used"
    assert scan(client, staff, ticket["qr_payload"])["message"] == "门票已使用"


def test_malformed_requests_are_validation_errors(client: TestClient) -> None:
    set_clock(client, OPENING)
    staff = staff_headers(client)
    for body in (
        {"gate": "east-1"},
        {"payload": "x"},
        {"payload": "x", "gate": ""},
        {"payload": "x", "gate": "east\n1"},
        {"payload": "x", "gate": "east-1", "direction": "sideways"},
        {"payload": "x" * 513, "gate": "east-1"},
        {"payload": "x", "gate": "east-1", "extra": 1},
    ):
        response = client.post("/api/v1/gate/scan", json=body, headers=staff)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    assert _scans() == []


def test_the_gate_needs_staff_and_occupancy_is_public(any_client: TestClient) -> None:
    set_clock(any_client, OPENING)
    for method, path, body in (
        ("POST", "/api/v1/gate/scan", {"payload": "x", "gate": "g"}),
        ("POST", "/api/v1/gate/exits", {"gate": "g", "count": 1}),
        ("GET", "/api/v1/gate/keys", None),
    ):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = any_client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
    assert any_client.get("/api/v1/occupancy").status_code == 200
    staff = staff_headers(any_client)
    assert any_client.get("/api/v1/gate/keys", headers=staff).status_code == 200
    # staff < admin: the gate is open to both, admin endpoints to admins only.
    admin = staff_headers(any_client, role="admin")
    assert scan(any_client, admin, "x")["reason"] == "invalid"
    refused = any_client.post(
        "/api/v1/admin/users",
        json={"username": "sneaky", "password": "long enough password", "role": "admin"},
        headers=staff,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert any_client.get("/api/v1/admin/rules", headers=staff).status_code == 403


def test_a_staff_token_expires(client: TestClient) -> None:
    set_clock(client, OPENING)
    staff = staff_headers(client)
    assert scan(client, staff, "x")["reason"] == "invalid"
    set_clock(client, "2026-03-10T21:00:01+08:00")  # 12 hours on
    response = client.post(
        "/api/v1/gate/scan", json={"payload": "x", "gate": "east-1"}, headers=staff
    )
    assert response.status_code == 401


def test_the_published_keys_verify_tickets_offline(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    keys = client.get("/api/v1/gate/keys", headers=staff_headers(client)).json()
    assert keys["format"].startswith("ZT1.")
    (key,) = keys["keys"]
    assert key["alg"] == "Ed25519" and key["signing"] is True
    assert "private" not in str(keys).lower()
    body, _, signature = ticket["qr_payload"].rpartition(".")
    assert body.split(".")[1] == key["kid"]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b32decode(signature + "=" * (-len(signature) % 8)), body.encode())


def test_closing_time_counts_everybody_out(any_client: TestClient) -> None:
    booking = book(any_client, visitors=3)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    for ticket in booking["tickets"][:2]:
        scan(any_client, staff, ticket["qr_payload"])
    scan(any_client, staff, booking["tickets"][0]["qr_payload"], direction="out")
    set_clock(any_client, "2026-03-10T17:00:00+08:00")
    with db.transaction() as session:
        assert service.close_day(session, TOMORROW) == {
            "people_counted_out": 1,
            "tickets_checked_out": 1,
        }
    assert any_client.get("/api/v1/occupancy").json() == {
        "inside": 0,
        "limit": 600,
        "entered_today": 2,
        "exited_today": 2,
    }
    with db.transaction() as session:
        assert service.close_day(session, TOMORROW) == {
            "people_counted_out": 0,
            "tickets_checked_out": 0,
        }
        assert service.current_occupancy(session) == service.Occupancy(0, 600, 2, 2)
    states = [t["used"] for t in _booking(any_client, booking)["tickets"]]
    assert states == [True, True, False]
    out = scan(
        any_client, staff_headers(any_client), booking["tickets"][1]["qr_payload"], direction="out"
    )
    assert out["reason"] == "not_inside"


def test_each_day_starts_empty(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    scan(client, staff_headers(client), ticket["qr_payload"])
    assert client.get("/api/v1/occupancy").json()["inside"] == 1
    set_clock(client, "2026-03-11T09:00:00+08:00")
    assert client.get("/api/v1/occupancy").json() == {
        "inside": 0,
        "limit": 600,
        "entered_today": 0,
        "exited_today": 0,
    }
    with db.transaction() as session:
        assert service.close_day(session, TOMORROW.replace(day=12)) == {
            "people_counted_out": 0,
            "tickets_checked_out": 0,
        }

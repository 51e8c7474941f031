"""What the desk sees under a visitor's document, cancelling what somebody else booked with
it (no strike for the visitor), and an admin lifting a ban (its strikes no longer count)."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.conftest import admin_headers, set_clock
from tests.desk.helpers import TUESDAY, day_of, desk_body, desk_book, identity_of, on_tuesday
from tests.gate.factories import staff_account, staff_headers
from tests.jobs.helpers import book, error_code, run_at, run_job
from tests.rules.test_rules_api import audit_entries
from tests.support import people

MARK = "mark-no-shows"


def test_the_bookings_under_a_document_masked_without_tokens(any_client: TestClient) -> None:
    visitor = people.visitor("赵六", born=date(1960, 4, 4))
    online = book(any_client, TUESDAY, visitor, visitors=[visitor, people.visitor("钱七")])
    book(any_client, date(2026, 3, 11), people.visitor("别人"))
    headers = staff_headers(any_client)
    response = identity_of(any_client, headers, visitor)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["ban"] is None and found["strikes"] == []
    [booking] = found["bookings"]
    assert booking["reference"] == online["reference"]
    assert booking["manage_token"] is None and booking["booked_by"] is None
    assert [v["name"] for v in booking["visitors"]] == ["赵*", "钱*"]
    assert visitor["id_number"] not in response.text
    assert "13800138000" not in response.text
    # Every spelling of the number is the same person.
    spaced = {**visitor, "id_number": " ".join(visitor["id_number"])}
    assert (
        identity_of(any_client, headers, spaced).json()["bookings"][0]["reference"]
        == (online["reference"])
    )
    nobody = identity_of(any_client, headers, people.visitor())
    assert nobody.json() == {"bookings": [], "ban": None, "strikes": [], "lifted": None}


def test_a_lookup_needs_staff_and_a_valid_number(client: TestClient) -> None:
    visitor = people.visitor()
    assert identity_of(client, {}, visitor).status_code == 401
    invalid = identity_of(client, staff_headers(client), {**visitor, "id_number": "41010519"})
    assert invalid.status_code == 422 and error_code(invalid) == "invalid_id_number"
    assert "41010519" not in invalid.text


def test_nothing_of_the_number_reaches_a_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = people.visitor()
    book(client, TUESDAY, visitor)
    headers = staff_headers(client)
    with caplog.at_level(logging.DEBUG):
        identity_of(client, headers, visitor)
        identity_of(client, headers, {**visitor, "id_number": visitor["id_number"][:-1] + "Z"})
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert visitor["id_number"] not in logged and visitor["id_number"][:14] not in logged


def test_the_desk_cancels_what_somebody_else_booked_and_no_strike_follows(
    any_client: TestClient,
) -> None:
    victim = people.visitor("孙八", born=date(1955, 9, 9))
    # Somebody else booked with the victim's document number, from their own phone.
    stolen = book(any_client, TUESDAY, victim, phone="13700137000")
    on_tuesday(any_client)
    username, headers = staff_account(any_client)
    # The victim cannot be booked at the desk: their document holds today already.
    blocked = desk_book(any_client, headers, desk_body(visitors=[victim]))
    assert blocked.status_code == 409 and error_code(blocked) == "duplicate_visitor"

    before = day_of(any_client, TUESDAY)["individual"]["booked"]
    cancelled = any_client.post(
        f"/api/v1/desk/bookings/{stolen['reference']}/cancel",
        json={"reason": "证件号码被他人冒用"},
        headers=headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["manage_token"] is None
    assert day_of(any_client, TUESDAY)["individual"]["booked"] == before - 1
    [entry] = audit_entries(any_client, admin_headers(any_client), action="desk.cancel")
    assert (entry["actor"], entry["target"]) == (username, stolen["reference"])
    assert entry["before"] == {"status": "confirmed"}
    assert entry["after"]["reason"] == "证件号码被他人冒用"
    # Its ticket is void; the visitor is booked at the desk now.
    scan = any_client.post(
        "/api/v1/gate/scan",
        json={"payload": stolen["tickets"][0]["qr_payload"], "gate": "east-1", "direction": "in"},
        headers=headers,
    )
    assert scan.json()["reason"] == "cancelled"
    assert desk_book(any_client, headers, desk_body(visitors=[victim])).status_code == 201
    again = any_client.post(f"/api/v1/desk/bookings/{stolen['reference']}/cancel", headers=headers)
    assert again.status_code == 409 and error_code(again) == "cannot_cancel"
    missing = any_client.post("/api/v1/desk/bookings/ZZZZZZZZ/cancel", headers=headers)
    assert missing.status_code == 404

    # The day closes: the cancelled booking is no no-show, nobody gets a strike for it.
    result = run_at(any_client, "2026-03-10T17:30:00+08:00", MARK)
    assert result["no_shows"] == 1  # the victim's own desk booking, which they did not use
    view = identity_of(any_client, staff_headers(any_client), victim).json()
    statuses = {b["reference"]: b["status"] for b in view["bookings"]}
    assert statuses[stolen["reference"]] == "cancelled"
    assert [s["reference"] for s in view["strikes"]] == []  # walk-ins give no strikes


def test_a_ban_is_shown_and_an_admin_lifts_it(any_client: TestClient) -> None:
    person = people.visitor("周九", born=date(1958, 3, 3))
    missed = [book(any_client, day, person) for day in (date(2026, 3, 10), date(2026, 3, 11))]
    missed.append(book(any_client, date(2026, 3, 12), person))
    for instant in ("2026-03-10T17:30", "2026-03-11T17:30", "2026-03-12T17:30"):
        run_at(any_client, f"{instant}:00+08:00", MARK)
    set_clock(any_client, "2026-03-13T10:00:00+08:00")
    staff = staff_headers(any_client)
    view = identity_of(any_client, staff, person).json()
    assert view["ban"]["until"] == "2026-05-11"
    references = [b["reference"] for b in missed]
    assert [s["reference"] for s in view["ban"]["strikes"]] == references[::-1]
    assert [s["date"] for s in view["strikes"]] == ["2026-03-12", "2026-03-11", "2026-03-10"]
    refused = desk_book(any_client, staff, desk_body(date(2026, 3, 14), visitors=[person]))
    assert refused.status_code == 403 and error_code(refused) == "visitor_banned"

    lift = {"id_type": person["id_type"], "id_number": person["id_number"], "reason": "冒用"}
    by_staff = any_client.post("/api/v1/desk/identity/lift-ban", json=lift, headers=staff)
    assert by_staff.status_code == 403
    admin = admin_headers(any_client)
    no_reason = any_client.post(
        "/api/v1/desk/identity/lift-ban", json={**lift, "reason": " "}, headers=admin
    )
    assert no_reason.status_code == 422
    lifted = any_client.post("/api/v1/desk/identity/lift-ban", json=lift, headers=admin)
    assert lifted.status_code == 200, lifted.text
    body = lifted.json()
    assert body["ban"] is None and body["strikes"] == []
    assert body["lifted"]["by"] == "admin" and body["lifted"]["strikes_forgiven"] == 3
    assert body["lifted"]["until"] == "2026-05-11" and body["lifted"]["reason"] == "冒用"
    [entry] = audit_entries(any_client, admin, action="desk.lift_ban")
    assert entry["actor"] == "admin" and entry["before"] == {"until": "2026-05-11", "strikes": 3}
    assert person["id_number"] not in str(entry)
    # Booking works again, and the forgiven strikes never count towards another ban.
    again = desk_book(any_client, staff, desk_body(date(2026, 3, 14), visitors=[person]))
    assert again.status_code == 201, again.text
    assert run_at(any_client, "2026-03-14T17:30:00+08:00", MARK)["bans"] == 0
    assert run_job(any_client, MARK)["strikes"] == 0
    staff = staff_headers(any_client)
    after = identity_of(any_client, staff, person).json()
    assert after["ban"] is None and len(after["strikes"]) == 1  # only the new one
    nothing = any_client.post(
        "/api/v1/desk/identity/lift-ban",
        json={**lift, "id_number": people.visitor()["id_number"]},
        headers=admin_headers(any_client),
    )
    assert nothing.status_code == 404


def test_a_lifted_ban_is_forgotten_with_its_window(client: TestClient) -> None:
    person = people.visitor("冯二", born=date(1962, 2, 2))
    for day in (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)):
        book(client, day, person)
        run_at(client, f"{day.isoformat()}T17:30:00+08:00", MARK)
    lift = {"id_type": person["id_type"], "id_number": person["id_number"], "reason": "冒用"}
    lifted = client.post("/api/v1/desk/identity/lift-ban", json=lift, headers=admin_headers(client))
    assert lifted.status_code == 200, lifted.text
    kept = run_at(client, "2026-09-01T03:00:00+08:00", "purge-personal-data")
    assert kept["ban_lifts_forgotten"] == 0
    gone = run_at(client, "2026-09-10T03:00:00+08:00", "purge-personal-data")
    assert gone["ban_lifts_forgotten"] == 1

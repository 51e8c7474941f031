"""Offline scanners hold a share of the limit (``GET /gate/offline-data?device=``), and
uploads outside a lease are problems, never admissions; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from reservations import db
from reservations.gate import leases
from reservations.gate.models import OfflineLease
from reservations.ops import check
from reservations.tickets.models import Ticket
from tests.conftest import admin_headers, set_clock
from tests.gate.factories import OPENING, book, scan, staff_account, staff_headers, team_ticket
from tests.gate.test_offline_api import _audit, _rules, lease, occupancy, offline_scan, upload

OPENED = datetime.fromisoformat(OPENING)


def _payloads(client: TestClient, count: int) -> list[str]:
    found: list[str] = []
    while len(found) < count:
        visitors = min(5, count - len(found))
        found += [t["qr_payload"] for t in book(client, visitors=visitors)["tickets"]]
    return found


def _problems(client: TestClient, day: str | None = None) -> list[dict[str, Any]]:
    params = {"date": day} if day else {}
    response = client.get(
        "/api/v1/admin/offline-problems", params=params, headers=admin_headers(client)
    )
    assert response.status_code == 200, response.text
    problems: list[dict[str, Any]] = response.json()["problems"]
    return problems


def _state(ticket_payload: str) -> str:
    ticket_id = ticket_payload.split(".")[2]
    with db.transaction(write=False) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.use_state


# --- the lease ------------------------------------------------------------------------------


def test_a_fetch_leases_the_device_its_allowance_and_a_new_fetch_renews_it(
    any_client: TestClient,
) -> None:
    set_clock(any_client, OPENING)
    username, staff = staff_account(any_client)
    data = lease(any_client, staff, "tablet-1")
    assert (data["device"], data["allowance"]) == ("tablet-1", 20)
    assert data["lease_until"] == "2026-03-10T09:30:00+08:00"
    set_clock(any_client, OPENED + timedelta(minutes=20))
    renewed = lease(any_client, staff, "tablet-1")
    assert (renewed["allowance"], renewed["lease_until"]) == (20, "2026-03-10T09:50:00+08:00")
    # Still one lease for the device, holding 20 places.
    with db.transaction(write=False) as session:
        rows = session.exec(select(OfflineLease)).all()
    assert [(row.device, row.allowance, row.ended_at) for row in rows] == [("tablet-1", 20, None)]
    listed = any_client.get("/api/v1/admin/offline-leases", headers=admin_headers(any_client))
    assert listed.status_code == 200
    assert listed.json()["held"] == 20
    (shown,) = listed.json()["leases"]
    assert (shown["device"], shown["live"], shown["issued_to"]) == ("tablet-1", True, username)
    assert (shown["began_at"], shown["renewed_at"]) == (OPENING, "2026-03-10T09:20:00+08:00")
    # The rules say how much and how long.
    _rules(any_client, {"gate": {"offline_allowance": 7, "offline_lease_minutes": 10}})
    again = lease(any_client, staff, "tablet-1")
    assert (again["allowance"], again["lease_until"]) == (7, "2026-03-10T09:30:00+08:00")


def test_allowances_never_pass_the_places_left_less_the_other_leases(
    any_client: TestClient,
) -> None:
    payloads = _payloads(any_client, 10)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 45}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    for payload in payloads:
        assert scan(any_client, staff, payload)["admitted"] is True
    # 45 - 10 inside = 35 left: 20, then the 15 left, then none.
    assert [lease(any_client, staff, f"tablet-{n}")["allowance"] for n in range(3)] == [20, 15, 0]
    # A renewal keeps its own places; it never takes another device's.
    assert lease(any_client, staff, "tablet-1")["allowance"] == 15
    # Two leave: the places they leave are free for the next lease (or a renewal).
    exits = any_client.post("/api/v1/gate/exits", json={"gate": "x", "count": 2}, headers=staff)
    assert exits.status_code == 200
    assert lease(any_client, staff, "tablet-2")["allowance"] == 2


def test_online_admissions_never_take_the_places_leases_hold(any_client: TestClient) -> None:
    payloads = _payloads(any_client, 8)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 25}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert lease(any_client, staff, "tablet-1")["allowance"] == 20
    verdicts = [scan(any_client, staff, p)["reason"] for p in payloads[:6]]
    assert verdicts == [None] * 5 + ["capacity_full"]
    assert occupancy(any_client)["inside"] == 5
    # The tablet uploads what it did (two people): its lease ends, the 18 it did not use
    # return, and the online gate admits again.
    results = upload(any_client, staff, [offline_scan(p) for p in payloads[6:8]], device="tablet-1")
    assert [(r["admitted"], r["problem"]) for r in results] == [(True, None), (True, None)]
    assert occupancy(any_client)["inside"] == 7
    assert scan(any_client, staff, payloads[5])["admitted"] is True


def test_a_lease_ends_at_its_time_and_its_places_return(any_client: TestClient) -> None:
    payloads = _payloads(any_client, 3)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 20}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert lease(any_client, staff, "tablet-1")["allowance"] == 20
    assert scan(any_client, staff, payloads[0])["reason"] == "capacity_full"
    set_clock(any_client, "2026-03-10T09:30:01+08:00")
    staff = staff_headers(any_client)
    assert scan(any_client, staff, payloads[0])["admitted"] is True
    # What the tablet admitted before its lease ended still counts; after it, it is a
    # problem (a lease ends at its time).
    inside = offline_scan(payloads[1], at="2026-03-10T09:20:00+08:00")
    outside = offline_scan(payloads[2], at="2026-03-10T09:31:00+08:00")
    results = upload(any_client, staff, [inside, outside], device="tablet-1")
    assert [(r["admitted"], r["problem"]) for r in results] == [(True, None), (False, "no_lease")]
    assert occupancy(any_client)["inside"] == 2


def test_an_upload_ends_the_lease_unless_more_follow(any_client: TestClient) -> None:
    payloads = _payloads(any_client, 3)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 20}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-1")
    first = {"device": "tablet-1", "scans": [offline_scan(payloads[0])], "more": True}
    response = any_client.post("/api/v1/gate/offline-scans", json=first, headers=staff)
    assert response.status_code == 200 and response.json()["results"][0]["admitted"] is True
    # 20 - 1 inside - 19 still held: no place online yet.
    assert scan(any_client, staff, payloads[2])["reason"] == "capacity_full"
    (last,) = upload(any_client, staff, [offline_scan(payloads[1])], device="tablet-1")
    assert last["admitted"] is True
    assert scan(any_client, staff, payloads[2])["admitted"] is True
    with db.transaction(write=False) as session:
        (row,) = session.exec(select(OfflineLease)).all()
    assert (row.used, row.end_reason) == (2, leases.UPLOADED)


# --- uploads a lease does not cover -----------------------------------------------------------


def test_uploads_by_an_online_token_cannot_pass_the_live_limit(any_client: TestClient) -> None:
    """The review's reproduction: limit 2, an online scan refused, then uploads took
    occupancy to 23."""
    payloads = _payloads(any_client, 24)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 2}})
    set_clock(any_client, OPENING)
    username, staff = staff_account(any_client)
    assert [scan(any_client, staff, p)["reason"] for p in payloads[:3]] == [
        None,
        None,
        "capacity_full",
    ]
    forged = [offline_scan(p) for p in payloads[3:24]]
    results = upload(any_client, staff, forged, device="laptop")
    assert {(r["admitted"], r["reason"], r["problem"], r["conflict"]) for r in results} == {
        (False, "no_lease", "no_lease", True)
    }
    assert all(r["people"] == 0 for r in results)
    assert occupancy(any_client)["inside"] == 2
    assert all(_state(p) == "unused" for p in payloads[3:24])
    # A lease fetched now holds nothing (no place is left), so nothing it covers either.
    assert lease(any_client, staff, "laptop")["allowance"] == 0
    (past,) = upload(any_client, staff, [offline_scan(payloads[2])], device="laptop")
    assert (past["admitted"], past["problem"]) == (False, "past_allowance")
    assert occupancy(any_client)["inside"] == 2
    problems = _problems(any_client)
    assert len(problems) == 22
    assert {(p["device"], p["uploaded_by"]) for p in problems} == {("laptop", username)}
    assert {p["problem"] for p in problems} == {"no_lease", "past_allowance"}
    assert all(p["people"] == 1 for p in problems)
    assert len(_audit(any_client, "gate.offline_outside_lease")) == 22


def test_a_back_dated_upload_cannot_pass_the_entry_window(any_client: TestClient) -> None:
    """The review's second reproduction: a too_late ticket admitted by back-dating ``at``."""
    late, later = (book(any_client)["tickets"][0]["qr_payload"] for _ in range(2))
    set_clock(any_client, "2026-03-10T11:30:00+08:00")
    staff = staff_headers(any_client)
    assert scan(any_client, staff, late)["reason"] == "too_late"
    back_dated = "2026-03-10T10:59:00+08:00"
    (no_lease,) = upload(any_client, staff, [offline_scan(late, at=back_dated)], device="pc")
    assert (no_lease["admitted"], no_lease["problem"]) == (False, "no_lease")
    # A lease fetched now covers nothing before it.
    lease(any_client, staff, "pc")
    (before,) = upload(any_client, staff, [offline_scan(later, at=back_dated)], device="pc")
    assert (before["admitted"], before["problem"]) == (False, "before_lease")
    assert _state(late) == _state(later) == "unused"
    assert occupancy(any_client)["inside"] == 0
    assert scan(any_client, staff, later)["reason"] == "too_late"
    assert sorted(p["problem"] for p in _problems(any_client)) == ["before_lease", "no_lease"]


def test_a_scan_after_its_upload_or_past_the_allowance_is_a_problem(
    any_client: TestClient,
) -> None:
    payloads = _payloads(any_client, 4)
    _rules(any_client, {"gate": {"offline_allowance": 2}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-1")
    results = upload(
        any_client,
        staff,
        [
            offline_scan(payloads[0]),
            offline_scan(payloads[1], at=OPENED + timedelta(hours=1)),
            offline_scan(payloads[2]),
            offline_scan(payloads[3]),
        ],
        device="tablet-1",
    )
    assert [(r["admitted"], r["problem"]) for r in results] == [
        (True, None),
        (False, "after_upload"),
        (True, None),
        (False, "past_allowance"),
    ]
    assert occupancy(any_client)["inside"] == 2
    shown = {p["ticket_id"]: p["problem"] for p in _problems(any_client)}
    assert shown == {
        payloads[1].split(".")[2]: "after_upload",
        payloads[3].split(".")[2]: "past_allowance",
    }
    # Admitted later online, as the visitor waited.
    online = scan(any_client, staff, payloads[3])
    assert online["admitted"] is True, online


def test_an_admin_ends_a_lost_scanners_lease(any_client: TestClient) -> None:
    payloads = _payloads(any_client, 2)
    _rules(any_client, {"occupancy": {"instantaneous_limit": 20}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-lost")
    assert scan(any_client, staff, payloads[0])["reason"] == "capacity_full"
    admin = admin_headers(any_client)
    forbidden = any_client.delete("/api/v1/admin/offline-leases/tablet-lost", headers=staff)
    assert forbidden.status_code == 403
    ended = any_client.delete("/api/v1/admin/offline-leases/tablet-lost", headers=admin)
    assert ended.status_code == 204
    assert scan(any_client, staff, payloads[0])["admitted"] is True
    (entry,) = _audit(any_client, "gate.lease_ended")
    assert entry["target"] == "tablet-lost"
    again = any_client.delete("/api/v1/admin/offline-leases/tablet-lost", headers=admin)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    # Its uploads of what it did after that are problems.
    late = offline_scan(payloads[1], at=OPENED + timedelta(seconds=30))
    set_clock(any_client, OPENED + timedelta(minutes=1))
    staff = staff_headers(any_client)
    (result,) = upload(any_client, staff, [late], device="tablet-lost")
    assert result["problem"] == "no_lease"


def test_end_device_lease_is_the_one_way_to_revoke_a_devices_share(
    any_client: TestClient,
) -> None:
    """What revoking a device's access calls: its lease ends, its places return."""
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-9")
    with db.transaction() as session:
        assert leases.end_device_lease(session.connection(), "tablet-9", OPENED, leases.REVOKED)
        assert not leases.end_device_lease(session.connection(), "tablet-9", OPENED, leases.REVOKED)
    listed = any_client.get("/api/v1/admin/offline-leases", headers=admin_headers(any_client))
    assert listed.json()["held"] == 0
    assert listed.json()["leases"][0]["end_reason"] == "revoked"


def test_closing_time_ends_the_days_leases(any_client: TestClient) -> None:
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-1")
    set_clock(any_client, "2026-03-10T17:00:00+08:00")
    answer = any_client.post(
        "/api/v1/admin/jobs/reset-occupancy/run", headers=admin_headers(any_client)
    )
    assert answer.status_code == 200, answer.text
    with db.transaction(write=False) as session:
        (row,) = session.exec(select(OfflineLease)).all()
    assert row.end_reason == leases.CLOSED


# --- teams in parts, offline ---------------------------------------------------------------


def test_a_team_in_parts_is_counted_right_offline(any_client: TestClient) -> None:
    team = team_ticket(30)
    _rules(any_client, {"gate": {"offline_allowance": 25}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert scan(any_client, staff, team["qr_payload"], headcount=12)["remaining"] == 18
    data = lease(any_client, staff, "tablet-1")
    assert data["remaining"] == {team["ticket_id"]: 18}
    assert team["ticket_id"] in data["used"]
    # The second bus comes to an offline gate: 18 more, then 2 that are not on the ticket.
    results = upload(
        any_client,
        staff,
        [offline_scan(team["qr_payload"], headcount=18)],
        device="tablet-1",
    )
    assert [(r["admitted"], r["people"]) for r in results] == [(True, 18)]
    assert occupancy(any_client)["inside"] == 30
    assert lease(any_client, staff, "tablet-1")["remaining"] == {}
    out = offline_scan(team["qr_payload"], direction="out", at=OPENED + timedelta(seconds=5))
    (left,) = upload(any_client, staff, [out], device="tablet-1")
    assert (left["admitted"], left["people"]) == (True, 30)
    assert occupancy(any_client)["inside"] == 0


@pytest.mark.parametrize("device", ["", " ", "x" * 65, "tab\nlet"])
def test_a_device_name_is_printable(client: TestClient, device: str) -> None:
    staff = staff_headers(client)
    response = client.get("/api/v1/gate/offline-data", params={"device": device}, headers=staff)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_the_consistency_check_recounts_what_leases_hold(any_client: TestClient) -> None:
    payloads = _payloads(any_client, 2)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-1")
    lease(any_client, staff, "tablet-2")
    upload(any_client, staff, [offline_scan(payloads[0])], device="tablet-1")
    with db.transaction(write=False) as session:
        assert check.check(session).drift == []
    with db.transaction() as session:
        session.connection().execute(text("UPDATE occupancy_counter SET leased = 3"))
    with db.transaction(write=False) as session:
        drift = [(d.counter, d.counted, d.expected) for d in check.check(session).drift]
    assert drift == [("leased", 3, 20)]
    with db.transaction() as session:
        assert check.repair(session, actor="admin").repaired
    # Repaired: tablet-2's 20 places are held again.
    assert scan(any_client, staff, payloads[1])["admitted"] is True
    with db.transaction(write=False) as session:
        assert check.check(session).drift == []

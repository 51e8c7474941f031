"""The offline scanner API on its own, on SQLite and PostgreSQL: what a scanner keeps
(``GET /gate/offline-data``) and the upload of what it did (``POST /gate/offline-scans``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from reservations import db
from reservations.gate.models import GateScan, OfflineScan
from reservations.tickets.models import Ticket
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.gate.factories import OPENING, book, scan, staff_headers, team_ticket

OPENED = datetime.fromisoformat(OPENING)


def offline_scan(
    payload: str,
    *,
    gate: str = "east-1",
    at: datetime | str = OPENED,
    scan_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One scan as a device queues it: admitted unless the fields say otherwise."""
    return {
        "id": scan_id or str(uuid.uuid4()),
        "payload": payload,
        "gate": gate,
        "direction": "in",
        "at": at.isoformat() if isinstance(at, datetime) else at,
        **fields,
    }


def upload(
    client: TestClient,
    headers: dict[str, str],
    scans: list[dict[str, Any]],
    device: str = "tablet-3",
) -> list[dict[str, Any]]:
    response = client.post(
        "/api/v1/gate/offline-scans", json={"device": device, "scans": scans}, headers=headers
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert [result["id"] for result in results] == [item["id"] for item in scans]
    return results


def offline_data(
    client: TestClient, headers: dict[str, str], since: str | None = None
) -> dict[str, Any]:
    params = {"since": since} if since else {}
    response = client.get("/api/v1/gate/offline-data", params=params, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def lease(client: TestClient, headers: dict[str, str], device: str = "tablet-3") -> dict[str, Any]:
    """The device fetches its offline data: its lease of places, from now."""
    response = client.get("/api/v1/gate/offline-data", params={"device": device}, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _rules(client: TestClient, patch: dict[str, Any]) -> None:
    response = client.patch("/api/v1/admin/rules", json=patch, headers=admin_headers(client))
    assert response.status_code == 200, response.text


def occupancy(client: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = client.get("/api/v1/occupancy").json()
    return result


def _rows() -> tuple[list[OfflineScan], list[GateScan]]:
    with db.transaction(write=False) as session:
        offline = list(session.exec(select(OfflineScan).order_by(col(OfflineScan.at))))
        scans = list(session.exec(select(GateScan).order_by(col(GateScan.id))))
        return offline, scans


def _ticket(ticket_id: str) -> Ticket:
    with db.transaction(write=False) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def _cancel(client: TestClient, booking: dict[str, Any]) -> None:
    response = client.post(
        f"/api/v1/bookings/{booking['reference']}/cancel",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert response.status_code == 200, response.text


def _audit(client: TestClient, action: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/admin/audit", params={"limit": 100}, headers=admin_headers(client)
    )
    assert response.status_code == 200
    return [entry for entry in response.json()["entries"] if entry["action"] == action]


# --- what a scanner keeps -----------------------------------------------------------------


def test_offline_data_holds_what_a_scanner_needs_for_today(any_client: TestClient) -> None:
    used, cancelled, unused = (book(any_client) for _ in range(3))
    _cancel(any_client, cancelled)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert scan(any_client, staff, used["tickets"][0]["qr_payload"])["admitted"] is True

    data = offline_data(any_client, staff)
    assert data["generated_at"] == "2026-03-10T09:00:00+08:00"
    assert data["date"] == TOMORROW.isoformat()
    keys = any_client.get("/api/v1/gate/keys", headers=staff).json()["keys"]
    assert data["keys"] == keys
    assert data["keys"][0]["alg"] == "Ed25519"
    assert data["revoked"] == [cancelled["tickets"][0]["ticket_id"]]
    assert data["used"] == [used["tickets"][0]["ticket_id"]]
    assert unused["tickets"][0]["ticket_id"] not in data["revoked"] + data["used"]
    assert (data["limit"], data["inside"]) == (600, 1)
    assert data["complete"] is True
    # Each slot's entry window, with the gate's margins (30 minutes early by default).
    assert data["entry_windows"][0] == {
        "slot_id": "0900",
        "opens_at": "2026-03-10T08:30:00+08:00",
        "closes_at": "2026-03-10T11:00:00+08:00",
    }
    assert [w["slot_id"] for w in data["entry_windows"]] == ["0900", "1100", "1300", "1500"]
    # The last slot's window ends at last entry (16:00), not at its end.
    assert data["entry_windows"][-1]["closes_at"] == "2026-03-10T16:00:00+08:00"
    # Without a device name, no lease; no team is partly in.
    assert (data["device"], data["allowance"], data["lease_until"]) == (None, 0, None)
    assert data["remaining"] == {}
    assert data["refresh_seconds"] == 60


def test_offline_data_lists_only_what_changed_since_a_cursor(any_client: TestClient) -> None:
    first, second, third = (book(any_client) for _ in range(3))
    fourth = book(any_client, slot_id="1100")
    set_clock(any_client, "2026-03-10T08:35:00+08:00")
    staff = staff_headers(any_client)
    lease(any_client, staff)  # the tablet that scans offline at 08:40
    set_clock(any_client, OPENING)
    scan(any_client, staff, first["tickets"][0]["qr_payload"])
    cursor = offline_data(any_client, staff)["generated_at"]

    # Changes just before a cursor are sent again (a transaction may commit after the
    # answer that gave the cursor): harmless, a scanner keeps sets.
    set_clock(any_client, OPENED + timedelta(minutes=10))
    resent = offline_data(any_client, staff, since=cursor)
    assert resent["used"] == [first["tickets"][0]["ticket_id"]] and resent["revoked"] == []
    set_clock(any_client, OPENED + timedelta(minutes=20))
    assert offline_data(any_client, staff, since=resent["generated_at"])["used"] == []

    scan(any_client, staff, second["tickets"][0]["qr_payload"])
    # Scanned offline at 08:40, uploaded now: found by the time it was uploaded.
    at = "2026-03-10T08:40:00+08:00"
    upload(any_client, staff, [offline_scan(third["tickets"][0]["qr_payload"], at=at)])
    _cancel(any_client, fourth)
    delta = offline_data(any_client, staff, since=resent["generated_at"])
    assert delta["complete"] is False
    assert sorted(delta["used"]) == sorted(
        [second["tickets"][0]["ticket_id"], third["tickets"][0]["ticket_id"]]
    )
    assert delta["revoked"] == [fourth["tickets"][0]["ticket_id"]]
    # A cursor from another day, or from the future, gets everything again.
    full = offline_data(any_client, staff, since="2026-03-09T18:00:00+08:00")
    assert full["complete"] is True and len(full["used"]) == 3
    ahead = offline_data(any_client, staff, since="2026-03-10T15:00:00+08:00")
    assert ahead["complete"] is True and len(ahead["used"]) == 3


# --- the upload ------------------------------------------------------------------------------


def test_an_offline_admission_is_recorded_once_at_its_real_time_and_gate(
    any_client: TestClient,
) -> None:
    booking = book(any_client, visitors=2)
    first, second = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff)
    set_clock(any_client, "2026-03-10T09:30:00+08:00")
    scans = [
        offline_scan(first["qr_payload"], gate="north-2", at="2026-03-10T09:05:10+08:00"),
        offline_scan(second["qr_payload"], gate="north-2", at="2026-03-10T01:06:00+00:00"),
    ]
    results = upload(any_client, staff, scans)
    assert [(r["recorded"], r["admitted"], r["reason"], r["conflict"]) for r in results] == [
        (True, True, None, False),
        (True, True, None, False),
    ]
    assert results[0]["at"] == "2026-03-10T09:05:10+08:00"
    assert results[1]["at"] == "2026-03-10T09:06:00+08:00"
    assert results[0]["people"] == 1 and results[0]["message"] == "准许入馆"

    ticket = _ticket(first["ticket_id"])
    assert ticket.use_state == "inside" and ticket.entered_gate == "north-2"
    assert ticket.entered_at == datetime.fromisoformat("2026-03-10T09:05:10+08:00")
    assert occupancy(any_client)["inside"] == 2

    # The network dropped before the answer arrived: the device sends the same upload again.
    again = upload(any_client, staff, scans)
    assert again == results
    assert occupancy(any_client) == {
        "inside": 2,
        "limit": 600,
        "entered_today": 2,
        "exited_today": 0,
    }
    offline_rows, gate_rows = _rows()
    assert len(offline_rows) == 2 and len(gate_rows) == 2
    assert {row.device for row in offline_rows} == {"tablet-3"}
    assert [(row.gate, row.verdict, row.people) for row in gate_rows] == [
        ("north-2", "admitted", 1),
        ("north-2", "admitted", 1),
    ]
    # Online, the ticket is now used.
    online = scan(any_client, staff, first["qr_payload"])
    assert online["reason"] == "already_used"
    assert online["ticket"]["entered_gate"] == "north-2"


def test_one_ticket_admitted_by_two_offline_devices_counts_once_and_is_reported(
    any_client: TestClient,
) -> None:
    ticket = book(any_client)["tickets"][0]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff, "tablet-east")
    lease(any_client, staff, "tablet-west")
    set_clock(any_client, "2026-03-10T09:20:00+08:00")
    at_east = offline_scan(ticket["qr_payload"], gate="east-1", at="2026-03-10T09:02:00+08:00")
    at_west = offline_scan(ticket["qr_payload"], gate="west-1", at="2026-03-10T09:03:00+08:00")
    (east,) = upload(any_client, staff, [at_east], device="tablet-east")
    (west,) = upload(any_client, staff, [at_west], device="tablet-west")
    assert (east["admitted"], east["conflict"]) == (True, False)
    assert (west["recorded"], west["admitted"], west["reason"], west["conflict"]) == (
        True,
        False,
        "already_used",
        True,
    )
    assert occupancy(any_client)["inside"] == 1
    assert occupancy(any_client)["entered_today"] == 1
    # Retried, the conflict answers the same and is reported once.
    assert upload(any_client, staff, [at_west], device="tablet-west") == [west]

    admin = admin_headers(any_client)
    problems = any_client.get("/api/v1/admin/offline-problems", headers=admin).json()
    assert problems["date"] == "2026-03-10"
    (problem,) = problems["problems"]
    assert problem["ticket_id"] == ticket["ticket_id"]
    assert (problem["gate"], problem["device"], problem["reason"]) == (
        "west-1",
        "tablet-west",
        "already_used",
    )
    assert problem["conflict"] is True and problem["people"] == 1
    assert (problem["first_gate"], problem["first_at"]) == ("east-1", "2026-03-10T09:02:00+08:00")
    (entry,) = _audit(any_client, "gate.offline_conflict")
    assert entry["target"] == ticket["ticket_id"]
    assert entry["after"]["first_gate"] == "east-1" and entry["after"]["gate"] == "west-1"
    # Staff may not read the report.
    assert any_client.get("/api/v1/admin/offline-problems", headers=staff).status_code == 403


def test_a_ticket_cancelled_before_an_offline_admission_is_a_conflict(
    any_client: TestClient,
) -> None:
    booking = book(any_client)
    _cancel(any_client, booking)
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    lease(any_client, staff)
    (result,) = upload(any_client, staff, [offline_scan(booking["tickets"][0]["qr_payload"])])
    assert (result["admitted"], result["reason"], result["conflict"]) == (False, "cancelled", True)
    assert occupancy(any_client)["inside"] == 0


def test_scans_the_device_refused_are_recorded_and_enter_nobody(any_client: TestClient) -> None:
    ticket = book(any_client)["tickets"][0]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    refused = offline_scan(ticket["qr_payload"], admitted=False, reason="capacity_full")
    forged = offline_scan("ZT1.NOTAKEY.123", admitted=False, reason="invalid")
    results = upload(any_client, staff, [refused, forged])
    assert [(r["recorded"], r["admitted"], r["reason"], r["conflict"]) for r in results] == [
        (True, False, "capacity_full", False),
        (True, False, "invalid", False),
    ]
    assert _ticket(ticket["ticket_id"]).use_state == "unused"
    assert occupancy(any_client)["inside"] == 0
    _, gate_rows = _rows()
    assert [row.verdict for row in gate_rows] == ["capacity_full", "invalid"]
    # The visitor waited and is admitted online later.
    assert scan(any_client, staff, ticket["qr_payload"])["admitted"] is True


def test_a_forged_code_a_device_admitted_is_invalid_and_reported(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    forged = ticket["qr_payload"][:-4] + ("AAAA" if ticket["qr_payload"][-4:] != "AAAA" else "BBBB")
    (result,) = upload(client, staff, [offline_scan(forged)])
    assert (result["admitted"], result["reason"], result["conflict"]) == (False, "invalid", True)
    assert occupancy(client)["inside"] == 0


def test_people_admitted_offline_past_the_limit_are_counted_and_reported(
    any_client: TestClient,
) -> None:
    tickets = [book(any_client)["tickets"][0] for _ in range(3)]
    _rules(any_client, {"occupancy": {"instantaneous_limit": 3}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert lease(any_client, staff)["allowance"] == 3
    # The museum lowers the limit while the tablet is offline: what its lease let in is
    # inside all the same, counted, and reported past the limit.
    _rules(any_client, {"occupancy": {"instantaneous_limit": 2}})
    results = upload(any_client, staff, [offline_scan(t["qr_payload"]) for t in tickets])
    assert [(r["admitted"], r["over_limit"], r["problem"]) for r in results] == [
        (True, False, None),
        (True, False, None),
        (True, True, None),
    ]
    # They are inside: occupancy says so, and the online gate admits nobody more.
    assert occupancy(any_client)["inside"] == 3
    (entry,) = _audit(any_client, "gate.offline_over_limit")
    assert entry["target"] == "east-1" and entry["after"]["inside"] == 3
    admin = admin_headers(any_client)
    problems = any_client.get("/api/v1/admin/offline-problems", headers=admin).json()["problems"]
    assert [(p["over_limit"], p["conflict"], p["problem"]) for p in problems] == [
        (True, False, None)
    ]


def test_a_team_admitted_offline_with_a_headcount(client: TestClient) -> None:
    team = team_ticket(30)
    _rules(client, {"gate": {"offline_allowance": 30}})
    set_clock(client, OPENING)
    staff = staff_headers(client)
    lease(client, staff)
    (result,) = upload(client, staff, [offline_scan(team["qr_payload"], headcount=25)])
    assert result["admitted"] is True and result["people"] == 25
    assert occupancy(client)["inside"] == 25
    out = offline_scan(team["qr_payload"], direction="out", at="2026-03-10T09:00:30+08:00")
    lease(client, staff)
    (left,) = upload(client, staff, [out])
    assert (left["admitted"], left["people"], left["message"]) == (True, 25, "已离馆")
    assert occupancy(client)["inside"] == 0


def test_the_entry_window_holds_offline_within_the_clock_tolerance(client: TestClient) -> None:
    early, late, slightly_early = (book(client)["tickets"][0] for _ in range(3))
    _rules(client, {"gate": {"offline_lease_minutes": 300}})
    set_clock(client, "2026-03-10T07:59:55+08:00")
    staff = staff_headers(client)
    lease(client, staff)
    set_clock(client, "2026-03-10T12:00:00+08:00")
    results = upload(
        client,
        staff,
        [
            offline_scan(early["qr_payload"], at="2026-03-10T08:00:00+08:00"),
            offline_scan(late["qr_payload"], at="2026-03-10T11:30:00+08:00"),
            # Opens at 08:30: a device clock a minute off is not held against the visitor.
            offline_scan(slightly_early["qr_payload"], at="2026-03-10T08:29:00+08:00"),
        ],
    )
    assert [(r["admitted"], r["reason"], r["conflict"]) for r in results] == [
        (False, "too_early", True),
        (False, "too_late", True),
        (True, None, False),
    ]


def test_a_scan_time_a_little_ahead_of_the_server_is_recorded_at_the_server_time(
    client: TestClient,
) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    lease(client, staff)
    (result,) = upload(
        client, staff, [offline_scan(ticket["qr_payload"], at=OPENED + timedelta(minutes=1))]
    )
    assert result["admitted"] is True and result["at"] == OPENING


def test_scans_uploaded_the_next_day_count_the_people_in_and_out_of_their_day(
    client: TestClient,
) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    lease(client, staff_headers(client))
    set_clock(client, "2026-03-11T08:00:00+08:00")
    staff = staff_headers(client)
    (result,) = upload(client, staff, [offline_scan(ticket["qr_payload"])])
    assert result["admitted"] is True
    assert _ticket(ticket["ticket_id"]).use_state == "left"
    assert occupancy(client)["inside"] == 0
    set_clock(client, OPENING)
    assert occupancy(client) == {"inside": 0, "limit": 600, "entered_today": 1, "exited_today": 1}


def test_an_id_sent_again_with_other_content_records_nothing(client: TestClient) -> None:
    first, second = (book(client)["tickets"][0] for _ in range(2))
    set_clock(client, OPENING)
    staff = staff_headers(client)
    lease(client, staff)
    scan_id = str(uuid.uuid4())
    upload(client, staff, [offline_scan(first["qr_payload"], scan_id=scan_id)])
    (reused,) = upload(client, staff, [offline_scan(second["qr_payload"], scan_id=scan_id)])
    assert (reused["recorded"], reused["admitted"]) == (False, True)
    assert _ticket(second["ticket_id"]).use_state == "unused"
    assert occupancy(client)["inside"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "short"}, "id"),
        ({"at": "2026-03-10T09:00:00"}, "at"),  # no offset: whose clock?
        ({"at": "yesterday"}, "at"),
        ({"gate": ""}, "gate"),
        ({"direction": "sideways"}, "direction"),
        ({"headcount": 0}, "headcount"),
        ({"admitted": False}, "scans"),  # a refusal without its reason
        ({"reason": "too_early"}, "scans"),  # a reason for an admission
        ({"reason": "bored", "admitted": False}, "reason"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_scans_are_refused_whole_with_a_validation_error(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    good = offline_scan(ticket["qr_payload"])
    bad = {**offline_scan(ticket["qr_payload"]), **change}
    response = client.post(
        "/api/v1/gate/offline-scans",
        json={"device": "tablet-3", "scans": [good, bad]},
        headers=staff,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(field in problem["field"] for problem in error["details"]["fields"]), error
    # Nothing of the upload was recorded, the good scan neither.
    assert _rows() == ([], [])
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"device": "tablet-3"},
        {"device": "tablet-3", "scans": []},
        {"device": "", "scans": [offline_scan("x")]},
        {"device": "tablet-3", "scans": [offline_scan("x") for _ in range(51)]},
        {"device": "tablet-3", "scans": "everything"},
    ],
)
def test_malformed_uploads_are_validation_errors(client: TestClient, body: dict[str, Any]) -> None:
    staff = staff_headers(client)
    response = client.post("/api/v1/gate/offline-scans", json=body, headers=staff)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_the_largest_upload_fits_the_request_body_limit(client: TestClient) -> None:
    set_clock(client, OPENING)
    staff = staff_headers(client)
    longest = [
        offline_scan(
            "Z" * 512, gate="门" * 64, scan_id=f"{n:064d}", admitted=False, reason="not_approved"
        )
        for n in range(50)
    ]
    results = upload(client, staff, longest, device="设" * 64)
    assert [r["reason"] for r in results] == ["invalid"] * 50


def test_offline_endpoints_need_staff(any_client: TestClient) -> None:
    ticket = book(any_client)["tickets"][0]
    body = {"device": "tablet-3", "scans": [offline_scan(ticket["qr_payload"])]}
    assert any_client.get("/api/v1/gate/offline-data").status_code == 401
    assert any_client.post("/api/v1/gate/offline-scans", json=body).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-token"}
    response = any_client.post("/api/v1/gate/offline-scans", json=body, headers=bad_token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert _rows() == ([], [])


# --- the online scan's answer ----------------------------------------------------------------


def test_too_early_says_from_when_and_every_answer_has_the_server_time(client: TestClient) -> None:
    ticket = book(client, slot_id="1100")["tickets"][0]
    set_clock(client, OPENING)
    staff = staff_headers(client)
    early = scan(client, staff, ticket["qr_payload"])
    assert early["reason"] == "too_early"
    assert early["at"] == OPENING
    assert early["entry_opens_at"] == "2026-03-10T10:30:00+08:00"
    assert early["entry_closes_at"] == "2026-03-10T13:00:00+08:00"
    assert "10:30" in early["message"]
    english = client.post(
        "/api/v1/gate/scan",
        json={"payload": ticket["qr_payload"], "gate": "east-1"},
        headers={**staff, "Accept-Language": "en"},
    ).json()
    assert english["message"] == "Too early: entry opens at 10:30"
    invalid = scan(client, staff, "nonsense")
    assert invalid["at"] == OPENING and invalid["entry_opens_at"] is None

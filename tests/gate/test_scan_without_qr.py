"""Entry without a QR code (the identity document, the printed ticket number), parties,
children with their adults and teams in parts: ``POST /api/v1/gate/scan`` on SQLite and
PostgreSQL."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reservations.gate import service
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.gate.factories import OPENING, book, book_people, scan, staff_headers, team_ticket
from tests.support import people

ADULT = date(1985, 3, 1)
CHILD = date(2016, 6, 1)  # 9 on the visit day
TEEN = date(2010, 6, 1)  # 15: not a child, not an adult


def _scan(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/gate/scan", json={"gate": "east-1", **body}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _document(number: str, id_type: str = "resident_id") -> dict[str, Any]:
    return {"document": {"id_type": id_type, "id_number": number}}


def _rules(client: TestClient, patch: dict[str, Any]) -> None:
    response = client.patch("/api/v1/admin/rules", json=patch, headers=admin_headers(client))
    assert response.status_code == 200, response.text


def _family(client: TestClient, *borns: date) -> tuple[dict[str, Any], list[str]]:
    numbers = [people.resident_id(born) for born in borns]
    names = ["王大明", "王小红", "王小刚", "王小丽", "王小军"]
    visitors = [people.visitor(name=names[i], id_number=number) for i, number in enumerate(numbers)]
    return book_people(client, visitors), numbers


# --- the identity document ------------------------------------------------------------------


def test_a_document_finds_todays_ticket_and_is_judged_as_its_qr(any_client: TestClient) -> None:
    booking, (number,) = _family(any_client, ADULT)
    ticket = booking["tickets"][0]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    # Every spelling of the number is the same person: spaces, a lower-case check character
    # typed, full-width digits from a Chinese input method.
    spelled = " ".join([number[:6], number[6:14], number[14:]]).lower()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number)
    result = _scan(any_client, staff, **_document(spelled))
    assert (result["admitted"], result["reason"]) == (True, None)
    assert result["ticket"]["ticket_id"] == ticket["ticket_id"]
    assert result["ticket"]["visitor"] == ticket["visitor"]
    assert result["admitted_tickets"] == [
        {"ticket_id": ticket["ticket_id"], "visitor": ticket["visitor"], "people": 1}
    ]
    assert number not in str(result) and number[6:14] not in str(result)
    # The same ticket by its document, its QR and its number: it admits once.
    again = _scan(any_client, staff, **_document(wide))
    assert again["reason"] == "already_used"
    assert _scan(any_client, staff, payload=ticket["qr_payload"])["reason"] == "already_used"
    assert _scan(any_client, staff, ticket_number=ticket["ticket_id"])["reason"] == "already_used"
    # And checks out by it.
    out = _scan(any_client, staff, direction="out", **_document(number))
    assert (out["admitted"], out["people"], out["occupancy"]["inside"]) == (True, 1, 0)


def test_no_ticket_today_is_no_booking(any_client: TestClient) -> None:
    booked_later = people.resident_id(ADULT)
    book_people(any_client, [people.visitor(id_number=booked_later)], day=TOMORROW.replace(day=11))
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    for number in (people.resident_id(ADULT), booked_later):
        result = _scan(any_client, staff, **_document(number))
        assert (result["admitted"], result["reason"], result["ticket"]) == (
            False,
            "no_booking",
            None,
        )
        assert result["admitted_tickets"] == [] and result["remaining"] is None
        assert result["message"] == "该证件今天没有预约"
    english = any_client.post(
        "/api/v1/gate/scan",
        json={"gate": "east-1", **_document(booked_later)},
        headers={**staff, "Accept-Language": "en"},
    ).json()
    assert english["message"] == "No booking today under this document"
    passport = _scan(any_client, staff, **_document("E12345678", "passport"))
    assert passport["reason"] == "no_booking"


def test_a_document_of_a_cancelled_booking_says_cancelled(any_client: TestClient) -> None:
    booking, (number,) = _family(any_client, ADULT)
    cancelled = any_client.post(
        f"/api/v1/bookings/{booking['reference']}/cancel",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert cancelled.status_code == 200
    set_clock(any_client, OPENING)
    result = _scan(any_client, staff_headers(any_client), **_document(number))
    assert result["reason"] == "cancelled" and result["ticket"]["ticket_id"]


def test_a_document_number_that_is_not_one_is_refused_without_repeating_it(
    client: TestClient,
) -> None:
    set_clock(client, OPENING)
    staff = staff_headers(client)
    right = people.resident_id(ADULT)
    wrong = right[:-1] + ("0" if right[-1] != "0" else "1")  # the check character is wrong
    response = client.post(
        "/api/v1/gate/scan", json={"gate": "e", **_document(wrong)}, headers=staff
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_id_number"
    assert error["details"]["field"] == "document.id_number"
    assert wrong not in response.text


def test_a_document_never_reaches_a_log_or_the_database_in_plain(
    client: TestClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _booking, (number,) = _family(client, ADULT)
    set_clock(client, OPENING)
    staff = staff_headers(client)
    caplog.set_level(logging.DEBUG)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with caplog.at_level(logging.DEBUG):
        assert _scan(client, staff, **_document(number))["admitted"] is True
        refused = client.post(
            "/api/v1/gate/scan", json={"gate": "e", **_document(wrong)}, headers=staff
        )
        assert refused.status_code == 422
        _scan(client, staff, **_document(people.resident_id(ADULT)))
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {getattr(record, '__dict__', {})!r}"
        for record in caplog.records
    )
    assert caplog.records  # the access log speaks
    assert number not in logged and wrong not in logged and number[:-1] not in logged
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*.sqlite3*"))
    assert number.encode() not in stored


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payload": "x", "ticket_number": "ABCDEFGH2345"},
        {"payload": "x", "document": {"id_type": "resident_id", "id_number": "1"}},
        {"ticket_number": "A", "document": {"id_type": "resident_id", "id_number": "1"}},
        {"payload": None},
        {"ticket_number": ""},
        {"document": {"id_type": "library_card", "id_number": "1"}},
        {"document": {"id_number": "1"}},
        {"payload": "x", "party": "yes"},
    ],
)
def test_exactly_one_way_to_the_ticket(client: TestClient, body: dict[str, Any]) -> None:
    staff = staff_headers(client)
    response = client.post("/api/v1/gate/scan", json={"gate": "east-1", **body}, headers=staff)
    assert response.status_code == 422, body
    assert response.json()["error"]["code"] == "validation_error"


def test_a_team_members_document_admits_that_member_and_the_leaders_the_rest(
    any_client: TestClient,
) -> None:
    leader, member = people.resident_id(ADULT), people.resident_id(date(2008, 1, 1))
    team = team_ticket(20, leader_id=leader, member_ids=(member,))
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    first = _scan(any_client, staff, **_document(member))
    assert (first["admitted"], first["people"], first["remaining"]) == (True, 1, 19)
    assert first["ticket"]["ticket_id"] == team["ticket_id"]
    rest = _scan(any_client, staff, **_document(leader))
    assert (rest["admitted"], rest["people"], rest["remaining"]) == (True, 19, 0)
    assert _scan(any_client, staff, **_document(member))["reason"] == "already_used"


# --- the ticket number ----------------------------------------------------------------------


def test_the_printed_ticket_number_admits_as_the_qr_would(any_client: TestClient) -> None:
    first, second = book(any_client, visitors=2)["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    number = first["ticket_id"]
    # Typed from a worn print: spaced, lower case, O for 0 and I or L for 1.
    typed = " ".join([number[:4], number[4:8], number[8:]]).lower()
    typed = typed.replace("0", "o").replace("1", "l")
    result = _scan(any_client, staff, ticket_number=typed)
    assert (result["admitted"], result["ticket"]["ticket_id"]) == (True, number)
    assert result["ticket"]["visitor"]["name"] == first["visitor"]["name"]
    assert _scan(any_client, staff, ticket_number=number)["reason"] == "already_used"
    unknown = _scan(any_client, staff, ticket_number="ZZZZZZZZZZZZ")
    assert (unknown["reason"], unknown["ticket"]) == ("invalid", None)
    assert _scan(any_client, staff, ticket_number="not a ticket!")["reason"] == "invalid"
    assert _scan(any_client, staff, payload=second["qr_payload"])["admitted"] is True


def test_a_ticket_number_is_looked_up_before_anybody_is_admitted(
    any_client: TestClient,
) -> None:
    booking = book(any_client, visitors=2)
    first, second = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)

    def look(number: str) -> dict[str, Any]:
        response = any_client.post(
            "/api/v1/gate/lookup", json={"ticket_number": number}, headers=staff
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    shown = look(first["ticket_id"].lower())
    assert shown["found"] is True and shown["reason"] is None
    assert shown["ticket"]["visitor"] == first["visitor"]
    assert shown["message"] == "可以入馆：请核对证件后放行"
    assert shown["party"] == [
        {
            "ticket_id": second["ticket_id"],
            "visitor": second["visitor"],
            "state": "unused",
            "valid": True,
        }
    ]
    # Nothing changed.
    assert any_client.get("/api/v1/occupancy").json()["inside"] == 0
    assert _scan(any_client, staff, ticket_number=first["ticket_id"])["admitted"] is True
    assert look(first["ticket_id"])["reason"] == "already_used"
    assert look("ZZZZZZZZZZZZ") == {
        "found": False,
        "ticket": None,
        "remaining": None,
        "reason": "invalid",
        "message": "无效票码：无法识别或非本馆签发",
        "entry_opens_at": None,
        "entry_closes_at": None,
        "party": [],
    }
    assert any_client.post("/api/v1/gate/lookup", json={"ticket_number": "X"}).status_code == 401


# --- parties -------------------------------------------------------------------------------------


def test_a_party_enters_together(any_client: TestClient) -> None:
    booking = book(any_client, visitors=4)
    tickets = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert _scan(any_client, staff, payload=tickets[0]["qr_payload"])["admitted"] is True
    together = _scan(any_client, staff, payload=tickets[2]["qr_payload"], party=True)
    assert (together["admitted"], together["people"]) == (True, 3)
    assert together["ticket"]["ticket_id"] == tickets[2]["ticket_id"]
    assert [item["ticket_id"] for item in together["admitted_tickets"]] == [
        tickets[2]["ticket_id"],
        *sorted([tickets[1]["ticket_id"], tickets[3]["ticket_id"]]),
    ]
    assert all("*" in item["visitor"]["name"] for item in together["admitted_tickets"])
    assert together["occupancy"]["inside"] == 4
    for ticket in tickets:
        assert _scan(any_client, staff, payload=ticket["qr_payload"])["reason"] == "already_used"


def test_a_party_is_all_or_none_under_the_live_limit(any_client: TestClient) -> None:
    tickets = book(any_client, visitors=4)["tickets"]
    _rules(any_client, {"occupancy": {"instantaneous_limit": 3}})
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    full = _scan(any_client, staff, payload=tickets[0]["qr_payload"], party=True)
    assert (full["admitted"], full["reason"], full["people"]) == (False, "capacity_full", 0)
    assert full["admitted_tickets"] == [] and full["occupancy"]["inside"] == 0
    # Nobody of it went in: one at a time, three of them get in.
    verdicts = [_scan(any_client, staff, payload=t["qr_payload"])["reason"] for t in tickets]
    assert verdicts == [None, None, None, "capacity_full"]


# --- children -----------------------------------------------------------------------------------


def test_a_child_enters_only_with_an_adult_of_the_booking(any_client: TestClient) -> None:
    booking, (adult, child) = _family(any_client, ADULT, CHILD)
    _adult_ticket, child_ticket = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    alone = _scan(any_client, staff, payload=child_ticket["qr_payload"])
    assert (alone["admitted"], alone["reason"]) == (False, "guardian_required")
    assert alone["message"] == "未满14周岁，须由同一预约的成年人陪同入馆"
    assert _scan(any_client, staff, **_document(child))["reason"] == "guardian_required"
    assert alone["occupancy"]["inside"] == 0
    # The adult goes in; then the child may.
    assert _scan(any_client, staff, **_document(adult))["admitted"] is True
    assert _scan(any_client, staff, payload=child_ticket["qr_payload"])["admitted"] is True


def test_a_child_enters_in_the_same_step_as_its_adult(any_client: TestClient) -> None:
    booking, _numbers = _family(any_client, ADULT, CHILD, CHILD)
    adult_ticket, child_ticket, _ = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    together = _scan(any_client, staff, payload=child_ticket["qr_payload"], party=True)
    assert (together["admitted"], together["people"]) == (True, 3)
    assert adult_ticket["ticket_id"] in [t["ticket_id"] for t in together["admitted_tickets"]]


def test_a_teenager_is_no_childs_adult_and_an_adult_who_left_is_not_inside(
    any_client: TestClient,
) -> None:
    booking, _numbers = _family(any_client, ADULT, TEEN, CHILD)
    adult_ticket, teen_ticket, child_ticket = booking["tickets"]
    set_clock(any_client, OPENING)
    staff = staff_headers(any_client)
    assert _scan(any_client, staff, payload=teen_ticket["qr_payload"])["admitted"] is True
    assert _scan(any_client, staff, payload=child_ticket["qr_payload"])["reason"] == (
        "guardian_required"
    )
    assert _scan(any_client, staff, payload=adult_ticket["qr_payload"])["admitted"] is True
    out = _scan(any_client, staff, payload=adult_ticket["qr_payload"], direction="out")
    assert out["admitted"] is True
    assert _scan(any_client, staff, payload=child_ticket["qr_payload"])["reason"] == (
        "guardian_required"
    )


def test_the_rule_for_children_can_be_switched_off(client: TestClient) -> None:
    booking, _numbers = _family(client, ADULT, CHILD)
    _rules(client, {"gate": {"minors_need_adult": False}})
    set_clock(client, OPENING)
    child = booking["tickets"][1]
    assert _scan(client, staff_headers(client), payload=child["qr_payload"])["admitted"] is True


# --- teams in parts ---------------------------------------------------------------------------


def test_a_team_arrives_in_parts(any_client: TestClient) -> None:
    set_clock(any_client, OPENING)
    team = team_ticket(30)
    staff = staff_headers(any_client)
    first = scan(any_client, staff, team["qr_payload"], headcount=12)
    assert (first["admitted"], first["people"], first["remaining"]) == (True, 12, 18)
    assert first["admitted_tickets"][0]["people"] == 12
    # More than are still to come is refused, and admits nobody.
    too_many = any_client.post(
        "/api/v1/gate/scan",
        json={"payload": team["qr_payload"], "gate": "east-1", "headcount": 19},
        headers=staff,
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "validation_error"
    # The second bus: everyone still outside by default.
    second = scan(any_client, staff, team["qr_payload"], gate="west-1")
    assert (second["admitted"], second["people"], second["remaining"]) == (True, 18, 0)
    assert second["ticket"]["entered_gate"] == "east-1"  # where the team first came in
    assert second["occupancy"]["inside"] == 30
    done = scan(any_client, staff, team["qr_payload"])
    assert (done["admitted"], done["reason"], done["remaining"]) == (False, "already_used", 0)


def test_a_teams_parts_leave_and_are_counted_out_right(any_client: TestClient) -> None:
    set_clock(any_client, OPENING)
    team = team_ticket(30)
    staff = staff_headers(any_client)
    scan(any_client, staff, team["qr_payload"], headcount=10)
    left = scan(any_client, staff, team["qr_payload"], direction="out")
    assert (left["people"], left["occupancy"]["inside"]) == (10, 0)
    assert left["admitted_tickets"][0]["people"] == 10
    scan(any_client, staff, team["qr_payload"], headcount=15)
    scan(any_client, staff, team["qr_payload"], headcount=5)
    left = scan(any_client, staff, team["qr_payload"], direction="out")
    assert (left["people"], left["occupancy"]) == (
        20,
        {"inside": 0, "limit": 600, "entered_today": 30, "exited_today": 30},
    )
    assert scan(any_client, staff, team["qr_payload"], direction="out")["reason"] == "not_inside"


def test_every_reason_has_its_words() -> None:
    from reservations.gate.messages import verdict_message

    for reason in service.ENTRY_REASONS:
        for language in ("zh", "en"):
            assert verdict_message(reason, language) != reason

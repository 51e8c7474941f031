"""The optional member list: names and documents, protected like every visitor's."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import select

from reservations import db
from reservations.booking.models import Booking, Visitor
from tests.conftest import TOMORROW, admin_headers
from tests.support import people
from tests.teams import factories
from tests.teams.helpers import error_code, patch_rules, request_visit, team_day


def test_members_are_stored_encrypted_and_masked(any_client: TestClient) -> None:
    members = factories.members(11)
    body = factories.team_request(TOMORROW, size=12, members=members)
    response = request_visit(any_client, body)
    assert response.status_code == 201, response.text
    for member in members:
        assert member["id_number"] not in response.text
    with db.transaction(write=False) as session:
        booking = session.exec(
            select(Booking).where(Booking.reference == response.json()["reference"])
        ).one()
        stored = session.exec(
            select(Visitor).where(Visitor.booking_id == booking.id).order_by(Visitor.position)
        ).all()
    assert [v.role for v in stored] == ["leader"] + ["member"] * 11
    assert all(v.claim_date == TOMORROW for v in stored)
    assert all(v.is_minor for v in stored[1:])  # born 2012: 13 on the visit day
    for visitor, member in zip(stored[1:], members, strict=True):
        name = member["name"]
        assert visitor.name_masked == name[0] + "*" * (len(name) - 2) + name[-1]
        assert member["id_number"] not in (visitor.id_number_enc or "")
        assert member["name"] not in (visitor.name_enc or "")
        assert visitor.identity_hash and member["id_number"] not in visitor.identity_hash


def test_member_list_must_name_everyone_but_the_leader(client: TestClient) -> None:
    short = request_visit(
        client, factories.team_request(TOMORROW, size=12, members=factories.members(10))
    )
    assert short.status_code == 422 and error_code(short) == "validation_error"
    assert short.json()["error"]["details"]["fields"][0]["field"] == "members"
    assert team_day(client, TOMORROW)["team"]["booked"] == 0


def test_rules_can_require_the_member_list(client: TestClient) -> None:
    patch_rules(client, admin_headers(client), {"team": {"members_required": True}})
    without = request_visit(client, factories.team_request(TOMORROW, size=12))
    assert without.status_code == 422 and error_code(without) == "validation_error"
    assert without.json()["error"]["details"]["fields"][0]["field"] == "members"
    with_list = factories.team_request(TOMORROW, size=12, members=factories.members(11))
    assert request_visit(client, with_list).status_code == 201


def test_invalid_member_document_names_the_member(client: TestClient) -> None:
    members = factories.members(11)
    members[4] = dict(members[4], id_number="110105194912310021")
    response = request_visit(client, factories.team_request(TOMORROW, size=12, members=members))
    assert response.status_code == 422 and error_code(response) == "invalid_id_number"
    assert response.json()["error"]["details"]["field"] == "members.4"
    assert "110105194912310021" not in response.text


def test_children_need_their_guardians_consent(client: TestClient) -> None:
    children = factories.members(11, born=date(2016, 5, 1))
    refused = factories.team_request(TOMORROW, size=12, members=children, guardian_consent=False)
    response = request_visit(client, refused)
    assert response.status_code == 422 and error_code(response) == "consent_required"
    assert response.json()["error"]["details"] == {"consent": "guardian"}
    adults = factories.members(11, born=date(1995, 5, 1))
    fine = factories.team_request(TOMORROW, size=12, members=adults, guardian_consent=False)
    assert request_visit(client, fine).status_code == 201


def test_one_person_once_per_day_across_teams_and_individuals(client: TestClient) -> None:
    members = factories.members(11)
    leader = factories.leader()
    twice = [*members[:10], dict(leader, name="李四")]
    twice[-1].pop("phone")
    inside = request_visit(
        client, factories.team_request(TOMORROW, size=12, members=twice, leader=leader)
    )
    assert inside.status_code == 409 and error_code(inside) == "duplicate_visitor"

    booked_alone = people.visitor("张三", born=date(2012, 9, 1))
    assert (
        client.post(
            "/api/v1/bookings",
            json=people.booking(TOMORROW, visitors=[people.visitor(), booked_alone]),
        ).status_code
        == 201
    )
    clash = [*members[:10], booked_alone]
    response = request_visit(client, factories.team_request(TOMORROW, size=12, members=clash))
    assert response.status_code == 409 and error_code(response) == "duplicate_visitor"
    assert team_day(client, TOMORROW)["team"]["booked"] == 0

"""Small factories for gate tests: staff accounts, booked tickets, scans."""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from reservations import db
from reservations.accounts import service as accounts
from reservations.auth import staff_session
from reservations.booking import identities
from reservations.booking.models import TEAM, Booking
from reservations.booking.schemas import VisitorIn
from reservations.clock import now
from reservations.tickets import service as tickets
from tests.conftest import TOMORROW, admin_headers
from tests.support import people

Client = TestClient | httpx.Client

STAFF_PASSWORD = "gate-staff-password"
# Tuesday 2026-03-10 at 09:00: the first slot of TOMORROW has opened.
OPENING = "2026-03-10T09:00:00+08:00"

_names = itertools.count(1)
_sequences = itertools.count(500)


def staff_headers(client: Client, role: str = "staff") -> dict[str, str]:
    """A new account of ``role``, signed in: its bearer header."""
    return staff_account(client, role)[1]


def staff_account(client: Client, role: str = "staff") -> tuple[str, dict[str, str]]:
    """A new account of ``role``, signed in: its username and bearer header.

    In-process services get the account straight from the accounts service (one Argon2
    hash instead of three: the password hash is deliberately slow); a live server through
    the admin API and the token endpoint.
    """
    username = f"{role}{next(_names)}"
    if isinstance(client, TestClient):
        with db.transaction() as session:
            user = accounts.create_user(session, username, STAFF_PASSWORD, role)
            token, _record = accounts.issue_token(session, user)
        return username, {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/admin/users",
        json={"username": username, "password": STAFF_PASSWORD, "role": role},
        headers=admin_headers(client),
    )
    assert created.status_code == 201, created.text
    response = client.post(
        "/api/v1/auth/token", data={"username": username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return username, {"Authorization": f"Bearer {response.json()['access_token']}"}


def page_session(client: TestClient, role: str = "staff") -> str:
    """A staff page session of a new ``role`` account on ``client``; the scanner page's CSRF
    token."""
    with db.transaction() as session:
        user = accounts.create_user(session, f"{role}{next(_names)}", STAFF_PASSWORD, role)
        token, _record = accounts.issue_token(session, user, kind="session")
    client.cookies.set(staff_session.COOKIE, token)
    page = client.get("/gate")
    assert page.status_code == 200
    match = re.search(r'data-csrf="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def book(
    client: Client, visitors: int = 1, slot_id: str = "0900", day: date = TOMORROW
) -> dict[str, Any]:
    """An individual booking of ``visitors`` people (made while the clock is on Monday)."""
    body = people.booking(
        day,
        slot_id=slot_id,
        visitors=[
            people.visitor(name=f"王小{'一二三四五'[i % 5]}", sequence=next(_sequences) % 1000)
            for i in range(visitors)
        ],
    )
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


def book_people(
    client: Client, visitors: list[dict[str, Any]], slot_id: str = "0900", day: date = TOMORROW
) -> dict[str, Any]:
    """An individual booking of these people (``people.visitor`` bodies), with every consent
    a child's booking needs."""
    body = people.booking(
        day,
        slot_id=slot_id,
        visitors=visitors,
        sensitive_consent=True,
        guardian_consent=True,
    )
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


def scan(
    client: Client,
    headers: dict[str, str],
    payload: str,
    gate: str = "east-1",
    **fields: Any,
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/gate/scan", json={"payload": payload, "gate": gate, **fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def team_ticket(
    size: int,
    status: str = "confirmed",
    day: date = TOMORROW,
    slot_id: str = "0900",
    leader_id: str | None = None,
    member_ids: tuple[str, ...] = (),
) -> dict[str, str]:
    """A team booking with its leader (and listed members) and one ticket for the party,
    written straight to the database of the in-process service (the team channel's own API
    is tested elsewhere)."""
    with db.transaction() as session:
        created = now()
        booking = Booking(
            reference=f"T{next(_sequences):07d}",
            channel=TEAM,
            day=day,
            slot_id=slot_id,
            slot_start="09:00" if slot_id == "0900" else "11:00",
            slot_end="11:00" if slot_id == "0900" else "13:00",
            status=status,
            party_size=size,
            manage_token_hash="0" * 64,
            organization="郑州市第一中学",
            created_at=created,
            updated_at=created,
        )
        session.add(booking)
        session.flush()
        assert booking.id is not None
        leader = identities.person(
            VisitorIn(
                name="李老师", id_type="resident_id", id_number=leader_id or people.resident_id()
            ),
            created.date(),
        ).as_visitor(booking.id, 0, claim_date=day, role="leader")
        session.add(leader)
        for position, number in enumerate(member_ids, start=1):
            member = identities.person(
                VisitorIn(name="赵同学", id_type="resident_id", id_number=number), created.date()
            ).as_visitor(booking.id, position, claim_date=day, role="member")
            session.add(member)
        session.flush()
        (ticket,) = tickets.issue(session, booking, [None])
        return {"ticket_id": ticket.id, "qr_payload": ticket.qr_payload}

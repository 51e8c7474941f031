"""Places: the rush after the last place costs no write, and every return of places goes
through the one hook (what a waiting list subscribes to)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from reservations import db
from reservations.booking import capacity
from tests.conftest import TOMORROW, Service, admin_headers, set_clock, start_in_process
from tests.support import people
from tests.teams import factories
from tests.teams.helpers import reject, request_visit


def _visitor(sequence: int) -> list[dict[str, str]]:
    return [people.visitor(born=date(1985, 1, 1), sequence=sequence)]


class Writes:
    """Statements that change something, as the database receives them."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        first = statement.lstrip().split(None, 1)[0].upper()
        if first in ("INSERT", "UPDATE", "DELETE") or statement.startswith("BEGIN IMMEDIATE"):
            self.statements.append(statement)


@pytest.fixture
def one_place(service: Service, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    service.rules_file(tmp_path, individual={"daily_quota": 1})
    with start_in_process(service, monkeypatch) as client:
        yield client


def test_once_a_day_is_full_refusals_write_nothing(one_place: TestClient) -> None:
    first = one_place.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=_visitor(1)))
    assert first.status_code == 201, first.text
    # The first refusal learns from the database that the day is full ...
    refused = one_place.post(
        "/api/v1/bookings", json=people.booking(TOMORROW, visitors=_visitor(2))
    )
    assert refused.json()["error"]["code"] == "sold_out"
    writes = Writes()
    event.listen(db.get_engine(), "before_cursor_execute", writes)
    try:
        for sequence in range(3, 13):
            answer = one_place.post(
                "/api/v1/bookings", json=people.booking(TOMORROW, visitors=_visitor(sequence))
            )
            assert answer.status_code == 409
            assert answer.json()["error"] == {
                "code": "sold_out",
                "message": answer.json()["error"]["message"],
                "details": {"scope": "day"},
            }
    finally:
        event.remove(db.get_engine(), "before_cursor_execute", writes)
    # ... the ten after it are refused without a write transaction.
    assert writes.statements == []


def test_a_cancelled_place_is_offered_again_at_once(one_place: TestClient) -> None:
    first = one_place.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=_visitor(1)))
    assert first.status_code == 201
    body = people.booking(TOMORROW, visitors=_visitor(2))
    assert one_place.post("/api/v1/bookings", json=body).json()["error"]["code"] == "sold_out"
    cancelled = one_place.post(
        f"/api/v1/bookings/{first.json()['reference']}/cancel",
        headers={"X-Booking-Token": first.json()["manage_token"]},
    )
    assert cancelled.status_code == 200
    assert one_place.post("/api/v1/bookings", json=body).status_code == 201


@pytest.fixture
def returned() -> Iterator[list[capacity.ReturnedPlaces]]:
    seen: list[capacity.ReturnedPlaces] = []

    def listener(_connection, places: capacity.ReturnedPlaces) -> None:  # type: ignore[no-untyped-def]
        seen.append(places)

    capacity.on_places_returned(listener)
    yield seen
    capacity._listeners.remove(listener)


def test_every_return_of_places_goes_through_the_hook(
    any_client: TestClient, returned: list[capacity.ReturnedPlaces]
) -> None:
    headers = admin_headers(any_client)
    booked = any_client.post(
        "/api/v1/bookings", json=people.booking(TOMORROW, slot_id="1100", visitors=_visitor(1))
    ).json()
    any_client.post(
        f"/api/v1/bookings/{booked['reference']}/cancel",
        headers={"X-Booking-Token": booked["manage_token"]},
    )
    rejected = request_visit(any_client, factories.team_request(TOMORROW, size=20)).json()
    assert reject(any_client, rejected["reference"], headers).status_code == 200
    left = request_visit(any_client, factories.team_request(TOMORROW, size=12)).json()
    assert left["status"] == "pending"
    set_clock(any_client, "2026-03-10T00:00:00+08:00")
    expired = any_client.post(
        "/api/v1/admin/jobs/expire-team-requests/run", headers=admin_headers(any_client)
    )
    assert expired.status_code == 200, expired.text
    assert [(p.day, p.channel, p.slot_id, p.places) for p in returned] == [
        (TOMORROW, "individual", "1100", 1),
        (TOMORROW, "team", "0900", 20),
        (TOMORROW, "team", "0900", 12),
    ]

"""What a leader may pick is the teams service's answer, whatever page or client asks."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from reservations import db
from reservations.rules import service as rules_service
from reservations.teams import service
from tests.conftest import TOMORROW, admin_headers
from tests.teams.helpers import patch_rules


def test_offered_days_follow_the_team_window(client: TestClient) -> None:
    with db.transaction(write=False) as session:
        offered = service.offered_days(session)
        assert service.opens_later(rules_service.current(session)) is None
    days = [choice.day for choice in offered]
    assert days[0] == TOMORROW  # no same-day requests
    assert days[-1] == TOMORROW + timedelta(days=12)  # released 14 days ahead
    assert date(2026, 3, 16) not in days  # Mondays are closed
    assert offered[0].remaining == 400
    assert all(slot.available for slot in offered[0].slots)


def test_a_slot_the_smallest_team_cannot_fill_is_not_available(client: TestClient) -> None:
    headers = admin_headers(client)
    team = {"min_size": 120, "max_size": 150, "opens_on": "2026-03-20"}
    patch_rules(client, headers, {"team": team})
    with db.transaction(write=False) as session:
        assert service.offered_days(session) == []  # the channel has not opened yet
        assert service.opens_later(rules_service.current(session)) == date(2026, 3, 20)
    patch_rules(client, headers, {"team": {"opens_on": "2020-10-08"}})
    with db.transaction(write=False) as session:
        slots = service.offered_days(session)[0].slots
    assert slots and not any(slot.available for slot in slots)
    assert all(slot.remaining == 100 for slot in slots)  # every slot's team places

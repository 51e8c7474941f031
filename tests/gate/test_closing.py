"""reset-occupancy: at closing everybody is out, whatever the counters say; run by hand
during opening hours it never empties the day that is still open."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, set_clock
from tests.gate.factories import staff_headers
from tests.jobs.helpers import book, run_at, run_job
from tests.support import people

RESET = "reset-occupancy"


def test_closing_time_empties_the_building_once(any_client: TestClient) -> None:
    created = book(any_client, TOMORROW, people.visitor("吴一"))
    set_clock(any_client, "2026-03-10T09:00:00+08:00")
    scan = any_client.post(
        "/api/v1/gate/scan",
        json={"payload": created["tickets"][0]["qr_payload"], "gate": "east-1", "direction": "in"},
        headers=staff_headers(any_client),
    )
    assert scan.json()["admitted"] is True, scan.text

    # Run by hand at two in the afternoon: only yesterday is closed.
    midday = run_at(any_client, "2026-03-10T14:00:00+08:00", RESET)
    assert midday["day"] == "2026-03-09" and midday["people_counted_out"] == 0
    assert any_client.get("/api/v1/occupancy").json()["inside"] == 1

    closing = run_at(any_client, "2026-03-10T17:00:00+08:00", RESET)
    assert closing == {
        "day": "2026-03-10",
        "days_closed": 1,
        "people_counted_out": 1,
        "tickets_checked_out": 1,
    }
    occupancy = any_client.get("/api/v1/occupancy").json()
    assert occupancy["inside"] == 0 and occupancy["exited_today"] == 1
    assert run_job(any_client, RESET)["people_counted_out"] == 0


def test_days_missed_while_the_service_was_down_are_closed_too(client: TestClient) -> None:
    created = book(client, TOMORROW)
    set_clock(client, "2026-03-10T09:00:00+08:00")
    client.post(
        "/api/v1/gate/scan",
        json={"payload": created["tickets"][0]["qr_payload"], "gate": "east-1", "direction": "in"},
        headers=staff_headers(client),
    )
    later = run_at(client, "2026-03-12T17:10:00+08:00", RESET)
    assert later["day"] == "2026-03-12" and later["days_closed"] == 2
    assert later["people_counted_out"] == 1

"""Per-date overrides: close a day, open a normally closed day, change a day's quotas."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers
from tests.rules.test_rules_api import audit_entries, day_of, error_of
from tests.support import people

MONDAY = date(2026, 3, 16)


def test_closing_a_day_stops_booking_and_is_audited(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    response = any_client.put(
        f"/api/v1/admin/days/{TOMORROW}",
        json={"closed": True, "note": "设备维护"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "date": "2026-03-10",
        "closed": True,
        "individual_quota": None,
        "team_quota": None,
        "walk_in_quota": None,
        "note": "设备维护",
        "updated_by": "admin",
    }
    day = day_of(any_client, TOMORROW)
    assert (day["bookable"], day["reason"], day["note"]) == (False, "closed", "设备维护")
    assert day["team"]["reason"] == "closed"
    refused = any_client.post("/api/v1/bookings", json=people.booking(TOMORROW))
    assert error_of(refused)["code"] == "booking_window"
    [entry] = audit_entries(any_client, headers, action="day.override")
    assert (entry["target"], entry["before"], entry["after"]["closed"]) == (
        "2026-03-10",
        None,
        True,
    )


def test_opening_a_normally_closed_monday(client: TestClient) -> None:
    headers = admin_headers(client)
    assert day_of(client, MONDAY)["reason"] == "closed"
    response = client.put(f"/api/v1/admin/days/{MONDAY}", json={"closed": False}, headers=headers)
    assert response.status_code == 200
    assert day_of(client, MONDAY)["bookable"] is True
    booked = client.post("/api/v1/bookings", json=people.booking(MONDAY))
    assert booked.status_code == 201, booked.text


def test_a_day_quota_below_what_is_booked_cancels_nobody(client: TestClient) -> None:
    headers = admin_headers(client)
    visitors = [people.visitor(born=date(1990, 1, 1 + i)) for i in range(3)]
    booked = client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=visitors))
    assert booked.status_code == 201
    response = client.put(
        f"/api/v1/admin/days/{TOMORROW}",
        json={"individual_quota": 2, "team_quota": 0},
        headers=headers,
    )
    assert response.status_code == 200
    day = day_of(client, TOMORROW)
    assert day["individual"] == {"capacity": 2, "booked": 3, "remaining": 0}
    assert day["reason"] == "sold_out"
    assert (day["team"]["capacity"], day["team"]["reason"]) == (0, "sold_out")
    reference, token = booked.json()["reference"], booked.json()["manage_token"]
    kept = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert kept.json()["status"] == "confirmed"


def test_put_sets_the_whole_override_and_delete_restores_the_rules(client: TestClient) -> None:
    headers = admin_headers(client)
    path = f"/api/v1/admin/days/{TOMORROW}"
    client.put(path, json={"closed": True, "individual_quota": 10}, headers=headers)
    replaced = client.put(path, json={"individual_quota": 800}, headers=headers)
    assert (replaced.json()["closed"], replaced.json()["individual_quota"]) == (None, 800)
    assert client.get(path, headers=headers).json()["individual_quota"] == 800
    assert day_of(client, TOMORROW)["individual"]["capacity"] == 800
    listed = client.get(
        "/api/v1/admin/days", params={"start": "2026-03-01", "end": "2026-04-30"}, headers=headers
    )
    assert [day["date"] for day in listed.json()["days"]] == ["2026-03-10"]

    assert client.delete(path, headers=headers).status_code == 204
    assert error_of(client.get(path, headers=headers))["code"] == "not_found"
    assert error_of(client.delete(path, headers=headers))["code"] == "not_found"
    assert day_of(client, TOMORROW)["individual"]["capacity"] == 1000
    actions = [entry["action"] for entry in audit_entries(client, headers)]
    assert actions == ["day.override.delete", "day.override", "day.override"]


def test_invalid_overrides_are_refused(client: TestClient) -> None:
    headers = admin_headers(client)
    path = f"/api/v1/admin/days/{TOMORROW}"
    for body, field in (
        ({"individual_quota": -1}, "individual_quota"),
        ({"team_quota": "10"}, "team_quota"),
        ({"closed": "yes"}, "closed"),
        ({"note": "x" * 501}, "note"),
        ({"open": True}, "open"),
    ):
        response = client.put(path, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert field in [p["field"] for p in error_of(response)["details"]["fields"]], body
    past = client.put("/api/v1/admin/days/2026-03-08", json={"closed": True}, headers=headers)
    assert error_of(past)["code"] == "validation_error"
    assert error_of(past)["details"]["fields"][0]["field"] == "date"
    not_a_date = client.put("/api/v1/admin/days/2026-02-30", json={}, headers=headers)
    assert error_of(not_a_date)["code"] == "validation_error"
    far = client.get(
        "/api/v1/admin/days", params={"start": "2026-01-01", "end": "2027-06-01"}, headers=headers
    )
    assert error_of(far)["code"] == "validation_error"
    assert audit_entries(client, headers) == []


def test_an_override_that_sets_nothing_leaves_none_behind(client: TestClient) -> None:
    # The console's "follow the rules" and the API's empty PUT are one rule.
    headers = admin_headers(client)
    path = f"/api/v1/admin/days/{TOMORROW}"
    client.put(path, json={"individual_quota": 800}, headers=headers)
    emptied = client.put(path, json={"note": "  "}, headers=headers)
    assert emptied.status_code == 200, emptied.text
    assert emptied.json() == {
        "date": "2026-03-10",
        "closed": None,
        "individual_quota": None,
        "team_quota": None,
        "walk_in_quota": None,
        "note": None,
        "updated_by": "admin",
    }
    assert error_of(client.get(path, headers=headers))["code"] == "not_found"
    assert day_of(client, TOMORROW)["individual"]["capacity"] == 1000
    assert client.put(path, json={}, headers=headers).status_code == 200
    actions = [entry["action"] for entry in audit_entries(client, headers)]
    assert actions == ["day.override.delete", "day.override"]
    past = client.put("/api/v1/admin/days/2026-03-08", json={}, headers=headers)
    assert error_of(past)["details"]["fields"][0]["field"] == "date"

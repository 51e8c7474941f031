"""GET/PATCH /api/v1/admin/rules: every rule editable, invalid values change nothing,
changes apply at once and are audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers
from tests.support import people

CONTRACT_KEYS = {
    "hours": {"opens", "closes", "closed_weekdays"},
    "individual": {"opens_on", "daily_quota", "min_days_ahead", "max_days_ahead",
                   "max_visitors_per_booking"},
    "team": {"opens_on", "daily_quota", "min_days_ahead", "max_days_ahead", "min_size",
             "max_size", "requires_approval"},
    "occupancy": {"instantaneous_limit", "building_limit"},
    "no_show": {"strikes", "window_days", "ban_days"},
    "privacy": {"retention_days"},
}  # fmt: skip


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def audit_entries(
    client: TestClient, headers: dict[str, str], **query: Any
) -> list[dict[str, Any]]:
    response = client.get("/api/v1/admin/audit", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["entries"]  # type: ignore[no-any-return]


def day_of(client: TestClient, day: date) -> dict[str, Any]:
    response = client.get(f"/api/v1/availability?start={day}&end={day}")
    assert response.status_code == 200, response.text
    return response.json()["days"][0]  # type: ignore[no-any-return]


def test_rules_have_the_contract_shape(client: TestClient) -> None:
    response = client.get("/api/v1/admin/rules", headers=admin_headers(client))
    assert response.status_code == 200
    rules = response.json()
    for section, keys in CONTRACT_KEYS.items():
        assert keys <= set(rules[section]), section
    assert rules["occupancy"] == {
        "instantaneous_limit": 600,
        "building_limit": 1300,
        "typical_visit_minutes": 120,
    }
    assert rules["slots"][0] == {
        "id": "0900",
        "start": "09:00",
        "end": "11:00",
        "individual_capacity": 250,
        "team_capacity": 100,
    }
    assert response.headers["etag"] == '"1"'


def test_rules_need_an_admin(client: TestClient) -> None:
    assert error_of(client.get("/api/v1/admin/rules"))["code"] == "unauthorized"
    headers = admin_headers(client)
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "guard", "password": "a-long-password", "role": "staff"},
        headers=headers,
    )
    assert created.status_code == 201
    token = client.post(
        "/api/v1/auth/token", data={"username": "guard", "password": "a-long-password"}
    ).json()["access_token"]
    staff = {"Authorization": f"Bearer {token}"}
    refused = client.patch("/api/v1/admin/rules", json={"privacy": {"retention_days": 5}},
                           headers=staff)  # fmt: skip
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"


def test_lowering_the_instantaneous_limit_applies_at_once_and_is_audited(
    any_client: TestClient,
) -> None:
    headers = admin_headers(any_client)
    response = any_client.patch(
        "/api/v1/admin/rules", json={"occupancy": {"instantaneous_limit": 450}}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["occupancy"]["instantaneous_limit"] == 450
    assert response.json()["occupancy"]["building_limit"] == 1300  # merged, not replaced
    assert response.headers["etag"] == '"2"'
    assert any_client.get("/api/v1/occupancy").json()["limit"] == 450  # the gate's limit
    [entry] = audit_entries(any_client, headers, action="rules.update")
    assert entry["actor"] == "admin" and entry["target"] == "rules"
    assert entry["before"]["occupancy"]["instantaneous_limit"] == 600
    assert entry["after"]["occupancy"]["instantaneous_limit"] == 450
    assert entry["changes"] == [
        {"path": "occupancy.instantaneous_limit", "before": 600, "after": 450}
    ]
    assert entry["at"].endswith("+08:00")


def test_quota_and_slot_changes_apply_to_availability_and_booking(client: TestClient) -> None:
    headers = admin_headers(client)
    slots = client.get("/api/v1/admin/rules", headers=headers).json()["slots"]
    slots[0]["individual_capacity"] = 1
    response = client.patch(
        "/api/v1/admin/rules",
        json={"individual": {"daily_quota": 2}, "slots": slots},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    day = day_of(client, TOMORROW)
    assert day["individual"] == {"capacity": 2, "booked": 0, "remaining": 2}
    assert day["slots"][0]["individual_capacity"] == 1
    first = client.post("/api/v1/bookings", json=people.booking(TOMORROW, slot_id="0900"))
    assert first.status_code == 201, first.text
    second = client.post(
        "/api/v1/bookings",
        json=people.booking(TOMORROW, slot_id="0900", visitors=[people.visitor("李四")]),
    )
    assert error_of(second)["code"] == "sold_out"


def test_a_weekday_closed_by_the_rules_cannot_be_booked(client: TestClient) -> None:
    headers = admin_headers(client)
    response = client.patch(
        "/api/v1/admin/rules",
        json={"hours": {"closed_weekdays": ["monday", "tuesday"]}},
        headers=headers,
    )
    assert response.status_code == 200
    assert day_of(client, TOMORROW)["reason"] == "closed"  # a Tuesday
    refused = client.post("/api/v1/bookings", json=people.booking(TOMORROW))
    assert error_of(refused)["code"] == "booking_window"
    assert error_of(refused)["details"] == {"reason": "closed"}


def test_an_unchanged_patch_records_nothing(client: TestClient) -> None:
    headers = admin_headers(client)
    response = client.patch(
        "/api/v1/admin/rules", json={"occupancy": {"instantaneous_limit": 600}}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert audit_entries(client, headers, action="rules.update") == []


def _slots(**changes: Any) -> list[dict[str, Any]]:
    slots = [
        {"id": "0900", "start": "09:00", "end": "11:00", "individual_capacity": 250},
        {"id": "1100", "start": "11:00", "end": "13:00", "individual_capacity": 250},
    ]
    slots[1].update(changes)
    return slots


INVALID_PATCHES = {
    "negative daily quota": ({"individual": {"daily_quota": -1}}, "individual.daily_quota"),
    "negative team quota": ({"team": {"daily_quota": -5}}, "team.daily_quota"),
    "negative slot capacity": (
        {"slots": _slots(individual_capacity=-1)},
        "slots.1.individual_capacity",
    ),
    "slots overlap": ({"slots": _slots(start="10:30")}, "slots.1.start"),
    "slot ends before it starts": (
        {"slots": _slots(start="12:00", end="11:30")},
        "slots.1.end",
    ),
    "slot outside opening hours": ({"slots": _slots(end="18:00")}, "slots.1.start"),
    "slot after the last entry": (
        {"slots": _slots(start="16:30", end="17:00")},
        "slots.1.start",
    ),
    "duplicate slot id": ({"slots": _slots(id="0900")}, "slots.1.id"),
    "no slots at all": ({"slots": []}, "slots"),
    "instantaneous limit above the building": (
        {"occupancy": {"instantaneous_limit": 1301}},
        "occupancy.instantaneous_limit",
    ),
    "building lowered under the limit": (
        {"occupancy": {"building_limit": 500}},
        "occupancy.instantaneous_limit",
    ),
    "zero instantaneous limit": (
        {"occupancy": {"instantaneous_limit": 0}},
        "occupancy.instantaneous_limit",
    ),
    "closing before opening": ({"hours": {"closes": "08:00"}}, "hours.closes"),
    "last entry after closing": ({"hours": {"last_entry": "17:30"}}, "hours.last_entry"),
    "not a time": ({"hours": {"opens": "9am"}}, "hours.opens"),
    "unknown weekday": ({"hours": {"closed_weekdays": ["funday"]}}, "hours.closed_weekdays.0"),
    "weekday twice": (
        {"hours": {"closed_weekdays": ["monday", "monday"]}},
        "hours.closed_weekdays",
    ),
    "window upside down": (
        {"individual": {"min_days_ahead": 9, "max_days_ahead": 7}},
        "individual.max_days_ahead",
    ),
    "team sizes upside down": ({"team": {"min_size": 60}}, "team.max_size"),
    "number as text": ({"individual": {"daily_quota": "800"}}, "individual.daily_quota"),
    "number as boolean": ({"individual": {"daily_quota": True}}, "individual.daily_quota"),
    "fractional number": ({"individual": {"daily_quota": 800.5}}, "individual.daily_quota"),
    "switch as text": ({"team": {"requires_approval": "yes"}}, "team.requires_approval"),
    "date as a number": ({"individual": {"opens_on": 0}}, "individual.opens_on"),
    "rate nonsense": (
        {"protection": {"rate_limit_per_ip": "lots"}},
        "protection.rate_limit_per_ip",
    ),
    "unknown top-level key": ({"museum_name": "x"}, "museum_name"),
    "unknown nested key": ({"occupancy": {"limit": 500}}, "occupancy.limit"),
    "section replaced by a number": ({"hours": 5}, "hours"),
    "section set to null": ({"occupancy": None}, "occupancy"),
}


def test_invalid_values_change_nothing(client: TestClient) -> None:
    # One service for all the cases: each would otherwise pay for a fresh database.
    headers = admin_headers(client)
    before = client.get("/api/v1/admin/rules", headers=headers).json()
    for case, (patch, field) in INVALID_PATCHES.items():
        response = client.patch("/api/v1/admin/rules", json=patch, headers=headers)
        assert response.status_code == 422, (case, response.text)
        error = error_of(response)
        assert error["code"] == "validation_error", case
        fields = [problem["field"] for problem in error["details"]["fields"]]
        assert field in fields, (case, error)
        assert all(problem["type"] for problem in error["details"]["fields"]), case
    assert client.get("/api/v1/admin/rules", headers=headers).json() == before
    assert client.get("/api/v1/admin/rules", headers=headers).headers["etag"] == '"1"'
    assert audit_entries(client, headers, action="rules.update") == []


def test_a_patch_body_must_be_a_json_object(client: TestClient) -> None:
    headers = {**admin_headers(client), "Content-Type": "application/json"}
    for body in ("[1, 2]", '"quota"', "null", "42", "{not json", ""):
        response = client.patch("/api/v1/admin/rules", content=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert error_of(response)["code"] == "validation_error", body


def test_refusals_never_echo_the_submitted_value(client: TestClient) -> None:
    response = client.patch(
        "/api/v1/admin/rules",
        json={"individual": {"daily_quota": "11010519491231002X"}},
        headers=admin_headers(client),
    )
    assert response.status_code == 422
    assert "11010519491231002X" not in response.text


def test_if_match_refuses_a_change_prepared_against_old_rules(client: TestClient) -> None:
    headers = admin_headers(client)
    etag = client.get("/api/v1/admin/rules", headers=headers).headers["etag"]
    first = client.patch(
        "/api/v1/admin/rules",
        json={"privacy": {"retention_days": 20}},
        headers={**headers, "If-Match": etag},
    )
    assert first.status_code == 200
    stale = client.patch(
        "/api/v1/admin/rules",
        json={"privacy": {"retention_days": 10}},
        headers={**headers, "If-Match": etag},
    )
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "rules_changed"
    assert error_of(stale)["details"] == {"version": 2}
    rules = client.get("/api/v1/admin/rules", headers=headers).json()
    assert rules["privacy"]["retention_days"] == 20
    garbage = client.patch(
        "/api/v1/admin/rules", json={}, headers={**headers, "If-Match": "yesterday"}
    )
    assert error_of(garbage)["code"] == "validation_error"


def test_every_rule_can_be_changed(client: TestClient) -> None:
    headers = admin_headers(client)
    patch = {
        "hours": {"opens": "08:30", "closes": "18:00", "last_entry": "17:00",
                  "closed_weekdays": ["monday", "tuesday"]},
        "individual": {"opens_on": "2020-10-01", "daily_quota": 900, "min_days_ahead": 0,
                       "max_days_ahead": 14, "release_time": "20:00",
                       "max_visitors_per_booking": 4, "cancel_minutes_before_start": 60},
        "team": {"opens_on": "2020-10-10", "daily_quota": 300, "min_days_ahead": 2,
                 "max_days_ahead": 21, "min_size": 15, "max_size": 150,
                 "requires_approval": False, "received_weekdays": ["saturday"]},
        "occupancy": {"instantaneous_limit": 700, "building_limit": 1200,
                      "typical_visit_minutes": 90},
        "gate": {"entry_opens_minutes_before": 15, "entry_closes_minutes_after_end": 10},
        "no_show": {"strikes": 2, "window_days": 90, "ban_days": 30},
        "privacy": {"retention_days": 15},
        "protection": {"rate_limit_per_ip": "60/minute", "rate_limit_per_identity": "off",
                       "proof_of_work": "always"},
        "slots": [{"id": "am", "start": "08:30", "end": "12:30", "individual_capacity": 450,
                   "team_capacity": 150},
                  {"id": "pm", "start": "12:30", "end": "17:00", "individual_capacity": 450,
                   "team_capacity": 150}],
    }  # fmt: skip
    response = client.patch("/api/v1/admin/rules", json=patch, headers=headers)
    assert response.status_code == 200, response.text
    rules = response.json()
    for section, values in patch.items():
        if isinstance(values, dict):
            for key, value in values.items():
                assert rules[section][key] == value, f"{section}.{key}"
        else:
            assert rules[section] == values
    assert client.get("/api/v1/admin/rules", headers=headers).json() == rules


def test_preview_projects_the_peak_and_saves_nothing(client: TestClient) -> None:
    headers = admin_headers(client)
    response = client.post(
        "/api/v1/admin/rules/preview",
        json={"occupancy": {"typical_visit_minutes": 150}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["rules"]["occupancy"]["typical_visit_minutes"] == 150
    assert preview["changes"] == [
        {"path": "occupancy.typical_visit_minutes", "before": 120, "after": 150}
    ]
    # 250 + 250 individual and 100 + 100 team in two slots at once, and the day's 50
    # walk-in places (not split by slot: they may all be in then).
    assert preview["projection"]["peak"] == 750
    assert preview["projection"]["peak_start"] == "11:00"
    assert preview["projection"]["peak_end"] == "11:30"
    assert preview["warnings"] == [
        {
            "code": "projected_peak_above_limit",
            "peak": 750,
            "instantaneous_limit": 600,
            "from": "11:00",
            "until": "11:30",
        }
    ]
    rules = client.get("/api/v1/admin/rules", headers=headers).json()
    assert rules["occupancy"]["typical_visit_minutes"] == 120
    invalid = client.post("/api/v1/admin/rules/preview", json={"slots": []}, headers=headers)
    assert error_of(invalid)["code"] == "validation_error"

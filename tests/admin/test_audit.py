"""The audit trail: every admin action, who, when, what, before and after; append-only
down to the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from reservations import db
from tests.conftest import TOMORROW, admin_headers
from tests.rules.test_rules_api import audit_entries, error_of


def test_the_administrators_story_lower_the_limit_close_a_day_find_both(
    any_client: TestClient,
) -> None:
    headers = admin_headers(any_client)
    lowered = any_client.patch(
        "/api/v1/admin/rules", json={"occupancy": {"instantaneous_limit": 500}}, headers=headers
    )
    assert lowered.status_code == 200
    closed = any_client.put(
        f"/api/v1/admin/days/{TOMORROW}", json={"closed": True, "note": "维护"}, headers=headers
    )
    assert closed.status_code == 200
    entries = audit_entries(any_client, headers)
    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("day.override", "2026-03-10", "admin"),
        ("rules.update", "rules", "admin"),
    ]
    assert set(entries[0]) == {"id", "at", "actor", "action", "target", "before", "after",
                               "changes"}  # fmt: skip
    assert entries[0]["after"] == {
        "closed": True, "individual_quota": None, "team_quota": None, "walk_in_quota": None,
        "note": "维护",
    }  # fmt: skip
    assert {"path": "closed", "before": None, "after": True} in entries[0]["changes"]
    assert entries[1]["changes"] == [
        {"path": "occupancy.instantaneous_limit", "before": 600, "after": 500}
    ]
    assert entries[0]["id"] > entries[1]["id"]
    assert entries[0]["at"] == "2026-03-09T10:00:00+08:00"


def test_the_database_refuses_to_change_or_remove_entries(any_client: TestClient) -> None:
    headers = admin_headers(any_client)
    any_client.put(f"/api/v1/admin/days/{TOMORROW}", json={"closed": True}, headers=headers)
    before = audit_entries(any_client, headers)
    assert len(before) == 1
    statements = ["UPDATE audit_entry SET actor = 'mallory'", "DELETE FROM audit_entry"]
    if db.get_engine().dialect.name == "postgresql":
        statements.append("TRUNCATE audit_entry")
    with db.get_engine().connect() as connection:
        for statement in statements:
            with pytest.raises(DBAPIError, match="append-only"), connection.begin():
                connection.execute(text(statement))
    assert audit_entries(any_client, headers) == before


def test_the_api_offers_no_way_to_edit_or_delete(client: TestClient) -> None:
    headers = admin_headers(client)
    client.put(f"/api/v1/admin/days/{TOMORROW}", json={"closed": True}, headers=headers)
    entry_id = audit_entries(client, headers)[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        response = client.request(method, "/api/v1/admin/audit", headers=headers)
        assert error_of(response)["code"] == "method_not_allowed", method
        response = client.request(method, f"/api/v1/admin/audit/{entry_id}", headers=headers)
        assert response.status_code in (404, 405), method
    assert len(audit_entries(client, headers)) == 1


def test_filters_and_paging(client: TestClient) -> None:
    headers = admin_headers(client)
    for quota in (900, 800, 700):
        client.patch(
            "/api/v1/admin/rules", json={"individual": {"daily_quota": quota}}, headers=headers
        )
    client.put(f"/api/v1/admin/days/{TOMORROW}", json={"closed": True}, headers=headers)
    client.delete(f"/api/v1/admin/days/{TOMORROW}", headers=headers)

    assert len(audit_entries(client, headers)) == 5
    assert len(audit_entries(client, headers, action="rules.update")) == 3
    # Actions nest by dots: "day.override" also finds its removal.
    days = audit_entries(client, headers, action="day.override")
    assert [e["action"] for e in days] == ["day.override.delete", "day.override"]
    assert len(audit_entries(client, headers, target="2026-03-10")) == 2
    assert audit_entries(client, headers, actor="somebody-else") == []
    newest_two = audit_entries(client, headers, limit=2)
    older = audit_entries(client, headers, before_id=newest_two[-1]["id"])
    assert [e["id"] for e in newest_two + older] == [
        e["id"] for e in audit_entries(client, headers)
    ]
    for bad in ({"limit": 0}, {"limit": 1001}, {"before_id": "x"}):
        response = client.get("/api/v1/admin/audit", params=bad, headers=headers)
        assert error_of(response)["code"] == "validation_error", bad
    assert error_of(client.get("/api/v1/admin/audit"))["code"] == "unauthorized"

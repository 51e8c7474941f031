"""Admins create, disable, enable and reset staff and admin accounts; every action audited,
no password ever in the trail; a disabled account's tokens stop at once."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from reservations import db
from reservations.admin import users
from reservations.admin.errors import LastActiveAdmin
from tests.conftest import ADMIN_USERNAME, admin_headers
from tests.rules.test_rules_api import audit_entries, error_of

PASSWORD = "gate-password-2026"


def token_for(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def create(client: TestClient, headers: dict[str, str], username: str, role: str = "staff"):
    return client.post(
        "/api/v1/admin/users",
        json={"username": username, "password": PASSWORD, "role": role},
        headers=headers,
    )


def test_create_list_and_audit_without_the_password(client: TestClient) -> None:
    headers = admin_headers(client)
    created = create(client, headers, "gate-east")
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["username"], user["role"], user["disabled"], user["locked"]) == (
        "gate-east",
        "staff",
        False,
        False,
    )
    assert PASSWORD not in json.dumps(user) and "password_hash" not in user
    listed = client.get("/api/v1/admin/users", headers=headers).json()["users"]
    assert [u["username"] for u in listed] == ["admin", "gate-east"]  # admins first
    [entry] = audit_entries(client, headers, action="user.create")
    assert (entry["target"], entry["after"]) == ("gate-east", {"role": "staff", "disabled": False})
    assert PASSWORD not in json.dumps(audit_entries(client, headers))
    # The new account works at once, with its role.
    staff = token_for(client, "gate-east", PASSWORD)
    assert error_of(client.get("/api/v1/admin/users", headers=staff))["code"] == "forbidden"


def test_invalid_accounts_are_refused(client: TestClient) -> None:
    headers = admin_headers(client)
    assert create(client, headers, "gate-east").status_code == 201
    assert error_of(create(client, headers, "gate-east"))["code"] == "username_taken"
    assert error_of(create(client, headers, "x"))["code"] == "validation_error"
    assert error_of(create(client, headers, "名字"))["code"] == "validation_error"
    assert error_of(create(client, headers, "boss", role="root"))["code"] == "validation_error"
    weak = client.post(
        "/api/v1/admin/users",
        json={"username": "weak", "password": "short", "role": "staff"},
        headers=headers,
    )
    assert error_of(weak)["details"]["fields"][0]["field"] == "password"
    assert len(audit_entries(client, headers, action="user.create")) == 1


def test_disabling_stops_the_account_at_once_and_enabling_restores_it(
    any_client: TestClient,
) -> None:
    headers = admin_headers(any_client)
    create(any_client, headers, "gate-east")
    staff = token_for(any_client, "gate-east", PASSWORD)
    assert any_client.get("/api/v1/gate/keys", headers=staff).status_code == 200

    disabled = any_client.post("/api/v1/admin/users/gate-east/disable", headers=headers)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert error_of(any_client.get("/api/v1/gate/keys", headers=staff))["code"] == "unauthorized"
    refused = any_client.post(
        "/api/v1/auth/token", data={"username": "gate-east", "password": PASSWORD}
    )
    assert refused.status_code == 401
    again = any_client.post("/api/v1/admin/users/gate-east/disable", headers=headers)
    assert again.status_code == 200  # already disabled: nothing more happens

    enabled = any_client.post("/api/v1/admin/users/gate-east/enable", headers=headers)
    assert enabled.json()["disabled"] is False
    # The old token stays dead: disabling ended it; signing in again gives a new one.
    assert any_client.get("/api/v1/gate/keys", headers=staff).status_code == 401
    fresh = token_for(any_client, "gate-east", PASSWORD)
    assert any_client.get("/api/v1/gate/keys", headers=fresh).status_code == 200
    actions = [e["action"] for e in audit_entries(any_client, headers, target="gate-east")]
    assert actions == ["user.enable", "user.disable", "user.create"]


def test_resetting_a_password_ends_sessions_and_lifts_a_lockout(client: TestClient) -> None:
    headers = admin_headers(client)
    create(client, headers, "gate-east")
    old_token = token_for(client, "gate-east", PASSWORD)
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "gate-east", "password": "wrong"})
    listed = {
        u["username"]: u for u in client.get("/api/v1/admin/users", headers=headers).json()["users"]
    }
    assert listed["gate-east"]["locked"] is True

    new_password = "a-brand-new-password"
    reset = client.post(
        "/api/v1/admin/users/gate-east/reset-password",
        json={"password": new_password},
        headers=headers,
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["locked"] is False
    assert client.get("/api/v1/gate/keys", headers=old_token).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": "gate-east", "password": PASSWORD}
        ).status_code
        == 401
    )
    token_for(client, "gate-east", new_password)
    [entry] = audit_entries(client, headers, action="user.reset_password")
    assert entry["target"] == "gate-east"
    trail = json.dumps(audit_entries(client, headers))
    assert new_password not in trail and "argon2" not in trail
    short = client.post(
        "/api/v1/admin/users/gate-east/reset-password", json={"password": "tiny"}, headers=headers
    )
    assert error_of(short)["code"] == "validation_error"


def test_an_admin_cannot_lock_the_museum_out(client: TestClient) -> None:
    headers = admin_headers(client)
    itself = client.post(f"/api/v1/admin/users/{ADMIN_USERNAME}/disable", headers=headers)
    assert itself.status_code == 409
    assert error_of(itself)["code"] == "cannot_disable_self"
    # A second admin can be disabled by the first: one active admin remains.
    create(client, headers, "deputy", role="admin")
    assert client.post("/api/v1/admin/users/deputy/disable", headers=headers).status_code == 200
    unknown = client.post("/api/v1/admin/users/nobody/disable", headers=headers)
    assert error_of(unknown)["code"] == "not_found"
    unknown_reset = client.post(
        "/api/v1/admin/users/nobody/reset-password", json={"password": PASSWORD}, headers=headers
    )
    assert error_of(unknown_reset)["code"] == "not_found"


def test_the_last_active_admin_cannot_be_disabled(client: TestClient) -> None:
    admin_headers(client)  # the service is up, with its one admin
    # Whoever acts (a console, a command), the museum keeps one admin who can sign in.
    with pytest.raises(LastActiveAdmin), db.transaction() as session:
        users.disable(session, ADMIN_USERNAME, actor="maintenance-script")
    assert LastActiveAdmin.code == "last_active_admin" and LastActiveAdmin.status == 409
    admin_headers(client)  # still able to sign in

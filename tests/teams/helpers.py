"""What the team tests do over HTTP again and again."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

Client = TestClient | httpx.Client


def request_visit(client: Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/api/v1/team-bookings", json=body, headers=headers)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return str(body["error"]["code"])


def team_day(client: Client, day: date) -> dict[str, Any]:
    answer = client.get(f"/api/v1/availability?start={day}&end={day}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["days"][0])


def approve(client: Client, reference: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"/api/v1/admin/team-bookings/{reference}/approve", headers=headers)


def reject(
    client: Client, reference: str, headers: dict[str, str], reason: str = "当日已有大型活动"
) -> httpx.Response:
    return client.post(
        f"/api/v1/admin/team-bookings/{reference}/reject",
        json={"reason": reason},
        headers=headers,
    )


def patch_rules(client: Client, headers: dict[str, str], patch: dict[str, Any]) -> None:
    response = client.patch("/api/v1/admin/rules", json=patch, headers=headers)
    assert response.status_code == 200, response.text


def staff_headers(client: Client, admin: dict[str, str]) -> dict[str, str]:
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "gatekeeper", "password": "gate-password-123", "role": "staff"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = client.post(
        "/api/v1/auth/token", data={"username": "gatekeeper", "password": "gate-password-123"}
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}

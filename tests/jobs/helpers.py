"""What the job tests do over HTTP again and again."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import admin_headers, set_clock
from tests.support import people

Client = TestClient | httpx.Client


def run_job(client: Client, name: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST /admin/jobs/{name}/run as an admin; the job's result."""
    response = client.post(
        f"/api/v1/admin/jobs/{name}/run", headers=headers or admin_headers(client)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"] == name
    return dict(body["result"])


def run_at(client: Client, instant: str, name: str) -> dict[str, Any]:
    """Move the clock, then run the job (signing in again: tokens expire as time passes)."""
    set_clock(client, instant)
    return run_job(client, name)


def book(
    client: Client,
    day: date,
    person: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    extra.setdefault("visitors", [person or people.visitor()])
    body = people.booking(day, **extra)
    response = client.post("/api/v1/bookings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def read_booking(client: Client, created: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/bookings/{created['reference']}",
        headers={"X-Booking-Token": created["manage_token"]},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])

"""What the desk's tests do again and again."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import set_clock
from tests.support import people

Client = TestClient | httpx.Client

# Tuesday 2026-03-10, the museum open (09:00-17:00, last entry 16:00).
TUESDAY = date(2026, 3, 10)
TUESDAY_MORNING = "2026-03-10T10:00:00+08:00"


def desk_body(day: date = TUESDAY, slot_id: str = "0900", **extra: Any) -> dict[str, Any]:
    """A desk booking: no phone, the notice read out."""
    body = people.booking(day, slot_id=slot_id, **extra)
    body.pop("phone")
    if "phone" in extra:
        body["phone"] = extra["phone"]
    body["sensitive_consent"] = True
    return body


def desk_book(client: Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return client.post("/api/v1/desk/bookings", json=body, headers=headers)


def on_tuesday(client: Client, instant: str = TUESDAY_MORNING) -> None:
    set_clock(client, instant)


def day_of(client: Client, day: date) -> dict[str, Any]:
    response = client.get(f"/api/v1/availability?start={day}&end={day}")
    assert response.status_code == 200, response.text
    return dict(response.json()["days"][0])


def identity_of(client: Client, headers: dict[str, str], visitor: dict[str, Any]) -> httpx.Response:
    return client.post(
        "/api/v1/desk/identity",
        json={"id_type": visitor["id_type"], "id_number": visitor["id_number"]},
        headers=headers,
    )

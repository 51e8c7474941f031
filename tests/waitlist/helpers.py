"""What the waiting list tests do over HTTP again and again: fill a day, join, read, cancel,
and wait until returned places have been offered."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from reservations.waitlist.offers import offerer
from tests.conftest import TOMORROW, admin_headers
from tests.support import people
from tests.support.waiting import eventually

Client = TestClient | httpx.Client


def set_quota(client: Client, quota: int, day: date = TOMORROW) -> None:
    """The day's individual quota (a day override), so a few bookings sell it out."""
    response = client.put(
        f"/api/v1/admin/days/{day}",
        json={"individual_quota": quota},
        headers=admin_headers(client),
    )
    assert response.status_code == 200, response.text


def book(
    client: Client, day: date = TOMORROW, slot_id: str = "0900", people_count: int = 1, **extra: Any
) -> dict[str, Any]:
    visitors = [people.visitor() for _ in range(people_count)]
    response = client.post(
        "/api/v1/bookings", json=people.booking(day, slot_id, visitors=visitors, **extra)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def fill(client: Client, quota: int, day: date = TOMORROW) -> list[dict[str, Any]]:
    """Sell the day out: ``quota`` places, one booking each, in the first slot."""
    set_quota(client, quota, day)
    return [book(client, day) for _ in range(quota)]


def join_body(
    day: date = TOMORROW,
    visitors: list[dict[str, Any]] | None = None,
    slot_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    body = people.booking(day, visitors=visitors or [people.visitor()], **overrides)
    body["slot_id"] = slot_id
    return body


def join(client: Client, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return client.post("/api/v1/waiting-list", json=body or join_body(), headers=headers)


def joined(client: Client, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = join(client, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def read(client: Client, entry: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/waiting-list/{entry['reference']}",
        headers={"X-Booking-Token": entry["manage_token"]},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def act(client: Client, entry: dict[str, Any], action: str) -> httpx.Response:
    """``accept`` or ``leave``, with the entry's token."""
    return client.post(
        f"/api/v1/waiting-list/{entry['reference']}/{action}",
        headers={"X-Booking-Token": entry["manage_token"]},
    )


def cancel(client: Client, booking: dict[str, Any]) -> None:
    response = client.post(
        f"/api/v1/bookings/{booking['reference']}/cancel",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert response.status_code == 200, response.text


def counted(client: Client, day: date = TOMORROW) -> dict[str, int]:
    """The day's individual places as the calendar counts them."""
    answer = client.get(f"/api/v1/availability?start={day}&end={day}").json()
    return dict(answer["days"][0]["individual"])


def settled() -> None:
    """Places returned in this process have been offered (the offering thread is idle)."""
    assert offerer.wait_idle(60), "the waiting list's offers did not finish"


def status_becomes(client: Client, entry: dict[str, Any], status: str) -> dict[str, Any]:
    """The entry once it reads ``status`` (another process may be offering it)."""

    def check() -> dict[str, Any] | None:
        current = read(client, entry)
        return current if current["status"] == status else None

    return eventually(check)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])

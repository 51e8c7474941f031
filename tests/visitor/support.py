"""Filling the visitor's forms the way a browser without JavaScript does."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import TOMORROW
from tests.support import people

ADULT_BORN = date(1980, 1, 2)
CHILD_BORN = date(2018, 6, 1)  # seven on the visit day
PHONE = "13800138000"


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def open_form(client: TestClient | httpx.Client, day: date = TOMORROW) -> dict[str, str]:
    """The hidden fields of the booking form for ``day``."""
    response = client.get(f"/book/{day.isoformat()}")
    assert response.status_code == 200, response.text
    return {
        "csrf_token": hidden(response.text, "csrf_token"),
        "form_key": hidden(response.text, "form_key"),
    }


def visitors(*people_: dict[str, str]) -> dict[str, list[str]]:
    return {
        "visitor_name": [person["name"] for person in people_],
        "visitor_id_type": [person["id_type"] for person in people_],
        "visitor_id_number": [person["id_number"] for person in people_],
    }


def adult(name: str = "张三丰", **overrides: Any) -> dict[str, str]:
    return people.visitor(name, born=ADULT_BORN, **overrides)


def child(name: str = "李小四", **overrides: Any) -> dict[str, str]:
    return people.visitor(name, born=CHILD_BORN, **overrides)


def form_data(
    hidden_fields: dict[str, str],
    *people_: dict[str, str],
    slot_id: str = "0900",
    phone: str = PHONE,
    consents: tuple[str, ...] = ("consent", "sensitive_consent", "guardian_consent"),
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {**hidden_fields, "slot_id": slot_id, "phone": phone}
    data.update(visitors(*people_))
    data.update(dict.fromkeys(consents, "yes"))
    data.update(extra)
    return data


def book(
    client: TestClient | httpx.Client,
    *people_: dict[str, str],
    day: date = TOMORROW,
    **options: Any,
) -> httpx.Response:
    """Post the booking form; the response is not followed."""
    data = form_data(open_form(client, day), *people_, **options)
    return client.post(f"/book/{day.isoformat()}", data=data, follow_redirects=False)


def book_ok(
    client: TestClient | httpx.Client, *people_: dict[str, str], **options: Any
) -> tuple[str, str]:
    """Book and return (reference, manage token) from the private link it redirects to."""
    response = book(client, *people_, **options)
    assert response.status_code == 303, response.text
    match = re.fullmatch(
        r"/my/([A-Z0-9]+)/([A-Za-z0-9_-]+)\?booked=1", response.headers["location"]
    )
    assert match, response.headers["location"]
    return match.group(1), match.group(2)


def csrf(client: TestClient | httpx.Client, path: str = "/my") -> str:
    return hidden(client.get(path).text, "csrf_token")

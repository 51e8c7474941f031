"""Driving the team pages as a browser without JavaScript would: forms and cookies."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.teams import factories

Client = TestClient | httpx.Client


def csrf_token(client: Client, path: str = "/teams") -> str:
    assert client.get(path).status_code == 200
    token = client.cookies.get("zz_csrf")
    assert token
    return token


def form_fields(body: dict[str, Any], **changes: str) -> dict[str, str]:
    """The form a leader fills in for an API-shaped team request."""
    leader = body["leader"]
    members = "\n".join(f"{m['name']}，{m['id_number']}" for m in body.get("members", []))
    fields = {
        "visit": f"{body['date']}|{body['slot_id']}",
        "organization": body["organization"],
        "size": str(body["size"]),
        "leader_name": leader["name"],
        "leader_id_type": leader["id_type"],
        "leader_id_number": leader["id_number"],
        "leader_phone": leader["phone"],
        "members": members,
        "consent": "yes",
        "sensitive_consent": "yes",
        "guardian_consent": "yes",
        "request_key": "",
    }
    fields.update(changes)
    return fields


def submit(client: Client, fields: dict[str, str], token: str | None = None) -> httpx.Response:
    data = dict(fields, csrf_token=token or csrf_token(client))
    return client.post("/teams", data=data, follow_redirects=False)


def request_on_page(client: Client, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """Submit a valid request through the form; the reference and the API-shaped body."""
    body = factories.team_request(**overrides)
    response = submit(client, form_fields(body))
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(r"/teams/requests/([0-9A-Z]{8})", location)
    assert match, location
    return match[1], body


def sign_in_admin(client: Client, next_path: str = "/admin/team-bookings") -> None:
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login",
        data={
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "csrf_token": token,
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def page_form(client: Client, path: str, fields: dict[str, str]) -> httpx.Response:
    token = client.cookies.get("zz_csrf") or csrf_token(client)
    return client.post(path, data=dict(fields, csrf_token=token), follow_redirects=False)

"""The scanner page and the same-origin JSON it calls with the staff session."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from reservations.web.static import static_url
from tests.conftest import set_clock
from tests.gate.factories import OPENING, book, page_session, staff_headers, team_ticket


def test_the_page_needs_a_staff_session(client: TestClient) -> None:
    response = client.get("/gate", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/gate"
    check = client.post("/gate/check", json={}, follow_redirects=False)
    assert check.status_code == 303


def test_the_page_runs_no_inline_code(client: TestClient) -> None:
    page_session(client)
    html = client.get("/gate").text
    assert "style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script src="{static_url("gate/offline.js")}" defer>',
        f'<script src="{static_url("gate/scan.js")}" defer>',
    ]
    assert 'id="occupancy-inside">0<' in html and 'id="occupancy-limit">600<' in html
    for asset in ("/static/gate/scan.js", "/static/gate/scan.css", "/static/gate/vendor/jsQR.js"):
        assert client.get(asset).status_code == 200, asset


def test_the_page_speaks_english_on_request(client: TestClient) -> None:
    page_session(client)
    client.get("/lang/en?next=/gate")
    html = client.get("/gate").text
    assert "Ready to scan" in html and "People inside" in html and "等待扫码" not in html


def test_the_page_checks_tickets_with_its_csrf_token(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    csrf = page_session(client)
    body = {"payload": ticket["qr_payload"], "gate": "主入口"}

    refused = client.post("/gate/check", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/gate/check", json=body, headers={"X-CSRF-Token": "x" * 40})
    assert wrong.status_code == 403

    admitted = client.post("/gate/check", json=body, headers={"X-CSRF-Token": csrf})
    assert admitted.status_code == 200
    result = admitted.json()
    assert result["admitted"] is True and result["message"] == "准许入馆"
    assert result["ticket"]["entered_gate"] == "主入口"
    assert result["occupancy"]["inside"] == 1

    again = client.post("/gate/check", json=body, headers={"X-CSRF-Token": csrf})
    assert again.json()["reason"] == "already_used"


def test_page_errors_are_json(client: TestClient) -> None:
    set_clock(client, OPENING)
    csrf = page_session(client)
    headers = {"X-CSRF-Token": csrf}
    bad = client.post("/gate/check", json={"gate": "g"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    # A code, a document or a ticket number: exactly one of them names the ticket.
    (problem,) = bad.json()["error"]["details"]["fields"]
    assert problem["field"] == "body" and "exactly one of payload" in problem["problem"]
    team = team_ticket(15)
    too_many = client.post(
        "/gate/check",
        json={"payload": team["qr_payload"], "gate": "g", "headcount": 16},
        headers=headers,
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"]["fields"][0]["field"] == "headcount"
    assert client.get("/api/v1/occupancy").json()["inside"] == 0


def test_the_page_counts_exits(client: TestClient) -> None:
    booking = book(client, visitors=2)
    set_clock(client, OPENING)
    staff = staff_headers(client)
    for ticket in booking["tickets"]:
        client.post(
            "/api/v1/gate/scan", json={"payload": ticket["qr_payload"], "gate": "g"}, headers=staff
        )
    csrf = page_session(client)
    response = client.post(
        "/gate/exits", json={"gate": "exit", "count": 5}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert response.json()["occupancy"]["inside"] == 0
    assert response.json()["occupancy"]["exited_today"] == 2
    unsigned = client.post("/gate/exits", json={"gate": "exit", "count": 1})
    assert unsigned.status_code == 403

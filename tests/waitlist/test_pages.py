"""The waiting list's pages as a browser without JavaScript uses them: the calendar sends a
sold-out day's visitors to the join form, "my bookings" shows the position, the offer and
its deadline and lets them confirm or leave, the console lists each day (masked) and
switches the feature off in its rules form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.admin.test_pages import rules_form, sign_in
from tests.conftest import TOMORROW, admin_headers
from tests.visitor import support as visitor
from tests.waitlist.helpers import cancel, fill, join_body, joined, read, settled

JOIN_LINK = f'href="/waitlist/{TOMORROW}"'
NAME = "欧阳娜月"
PHONE = "13912345678"


def lookup(client: TestClient, person: dict[str, str]) -> str:
    """The "my bookings" page, found with the phone and the person's document number."""
    data = {
        "csrf_token": visitor.csrf(client),
        "phone": PHONE,
        "id_type": person["id_type"],
        "id_number": person["id_number"],
    }
    response = client.post("/my", data=data)
    assert response.status_code == 200, response.text
    return response.text


def form_for(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action``."""
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert match, f"no form to {action}"
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', match.group(1)))


def waiting_person(client: TestClient) -> tuple[dict[str, str], dict[str, Any]]:
    person = visitor.adult(NAME)
    return person, joined(client, join_body(visitors=[person], phone=PHONE))


def test_a_sold_out_day_links_to_its_waiting_list_while_it_is_on(client: TestClient) -> None:
    assert JOIN_LINK not in client.get("/").text
    fill(client, 1)
    assert JOIN_LINK in client.get("/").text
    assert JOIN_LINK in client.get(f"/book/{TOMORROW}").text
    off = {"waiting_list": {"enabled": False}}
    assert client.patch("/api/v1/admin/rules", json=off, headers=admin_headers(client)).is_success
    assert JOIN_LINK not in client.get("/").text
    assert JOIN_LINK not in client.get(f"/book/{TOMORROW}").text


def test_joining_through_the_form_without_javascript(client: TestClient) -> None:
    fill(client, 1)
    page = client.get(f"/waitlist/{TOMORROW}")
    assert page.status_code == 200
    hidden = {
        "csrf_token": visitor.hidden(page.text, "csrf_token"),
        "form_key": visitor.hidden(page.text, "form_key"),
    }
    # A child alone is refused next to the fields, and nobody joins.
    alone = visitor.form_data(hidden, visitor.child(), slot_id="", phone=PHONE)
    refused = client.post(f"/waitlist/{TOMORROW}", data=alone)
    assert refused.status_code == 422 and "须与一位成年人" in refused.text
    person = visitor.adult(NAME)
    data = visitor.form_data(hidden, person, slot_id="", phone=PHONE)
    answer = client.post(f"/waitlist/{TOMORROW}", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/waitlist/entry/[^/]+/[^/?]+\?joined=1", location)
    entry = client.get(location)
    assert entry.status_code == 200
    assert entry.headers["cache-control"] == "no-store"
    assert "已加入候补名单" in entry.text and "第1位" in entry.text
    assert "139****5678" in entry.text
    assert NAME not in entry.text and person["id_number"] not in entry.text
    # The same form sent again (a second tap) gives the same entry back.
    again = client.post(f"/waitlist/{TOMORROW}", data=data, follow_redirects=False)
    assert again.headers["location"] == location


def test_my_bookings_shows_the_position_then_the_offer_and_confirms_it(
    client: TestClient,
) -> None:
    [booking] = fill(client, 1)
    person, entry = waiting_person(client)
    found = lookup(client, person)
    assert entry["reference"] in found and "候补中" in found and "第1位" in found
    assert 'action="/my/waiting/accept"' not in found  # nothing to confirm yet
    assert 'action="/my/waiting/leave"' in found

    cancel(client, booking)
    settled()
    offer = read(client, entry)["offer"]
    found = lookup(client, person)
    assert "名额已保留，待确认" in found
    deadline = offer["expires_at"][11:16]  # the museum's local time, as the page says it
    assert "保留到" in found and deadline in found
    fields = form_for(found, "/my/waiting/accept")
    accepted = client.post("/my/waiting/accept", data=fields, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    assert re.fullmatch(r"/my/[^/]+/[^/?]+\?booked=1", accepted.headers["location"])
    tickets = client.get(accepted.headers["location"])
    assert tickets.status_code == 200 and "/api/v1/tickets/" in tickets.text
    assert read(client, entry)["status"] == "booked"


def test_leaving_from_my_bookings(client: TestClient) -> None:
    fill(client, 1)
    person, entry = waiting_person(client)
    fields = form_for(lookup(client, person), "/my/waiting/leave")
    left = client.post("/my/waiting/leave", data=fields)
    assert left.status_code == 200 and "已退出" in left.text
    assert read(client, entry)["status"] == "left"
    again = client.post("/my/waiting/leave", data=fields)  # a second tap: the same answer
    assert again.status_code == 200 and "已退出" in again.text
    forged = client.post("/my/waiting/leave", data={**fields, "grant": "x" + fields["grant"]})
    assert forged.status_code == 403


def test_the_console_lists_each_day_masked_with_offers_and_outcomes(client: TestClient) -> None:
    [booking] = fill(client, 1)
    person, first = waiting_person(client)
    second = joined(client, join_body(phone="13800138000"))
    cancel(client, booking)
    settled()
    sign_in(client)
    days = client.get("/admin/waiting-list")
    assert days.status_code == 200 and f"/admin/waiting-list?date={TOMORROW}" in days.text
    page = client.get(f"/admin/waiting-list?date={TOMORROW}").text
    assert first["reference"] in page and second["reference"] in page
    assert page.index(first["reference"]) < page.index(second["reference"])  # order of joining
    assert "已保留待确认" in page and "候补中" in page
    assert "欧**月" in page and "139****5678" in page
    assert NAME not in page and PHONE not in page and person["id_number"] not in page
    assert client.post(
        f"/api/v1/waiting-list/{first['reference']}/accept",
        headers={"X-Booking-Token": first["manage_token"]},
    ).is_success
    page = client.get(f"/admin/waiting-list?date={TOMORROW}").text
    booked = read(client, first)["booking"]["reference"]
    assert "已确认预约" in page and f"预约 {booked}" in page


def test_the_console_rules_form_switches_the_list_off(client: TestClient) -> None:
    fill(client, 1)
    sign_in(client)
    form = rules_form(client, intent="save")
    assert form.get("waiting_list.enabled") == "on"
    assert form["waiting_list.offer_minutes"] == "30"
    del form["waiting_list.enabled"]  # the box unticked
    saved = client.post("/admin/rules", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert "候补名单已关闭" in client.get("/admin/waiting-list").text
    refused = client.post("/api/v1/waiting-list", json=join_body())
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "waiting_list_closed"

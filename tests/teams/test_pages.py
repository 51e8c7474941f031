"""The leader's request form and status page and the admins' review queue, without a
browser: plain form posts, as a phone without JavaScript would send them."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import TOMORROW, admin_headers
from tests.teams import factories
from tests.teams.helpers import patch_rules, team_day
from tests.teams.pages import (
    csrf_token,
    form_fields,
    page_form,
    request_on_page,
    sign_in_admin,
    submit,
)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def assert_no_inline_code(html: str) -> None:
    assert 'style="' not in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)


def test_request_form_offers_the_team_days_and_slots(client: TestClient) -> None:
    page = client.get("/teams")
    assert page.status_code == 200
    html = page.text
    assert "团队参观预约" in html and 'href="/"' in html
    assert re.search(r"<form[^>]*action=\"/teams\"[^>]*data-challenge", html)
    assert '<input type="hidden" name="challenge_solution">' in html
    assert re.search(r'<script src="/static/pow\.[0-9a-f]{12}\.js" defer></script>', html)
    assert 'name="csrf_token"' in html and 'name="request_key"' in html
    assert "敏感个人信息" in html and "监护人" in html and "30 天内删除" in html
    assert 'value="2026-03-10|0900"' in html and "3月10日周二" in html
    assert 'value="2026-03-22|1500"' in html  # teams book 14 days ahead
    assert "2026-03-16|" not in html  # Mondays are closed
    assert "2026-03-09|" not in html  # no same-day requests
    assert "团队余 400 人" in html
    assert_no_inline_code(html)


def test_request_form_in_english(client: TestClient) -> None:
    client.cookies.set("lang", "en")
    html = client.get("/teams").text
    assert "Team visit request" in html and "Tue, Mar 10" in html
    assert "Teams of 10 to 50 people" in html
    assert "团队" not in html.split("<main", 1)[1]


def test_a_full_slot_is_offered_but_cannot_be_chosen(client: TestClient) -> None:
    headers = admin_headers(client)
    slots = [
        {
            "id": "0900",
            "start": "09:00",
            "end": "11:00",
            "individual_capacity": 5,
            "team_capacity": 15,
        },
        {
            "id": "1100",
            "start": "11:00",
            "end": "13:00",
            "individual_capacity": 5,
            "team_capacity": 40,
        },
    ]
    patch_rules(client, headers, {"slots": slots})
    request_on_page(client, day=TOMORROW, size=10)
    html = client.get("/teams").text
    assert re.search(r'value="2026-03-10\|0900" disabled', html)  # 5 left: no team fits
    assert re.search(r'value="2026-03-10\|1100">', html)


def test_leader_requests_a_visit_through_the_form(client: TestClient) -> None:
    reference, body = request_on_page(client, day=TOMORROW, size=35)
    assert team_day(client, TOMORROW)["team"]["booked"] == 35
    status = client.get(f"/teams/requests/{reference}")
    assert status.status_code == 200
    html = status.text
    assert reference in html and "待审核" in html and "郑州市第一中学" in html
    assert "李*" in html and "139****9000" in html and "35 人（含领队）" in html
    assert body["leader"]["id_number"] not in html and "13900139000" not in html
    assert "qr.png" not in html  # no ticket before approval
    assert_no_inline_code(html)


def test_members_typed_one_per_line(client: TestClient) -> None:
    members = factories.members(11)
    members[3] = {"name": "Jason Smith", "id_type": "passport", "id_number": "E12345678"}
    lines = [f"{m['name']}，{m['id_number']}" for m in members]
    lines[3] = "Jason Smith, E12345678, 护照"
    lines[5] = lines[5].replace("，", "\t")
    body = factories.team_request(TOMORROW, size=12)
    fields = form_fields(body, members="\n".join([*lines[:6], "", *lines[6:]]))
    response = submit(client, fields)
    assert response.status_code == 303, response.text
    sign_in_admin(client)
    queue = client.get("/admin/team-bookings").text
    assert "11 人" in queue and "J*********h" in queue and "E******78" in queue


def test_form_problems_come_back_with_the_form_filled_in(client: TestClient) -> None:
    body = factories.team_request(TOMORROW, size=5, organization="郑州市第二中学")
    too_small = submit(client, form_fields(body))
    assert too_small.status_code == 422
    assert "团队人数不在可预约范围内" in too_small.text
    assert 'id="size-error"' in too_small.text and 'aria-invalid="true"' in too_small.text
    assert 'value="郑州市第二中学"' in too_small.text

    bad_line = submit(
        client, form_fields(body, size="12", members="王五，E12345678，护照\n只有名字")
    )
    assert bad_line.status_code == 422 and "第2行应为" in bad_line.text

    bad_member = submit(
        client,
        form_fields(body, size="3", members="王五，110105194912310021\n赵六，E12345678，护照"),
    )
    assert bad_member.status_code == 422 and "团队人数不在" in bad_member.text
    patch_rules(client, admin_headers(client), {"team": {"min_size": 3}})
    bad_member = submit(
        client,
        form_fields(body, size="3", members="王五，E12345678，护照\n赵六，110105194912310021"),
    )
    assert bad_member.status_code == 422 and "第2位成员的信息有误" in bad_member.text
    assert "110105194912310021" in bad_member.text  # typed text kept for correction only

    no_visit = submit(client, form_fields(body, size="12", visit=""))
    assert no_visit.status_code == 422 and "请选择参观日期和时段" in no_visit.text
    no_consent = submit(client, form_fields(body, size="12", sensitive_consent=""))
    assert no_consent.status_code == 422 and "单独同意" in no_consent.text
    assert team_day(client, TOMORROW)["team"]["booked"] == 0


def test_a_refused_form_takes_no_places(client: TestClient) -> None:
    """The day's counter is taken before the slot turns out full: the page must undo it."""
    slots = [
        {
            "id": "0900",
            "start": "09:00",
            "end": "11:00",
            "individual_capacity": 5,
            "team_capacity": 20,
        },
    ]
    patch_rules(client, admin_headers(client), {"slots": slots})
    response = submit(client, form_fields(factories.team_request(TOMORROW, size=30)))
    assert response.status_code == 409 and "该时段已约满" in response.text
    day = team_day(client, TOMORROW)
    assert day["team"]["booked"] == 0 and day["slots"][0]["team_remaining"] == 20


def test_submitting_twice_creates_one_request(client: TestClient) -> None:
    fields = form_fields(factories.team_request(TOMORROW), request_key="tap-tap")
    token = csrf_token(client)
    first, second = submit(client, fields, token), submit(client, fields, token)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert team_day(client, TOMORROW)["team"]["booked"] == 35


def test_forms_need_their_csrf_token(client: TestClient) -> None:
    fields = form_fields(factories.team_request(TOMORROW))
    client.get("/teams")
    refused = client.post("/teams", data=fields, follow_redirects=False)
    assert refused.status_code == 403 and "csrf_failed" in refused.text
    assert team_day(client, TOMORROW)["team"]["booked"] == 0


def test_a_field_longer_than_the_form_carries_is_refused_and_takes_no_places(
    client: TestClient,
) -> None:
    fields = form_fields(factories.team_request(TOMORROW), organization="校" * 201)
    refused = submit(client, fields, csrf_token(client))
    assert refused.status_code == 422 and "Traceback" not in refused.text
    assert "校" * 201 not in refused.text
    assert team_day(client, TOMORROW)["team"]["booked"] == 0


def test_another_device_finds_the_request_with_phone_and_document(
    client: TestClient,
) -> None:
    reference, body = request_on_page(client, day=TOMORROW)
    client.cookies.clear()
    locked = client.get(f"/teams/requests/{reference}")
    assert locked.status_code == 200 and "查看团队预约" in locked.text
    assert "郑州市第一中学" not in locked.text
    wrong = page_form(
        client,
        f"/teams/requests/{reference}/find",
        {
            "phone": "13800138000",
            "id_type": "resident_id",
            "id_number": body["leader"]["id_number"],
        },
    )
    assert wrong.status_code == 404 and "未找到" in wrong.text
    found = page_form(
        client,
        f"/teams/requests/{reference}/find",
        {
            "phone": "139 0013 9000",
            "id_type": "resident_id",
            "id_number": body["leader"]["id_number"],
        },
    )
    assert found.status_code == 303 and found.headers["location"] == f"/teams/requests/{reference}"
    assert "郑州市第一中学" in client.get(f"/teams/requests/{reference}").text
    assert client.get("/teams/requests/not-a-ref!").status_code == 404


def test_leader_cancels_on_the_status_page(client: TestClient) -> None:
    reference, _ = request_on_page(client, day=TOMORROW)
    page = client.get(f"/teams/requests/{reference}").text
    assert f'action="/teams/requests/{reference}/cancel"' in page
    response = page_form(client, f"/teams/requests/{reference}/cancel", {"confirm": "yes"})
    assert response.status_code == 303
    assert "预约已取消" in client.get(f"/teams/requests/{reference}").text
    assert team_day(client, TOMORROW)["team"]["booked"] == 0
    again = page_form(client, f"/teams/requests/{reference}/cancel", {"confirm": "yes"})
    assert again.status_code == 409 and "该预约已无法取消" in again.text
    client.cookies.clear()
    stranger = page_form(client, f"/teams/requests/{reference}/cancel", {"confirm": "yes"})
    assert stranger.status_code == 404


def test_review_queue_needs_an_admin_session(client: TestClient) -> None:
    response = client.get("/admin/team-bookings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/admin/team-bookings"


def test_admin_approves_and_refuses_on_the_queue(client: TestClient) -> None:
    approved_ref, _ = request_on_page(client, day=TOMORROW, size=35)
    refused_ref, _ = request_on_page(
        client, day=date(2026, 3, 11), size=20, leader=factories.leader("王五")
    )
    sign_in_admin(client)
    queue = client.get("/admin/team-bookings")
    assert queue.status_code == 200
    html = queue.text
    assert approved_ref in html and refused_ref in html and "3月10日周二" in html
    assert "李*" in html and "王*" in html and "35 人（含领队）" in html
    assert html.index(approved_ref) < html.index(refused_ref)  # the soonest visit first
    assert_no_inline_code(html)

    approved = page_form(client, f"/admin/team-bookings/{approved_ref}/approve", {})
    assert approved.status_code == 303
    notice = client.get(approved.headers["location"]).text
    assert f"已通过团队预约 {approved_ref}" in notice
    assert f'id="request-{approved_ref}"' not in notice  # no longer pending

    no_reason = page_form(client, f"/admin/team-bookings/{refused_ref}/reject", {"reason": " "})
    assert no_reason.status_code == 422 and "请填写驳回原因" in no_reason.text
    refused = page_form(
        client, f"/admin/team-bookings/{refused_ref}/reject", {"reason": "当日场馆维护"}
    )
    assert refused.status_code == 303
    twice = page_form(client, f"/admin/team-bookings/{refused_ref}/approve", {})
    assert twice.status_code == 409 and "不在待审核状态" in twice.text

    confirmed = client.get("/admin/team-bookings?status=confirmed").text
    assert approved_ref in confirmed and refused_ref not in confirmed
    # The leaders see the outcome on their status pages.
    ticket_page = client.get(f"/teams/requests/{approved_ref}").text
    assert "已确认" in ticket_page
    assert re.search(r'<img src="/api/v1/tickets/[0-9A-Z]+/qr\.png\?sig=\w+"', ticket_page)
    assert "最多入馆 35 人" in ticket_page
    refused_page = client.get(f"/teams/requests/{refused_ref}").text
    assert "未通过" in refused_page and "当日场馆维护" in refused_page

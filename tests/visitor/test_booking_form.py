"""The booking form as a browser without JavaScript uses it: plain posts, inline messages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from reservations import clock, db
from reservations.booking import identities
from reservations.booking.models import VisitorBan
from reservations.privacy import documents
from tests.conftest import TOMORROW, admin_headers
from tests.support import people
from tests.visitor.support import (
    adult,
    book,
    book_ok,
    child,
    form_data,
    hidden,
    open_form,
)


def field_error(html: str, field: str) -> str:
    """The text of the message shown next to ``field``."""
    match = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">(.*?)</p>', html)
    assert match, f"no message next to {field}"
    return match.group(1)


def test_the_form_offers_the_days_slots_and_every_document_type(client: TestClient) -> None:
    page = client.get("/book/2026-03-10?slot=1100")
    assert page.status_code == 200
    html = page.text
    assert "2026年3月10日 星期二" in html
    assert re.search(r'value="1100" required checked', html)
    assert html.count("剩余250个名额") == 4
    for id_type in ("resident_id", "passport", "hk_macau_permit", "taiwan_permit"):
        assert f'<option value="{id_type}"' in html
    # The hooks of the bot protection and the privacy notice with its separate consents.
    assert "data-challenge" in html and 'name="challenge_solution"' in html
    assert re.search(r'<script src="/static/pow\.[0-9a-f]{12}\.js" defer></script>', html)
    for name in ("consent", "sensitive_consent", "guardian_consent"):
        assert f'name="{name}"' in html
    assert "参观日后30天删除" in html and "处理目的" in html and "您的权利" in html
    # Every field has its label.
    for field_id in re.findall(r'<(?:input|select) id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id


def test_booking_two_people_without_javascript_leads_to_the_private_link(
    client: TestClient,
) -> None:
    grown, kid = adult(), child()
    reference, token = book_ok(client, grown, kid)
    page = client.get(f"/my/{reference}/{token}?booked=1")
    assert page.status_code == 200
    assert "预约成功" in page.text and reference in page.text
    assert page.text.count('class="ticket__qr"') == 2
    assert "张*丰" in page.text and "李*四" in page.text
    api = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert api.json()["party_size"] == 2 and api.json()["status"] == "confirmed"


def test_a_second_tap_on_the_same_form_gets_the_same_booking(client: TestClient) -> None:
    hidden_fields = open_form(client)
    data = form_data(hidden_fields, adult())
    first = client.post("/book/2026-03-10", data=data, follow_redirects=False)
    again = client.post("/book/2026-03-10", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    day = client.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
    assert day["individual"]["booked"] == 1


def test_the_form_without_a_csrf_token_is_refused(client: TestClient) -> None:
    hidden_fields = open_form(client)
    data = form_data(hidden_fields, adult())
    data.pop("csrf_token")
    response = client.post("/book/2026-03-10", data=data, follow_redirects=False)
    assert response.status_code == 403 and "csrf_failed" in response.text
    forged = dict(data, csrf_token="x" * 43)
    assert client.post("/book/2026-03-10", data=forged).status_code == 403
    day = client.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
    assert day["individual"]["booked"] == 0


def test_companion_rows_are_added_and_removed_without_javascript(client: TestClient) -> None:
    hidden_fields = open_form(client)
    grown = adult()
    data = form_data(hidden_fields, grown, change="add")
    added = client.post("/book/2026-03-10/edit", data=data)
    assert added.status_code == 200
    assert 'id="name-1"' in added.text and 'id="name-2"' not in added.text
    # What was typed stays in its field, and only there.
    assert added.text.count(grown["id_number"]) == 1
    assert f'id="id_number-0" name="visitor_id_number" value="{grown["id_number"]}"' in added.text
    kid = child()
    two = form_data(hidden_fields, grown, kid, change="remove-0")
    removed = client.post("/book/2026-03-10/edit", data=two)
    assert grown["id_number"] not in removed.text and kid["id_number"] in removed.text


def test_the_form_moves_to_another_day_keeping_what_was_typed(client: TestClient) -> None:
    grown = adult()
    data = form_data(open_form(client), grown, change="move", move_to="2026-03-12")
    moved = client.post("/book/2026-03-10/edit", data=data)
    assert "2026年3月12日 星期四" in moved.text
    assert 'action="/book/2026-03-12"' in moved.text and grown["id_number"] in moved.text


def test_a_blank_companion_row_is_ignored(client: TestClient) -> None:
    blank = {"name": "", "id_type": "resident_id", "id_number": ""}
    reference, token = book_ok(client, adult(), blank)
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert booking.json()["party_size"] == 1


def test_every_mistake_of_the_form_shows_at_once_next_to_its_field(client: TestClient) -> None:
    response = book(
        client,
        {"name": "", "id_type": "resident_id", "id_number": "11010519491231002X"},
        {"name": "王五", "id_type": "resident_id", "id_number": "110105194912310021"},
        {"name": "赵六", "id_type": "hk_macau_permit", "id_number": "X1234567"},
        phone="12345",
        email="not-an-address",
    )
    assert response.status_code == 422
    html = response.text
    assert field_error(html, "name-0") == "请填写姓名。"
    assert "最后一位（校验位）与前17位对不上" in field_error(html, "id_number-1")
    assert "港澳通行证号码有误" in field_error(html, "id_number-2")
    assert "11位中国大陆手机号码" in field_error(html, "phone")
    assert "电子邮箱格式不正确" in field_error(html, "email")
    assert 'aria-invalid="true"' in html and 'aria-describedby="phone-hint phone-error"' in html
    # The summary links to each field; what was typed is kept in its own field only.
    assert '<a href="#name-0">' in html and '<a href="#phone">' in html
    assert html.count("110105194912310021") == 1
    assert 'value="12345" required data-phone' in html


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("no_consent", "consent", "请阅读并同意《个人信息处理规则》"),
        ("no_sensitive_consent", "sensitive_consent", "请勾选单独同意"),
        ("no_guardian_consent", "guardian_consent", "须由其父母或其他监护人勾选同意"),
        ("too_many", "visitors", "每笔预约最多5人"),
        ("child_alone", "visitors", "须与一位成年人（18周岁及以上）在同一预约中参观"),
        ("same_person_twice", "visitors", "同一证件在本次预约中填写了两次"),
        ("no_slot", "slot", "请选择参观时段。"),
        ("unknown_slot", "slot", "请选择参观时段。"),
        ("no_visitor", "name-0", "请填写姓名。"),
    ],
)
def test_refusals_the_visitor_can_fix_show_next_to_the_field(
    client: TestClient, case: str, field: str, words: str
) -> None:
    grown, kid = adult(), child()
    blank = {"name": "", "id_type": "resident_id", "id_number": ""}
    options: dict[str, object] = {}
    party = [grown]
    if case == "no_consent":
        options["consents"] = ("sensitive_consent",)
    elif case == "no_sensitive_consent":
        options["consents"] = ("consent",)
    elif case == "no_guardian_consent":
        party, options["consents"] = [grown, kid], ("consent", "sensitive_consent")
    elif case == "too_many":
        party = [people.visitor(f"游客{i}", born=date(1985, 1, 1 + i)) for i in range(6)]
    elif case == "child_alone":
        party = [kid]
    elif case == "same_person_twice":
        party = [grown, dict(grown, name="张三")]
    elif case == "no_slot":
        options["slot_id"] = ""
    elif case == "unknown_slot":
        options["slot_id"] = "2300"
    elif case == "no_visitor":
        party = [blank]
    response = book(client, *party, **options)
    assert response.status_code in (409, 422), response.text
    assert words in field_error(response.text, field)
    # Nothing was booked, and the typed numbers are back in their fields.
    day = client.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
    assert day["individual"]["booked"] == 0
    for person in party:
        if person["id_number"]:
            assert f'value="{person["id_number"]}"' in response.text


def test_a_person_booked_that_day_already_is_told_where_to_look(client: TestClient) -> None:
    grown = adult()
    book_ok(client, grown)
    again = book(client, grown, slot_id="1300")
    assert again.status_code == 409
    assert "每人每天只能预约一次" in field_error(again.text, "visitors")


def test_a_banned_person_is_told_until_when(client: TestClient) -> None:
    grown = adult()
    document = documents.parse_document("resident_id", grown["id_number"], date(2026, 3, 9))
    with db.transaction() as session:
        session.add(
            VisitorBan(
                identity_hash=identities.identity_hash(document),
                until=date(2026, 5, 8),
                created_at=clock.now(),
            )
        )
    response = book(client, grown)
    assert response.status_code == 403
    assert "2026年5月8日 星期五前暂停预约" in field_error(response.text, "visitors")


def test_a_day_that_cannot_be_booked_says_why_on_the_form(client: TestClient) -> None:
    monday = date(2026, 3, 16)
    page = client.get(f"/book/{monday.isoformat()}")
    assert "本馆每周一闭馆" in page.text and "<form" not in page.text.split("<main")[1]
    # Posted anyway (a stale page): the form comes back with the reason by the slots.
    data = form_data(open_form(client), adult())
    response = client.post(f"/book/{monday.isoformat()}", data=data)
    assert response.status_code == 409
    assert "本馆每周一闭馆。请选择其他日期。" in field_error(response.text, "slot")


def test_a_slot_sold_out_while_filling_in_is_reported_by_the_slots(client: TestClient) -> None:
    hidden_fields = open_form(client)
    headers = admin_headers(client)
    response = client.put(
        "/api/v1/admin/days/2026-03-10", json={"individual_quota": 1}, headers=headers
    )
    assert response.status_code == 200, response.text
    book_ok(client, adult("钱七", sequence=7))
    late = client.post(
        "/book/2026-03-10", data=form_data(hidden_fields, adult()), follow_redirects=False
    )
    assert late.status_code == 409
    assert "约满" in field_error(late.text, "slot")


def test_the_form_speaks_english_on_the_switch(client: TestClient) -> None:
    switched = client.get("/lang/en?next=/book/2026-03-10", follow_redirects=True)
    assert "Time slot" in switched.text and "Document number" in switched.text
    response = book(client, child())
    assert response.status_code == 422
    assert "Children under 14 must be booked together with an adult" in field_error(
        response.text, "visitors"
    )
    assert "Tuesday, 10 March 2026" in response.text
    assert hidden(response.text, "csrf_token")


def test_a_booking_made_in_english_remembers_its_language(client: TestClient) -> None:
    client.cookies.set("lang", "en")
    reference, token = book_ok(client, adult())
    page = client.get(f"/my/{reference}/{token}?booked=1")
    assert "Booked" in page.text and "How to enter" in page.text
    assert "Arrive and enter between 08:30 and 11:00" in page.text


def test_the_day_after_the_window_is_not_offered(client: TestClient) -> None:
    later = TOMORROW + timedelta(days=7)
    page = client.get(f"/book/{later.isoformat()}")
    assert "尚未开放预约" in page.text and "3月10日 周二 00:00起可预约" in page.text

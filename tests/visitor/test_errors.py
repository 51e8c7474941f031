"""Errors that name the actual problem, every problem of a form in one pass, and broken links
that answer "no such page"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.admin.test_pages import sign_in
from tests.conftest import TOMORROW, admin_headers
from tests.support import people
from tests.visitor.support import ADULT_BORN, book, child, form_data, open_form
from tests.visitor.test_booking_form import field_error

GOOD = people.resident_id(ADULT_BORN)
WRONG_CHECK = GOOD[:-1] + ("1" if GOOD[-1] != "1" else "2")


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        (WRONG_CHECK, "check_character"),
        ("110105194902300012", "birth_date"),  # 30 February
        ("990105199001010012", "address_code"),
        ("1101051949", "format"),
    ],
)
def test_the_api_names_what_is_wrong_with_a_resident_id(
    client: TestClient, number: str, problem: str
) -> None:
    body = people.booking(TOMORROW, visitors=[people.visitor(id_number=number)])
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_id_number"
    assert error["details"] == {"field": "visitors", "problem": problem}
    english = client.post("/api/v1/bookings", json=body, headers={"Accept-Language": "en"})
    if problem == "check_character":
        assert "校验位" in error["message"] and "18位" not in error["message"]
        assert "check character" in english.json()["error"]["message"]
    if problem == "birth_date":
        assert "出生日期" in error["message"]


def test_the_form_names_a_wrong_check_character(client: TestClient) -> None:
    response = book(client, {"name": "张三丰", "id_type": "resident_id", "id_number": WRONG_CHECK})
    assert response.status_code == 422
    message = field_error(response.text, "id_number-0")
    assert "最后一位（校验位）" in message and "应为18位" not in message


def test_an_empty_form_without_javascript_shows_every_problem_at_once(client: TestClient) -> None:
    # What a browser sends for the untouched form.
    data = {
        **open_form(client),
        "visitor_name": "",
        "visitor_id_type": "resident_id",
        "visitor_id_number": "",
        "phone": "",
        "email": "",
    }
    response = client.post(f"/book/{TOMORROW}", data=data, follow_redirects=False)
    assert response.status_code == 422
    for field in ("slot", "name-0", "id_number-0", "phone", "consent", "sensitive_consent"):
        assert field_error(response.text, field), field
    summary = response.text.split("data-error-summary>", 1)[1].split("</div>", 1)[0]
    assert summary.count("<li>") == 6


def test_a_child_alone_hears_both_problems_at_once(client: TestClient) -> None:
    data = form_data(open_form(client), child(), consents=("consent", "sensitive_consent"))
    response = client.post(f"/book/{TOMORROW}", data=data, follow_redirects=False)
    assert response.status_code == 422
    assert "须与一位成年人" in field_error(response.text, "visitors")
    assert "监护人" in field_error(response.text, "guardian_consent")


def test_every_problem_of_a_mixed_form_in_one_pass(client: TestClient) -> None:
    twice = people.visitor("王五", born=ADULT_BORN, sequence=7)
    data = form_data(
        open_form(client),
        twice,
        dict(twice, name="王五五"),
        {"name": "", "id_type": "passport", "id_number": "AB"},
        slot_id="",
        phone="12345",
        consents=(),
        email="not-an-address",
    )
    response = client.post(f"/book/{TOMORROW}", data=data, follow_redirects=False)
    assert response.status_code == 422
    for field in ("slot", "visitors", "name-2", "id_number-2", "phone", "email", "consent"):
        assert field_error(response.text, field), field
    assert "两次" in field_error(response.text, "visitors")


def test_nothing_is_booked_by_a_form_with_problems(client: TestClient) -> None:
    data = form_data(open_form(client), child(), consents=("consent",))
    client.post(f"/book/{TOMORROW}", data=data, follow_redirects=False)
    days = client.get(f"/api/v1/availability?start={TOMORROW}&end={TOMORROW}").json()["days"]
    assert days[0]["individual"]["booked"] == 0


@pytest.mark.parametrize("path", ["/book/2027-02-30", "/book/garbage", "/book/2026-13-01"])
def test_a_broken_date_link_is_a_missing_page(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "找不到这个页面" in response.text
    assert "日期不存在" in response.text and "提交的内容有误" not in response.text
    assert 'href="/"' in response.text and 'aria-label="主导航"' in response.text
    client.cookies.set("lang", "en")
    english = client.get(path).text
    assert "Page not found" in english and "does not exist" in english


def test_the_api_keeps_its_own_answer_for_a_bad_date(client: TestClient) -> None:
    response = client.get("/api/v1/availability?start=2027-02-30&end=2027-03-01")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_staff_member_refused_an_admin_page_is_led_back_to_the_staff_desk(
    client: TestClient,
) -> None:
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "gate1", "password": "gate-password-123", "role": "staff"},
        headers=admin_headers(client),
    )
    assert created.status_code == 201
    sign_in(client, "gate1", "gate-password-123")
    response = client.get("/admin/rules")
    assert response.status_code == 403
    assert 'class="button" href="/staff"' in response.text
    assert 'class="button" href="/"' not in response.text
    assert "/staff/login?next=" in response.text  # sign in as an admin instead
    assert 'aria-label="工作人员导航"' in response.text


def test_an_unknown_date_in_the_admin_calendar_is_a_missing_page(client: TestClient) -> None:
    sign_in(client)
    response = client.get("/admin/calendar/2027-02-30")
    assert response.status_code == 404
    assert "日期不存在" in response.text and 'href="/staff"' in response.text

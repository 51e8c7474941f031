"""The desk's pages: booking for a visitor without a phone, the booking with its print
links, the print page, a document's bookings (cancel, lift a ban) and the console's bans."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from tests.admin.test_pages import sign_in
from tests.conftest import admin_headers
from tests.desk.helpers import TUESDAY, day_of, desk_body, desk_book, on_tuesday
from tests.gate.factories import STAFF_PASSWORD, staff_account, staff_headers
from tests.jobs.helpers import book, run_at
from tests.rules.test_rules_api import audit_entries
from tests.support import people


def desk_form(token: str, visitors: list[dict[str, str]], **fields: str) -> dict[str, object]:
    return {
        "csrf_token": token,
        "form_key": "desk-form-key-0123456789abcdef",
        "visit_date": TUESDAY.isoformat(),
        "slot_id": "0900",
        "visitor_name": [v["name"] for v in visitors],
        "visitor_id_type": [v["id_type"] for v in visitors],
        "visitor_id_number": [v["id_number"] for v in visitors],
        "consent": "yes",
        "sensitive_consent": "yes",
        **fields,
    }


def staff_sign_in(client: TestClient) -> tuple[str, str]:
    username, _headers = staff_account(client)
    return username, sign_in(client, username, STAFF_PASSWORD)


def test_the_desk_needs_a_staff_session(client: TestClient) -> None:
    response = client.get("/desk", follow_redirects=False)
    assert response.status_code in (302, 303) and "/staff/login" in response.headers["location"]
    assert client.get("/desk/identity", follow_redirects=False).status_code in (302, 303)


def test_booking_a_walk_in_from_the_page(client: TestClient) -> None:
    on_tuesday(client)
    username, token = staff_sign_in(client)
    page = client.get("/desk")
    assert page.status_code == 200
    assert "今天（现场名额）" in page.text and "data-card-reader" in page.text
    assert 'name="slot_id" value="0900" checked' in page.text  # the slot now in progress
    visitor = people.visitor("刘奶奶", born=date(1946, 5, 5))
    blank = {"name": "", "id_type": "resident_id", "id_number": ""}
    posted = client.post("/desk", data=desk_form(token, [visitor, blank]), follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    reference = re.search(r"/desk/bookings/(\w+)\?done=booked", location)
    assert reference, location
    shown = client.get(location)
    assert "已登记" in shown.text and "刘*奶" in shown.text
    assert visitor["id_number"] not in shown.text
    assert "80毫米" in shown.text and "A4" in shown.text
    assert day_of(client, TUESDAY)["walk_in"]["booked"] == 1
    [entry] = audit_entries(client, admin_headers(client), action="desk.booking")
    assert entry["actor"] == username and entry["target"] == reference[1]
    # The same form sent again (a second tap) books nothing more.
    again = client.post("/desk", data=desk_form(token, [visitor, blank]), follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == location
    assert day_of(client, TUESDAY)["walk_in"]["booked"] == 1


def test_a_refused_form_says_what_to_fix_and_keeps_what_was_typed(client: TestClient) -> None:
    on_tuesday(client)
    _username, token = staff_sign_in(client)
    visitor = people.visitor("陈大爷", born=date(1949, 1, 1))
    wrong = {
        **visitor,
        "id_number": visitor["id_number"][:-1] + ("0" if visitor["id_number"][-1] != "0" else "1"),
    }
    refused = client.post("/desk", data=desk_form(token, [wrong], consent=""))
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and "陈大爷" in refused.text
    assert "校验位" in refused.text  # the check character is named


def test_the_print_page_needs_its_signed_link(client: TestClient) -> None:
    on_tuesday(client)
    created = desk_book(client, staff_headers(client), desk_body(language="en")).json()
    url = created["print_url"]
    page = client.get(url)
    assert page.status_code == 200
    assert page.headers["content-language"] == "en"  # in the visitor's language
    assert "Admission ticket" in page.text and "入馆凭证" not in page.text
    assert created["tickets"][0]["ticket_id"] in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "print-receipt" in page.text
    assert "print-a4" in client.get(url + "&paper=a4").text
    forged = client.get(f"/desk/bookings/{created['reference']}/print?sig=0123456789abcdef")
    assert forged.status_code == 404
    assert client.get(f"/desk/bookings/{created['reference']}/print").status_code == 404


def test_the_identity_page_cancels_and_an_admin_lifts_a_ban(client: TestClient) -> None:
    victim = people.visitor("吴十", born=date(1957, 7, 7))
    days = (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12))
    for day in days:
        book(client, day, victim, phone="13700137000")
    for day in days[:2]:
        run_at(client, f"{day.isoformat()}T17:30:00+08:00", "mark-no-shows")
    stolen = book(client, date(2026, 3, 13), victim, phone="13700137000")
    run_at(client, "2026-03-12T17:30:00+08:00", "mark-no-shows")
    _username, token = staff_sign_in(client)
    lookup = {"csrf_token": token, "id_type": "resident_id", "id_number": victim["id_number"]}
    found = client.post("/desk/identity", data=lookup)
    assert found.status_code == 200
    assert "暂停预约至 2026-05-11" in found.text
    assert victim["id_number"] not in found.text  # not even in a hidden field
    assert stolen["reference"] in found.text
    assert "解除暂停预约" not in found.text  # staff cannot lift a ban
    subject = re.search(r'name="subject" value="([^"]+)"', found.text)
    assert subject
    cancelled = client.post(
        "/desk/identity/cancel",
        data={"csrf_token": token, "subject": subject[1], "reference": stolen["reference"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert "已取消" in cancelled.text
    assert client.post(
        "/desk/identity/lift-ban",
        data={"csrf_token": token, "subject": subject[1], "reason": "冒用"},
        follow_redirects=False,
    ).status_code in (302, 303, 403)

    client.cookies.clear()
    admin_token = sign_in(client)
    found = client.post("/desk/identity", data={**lookup, "csrf_token": admin_token})
    subject = re.search(r'name="subject" value="([^"]+)"', found.text)
    assert subject and "解除暂停预约" in found.text
    no_reason = client.post(
        "/desk/identity/lift-ban",
        data={"csrf_token": admin_token, "subject": subject[1], "reason": " "},
    )
    assert no_reason.status_code == 422 and "请填写解除原因" in no_reason.text
    forged = client.post(
        "/desk/identity/lift-ban",
        data={"csrf_token": admin_token, "subject": "x" + subject[1], "reason": "冒用"},
    )
    assert forged.status_code == 422
    lifted = client.post(
        "/desk/identity/lift-ban",
        data={
            "csrf_token": admin_token,
            "subject": subject[1],
            "masked": "4101****",
            "reason": "冒用",
        },
    )
    assert lifted.status_code == 200 and "已解除暂停预约" in lifted.text
    console = client.get("/admin/bans")
    assert console.status_code == 200
    assert "admin" in console.text and "冒用" in console.text and "2026-05-11" in console.text


def test_the_console_lists_bans_in_force_with_the_masked_document(client: TestClient) -> None:
    person = people.visitor("郑一", born=date(1961, 1, 1))
    for day in (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)):
        book(client, day, person)
        run_at(client, f"{day.isoformat()}T17:30:00+08:00", "mark-no-shows")
    sign_in(client)
    page = client.get("/admin/bans")
    assert page.status_code == 200
    assert person["id_number"][:4] + "**********" + person["id_number"][-4:] in page.text
    assert "2026-05-11" in page.text


def test_the_public_pages_say_older_visitors_are_booked_at_the_desk_and_by_phone(
    client: TestClient,
) -> None:
    home = client.get("/")
    assert "没有智能手机？" in home.text and "服务台" in home.text
    assert "电话预约" not in home.text  # no number set: no phone line offered
    admin = admin_headers(client)
    client.patch("/api/v1/admin/rules", json={"museum": {"phone": "0371-6000 0000"}}, headers=admin)
    home = client.get("/")
    assert 'href="tel:0371-60000000"' in home.text and "0371-6000 0000" in home.text
    english = client.get("/", headers={"Accept-Language": "en"})
    assert "No smartphone?" in english.text and "Or book by phone:" in english.text
    form = client.get(f"/book/{date(2026, 3, 10)}")
    assert "没有智能手机？" in form.text and "0371-6000 0000" in form.text
    client.patch("/api/v1/admin/rules", json={"walk_in": {"daily_quota": 0}}, headers=admin)
    assert "当天留有现场名额" not in client.get("/").text

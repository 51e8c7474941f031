"""My bookings: found by phone and document, cancelled within the rules without the token."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from tests.conftest import Service, admin_headers, set_clock, start_in_process
from tests.visitor.support import PHONE, adult, book, book_ok, child, csrf, hidden


def look_up(
    client: TestClient, id_number: str, phone: str = PHONE, id_type: str = "resident_id"
) -> httpx.Response:
    return client.post(
        "/my",
        data={
            "csrf_token": csrf(client),
            "phone": phone,
            "id_type": id_type,
            "id_number": id_number,
        },
    )


def cancel_form(html: str, reference: str) -> dict[str, str]:
    pattern = rf'name="reference" value="{reference}">\s*<input type="hidden" name="grant"'
    match = re.search(pattern + r' value="([^"]+)"', html)
    assert match, "no cancel button for " + reference
    return {"csrf_token": hidden(html, "csrf_token"), "reference": reference, "grant": match[1]}


def test_the_lookup_form_is_a_post_with_labels(client: TestClient) -> None:
    page = client.get("/my")
    assert page.status_code == 200
    assert '<form method="post" action="/my"' in page.text
    for field in ("phone", "id_type", "id_number"):
        assert f'<label for="{field}">' in page.text


def test_a_visitor_finds_and_cancels_a_booking_by_phone_and_document(client: TestClient) -> None:
    grown, kid = adult(), child()
    reference, token = book_ok(client, grown, kid)
    other, _ = book_ok(client, adult("周八", sequence=8), phone="13900139000")
    found = look_up(client, kid["id_number"])  # any visitor's document will do
    assert found.status_code == 200
    html = found.text
    assert reference in html and other not in html
    assert html.count('class="ticket__qr"') == 2 and "张*丰" in html
    # Neither the phone nor the document comes back, not even in hidden fields.
    for secret in (PHONE, grown["id_number"], kid["id_number"], token):
        assert secret not in html
    form = cancel_form(html, reference)
    done = client.post("/my/cancel", data=form)
    assert done.status_code == 200
    assert "预约已取消" in done.text and reference in done.text and "已作废" in done.text
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert booking.json()["status"] == "cancelled"
    # Found again: in the history, without a cancel button.
    again = look_up(client, grown["id_number"]).text
    assert "已结束或已取消的预约（1）" in again and 'name="grant"' not in again


def test_nothing_found_is_said_plainly(client: TestClient) -> None:
    book_ok(client, adult())
    response = look_up(client, adult("吴九", sequence=9)["id_number"])
    assert response.status_code == 200 and "没有找到预约" in response.text


def test_mistyped_lookups_show_the_message_by_the_field(client: TestClient) -> None:
    response = look_up(client, "110105194912310021", phone="12345")
    assert response.status_code == 422
    assert 'id="phone-error"' in response.text and "11位中国大陆手机号码" in response.text
    typo = look_up(client, "110105194912310021")
    assert typo.status_code == 422
    assert 'id="id_number-error"' in typo.text and "最后一位（校验位）" in typo.text
    assert 'value="110105194912310021"' in typo.text  # back in its own field only
    empty = look_up(client, "")
    assert empty.status_code == 422 and "请填写预约时登记的证件号码" in empty.text


def test_a_grant_is_short_lived_and_bound_to_its_booking_and_browser(client: TestClient) -> None:
    grown = adult()
    reference, _ = book_ok(client, grown)
    other, _ = book_ok(client, adult("郑十", sequence=10), phone="13900139000")
    form = cancel_form(look_up(client, grown["id_number"]).text, reference)
    # Not for another booking ...
    assert client.post("/my/cancel", data=dict(form, reference=other)).status_code == 403
    # ... nor from another browser (its own CSRF cookie and token) ...
    stranger = TestClient(client.app)
    stranger_csrf = csrf(stranger)
    stolen = stranger.post("/my/cancel", data=dict(form, csrf_token=stranger_csrf))
    assert stolen.status_code == 403 and "15分钟" in stolen.text
    # ... nor after fifteen minutes.
    set_clock(client, "2026-03-09T10:16:00+08:00")
    late = client.post("/my/cancel", data=form)
    assert late.status_code == 403 and "请重新查询后再取消" in late.text
    assert 'name="grant"' in look_up(client, grown["id_number"]).text  # a new lookup helps


def test_cancelling_after_the_deadline_is_refused_in_plain_words(client: TestClient) -> None:
    grown = adult()
    reference, token = book_ok(client, grown)
    set_clock(client, "2026-03-10T08:50:00+08:00")
    form = cancel_form(look_up(client, grown["id_number"]).text, reference)
    set_clock(client, "2026-03-10T09:00:00+08:00")  # the slot starts: too late to cancel
    refused = client.post("/my/cancel", data=form)
    assert refused.status_code == 409 and "这笔预约已不能取消" in refused.text
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert booking.json()["status"] == "confirmed"


def test_a_booking_cancelled_elsewhere_cannot_be_cancelled_twice(client: TestClient) -> None:
    grown = adult()
    reference, token = book_ok(client, grown)
    form = cancel_form(look_up(client, grown["id_number"]).text, reference)
    client.post(f"/my/{reference}/{token}/cancel", data={"csrf_token": form["csrf_token"]})
    refused = client.post("/my/cancel", data=form)
    assert refused.status_code == 409 and "这笔预约已不能取消" in refused.text


def test_the_page_posts_are_guarded_against_floods_and_bots(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_service.env["RESERVATIONS_RATE_LIMITS"] = "on"
    with start_in_process(sqlite_service, monkeypatch) as client:
        patch = {"protection": {"rate_limit_per_identity": "2/minute", "proof_of_work": "always"}}
        changed = client.patch("/api/v1/admin/rules", json=patch, headers=admin_headers(client))
        assert changed.status_code == 200, changed.text
        grown = adult()
        answers = [look_up(client, grown["id_number"]).status_code for _ in range(3)]
        assert answers == [200, 200, 429]
        # A booking form without the challenge's solution is refused before anything happens.
        refused = book(client, adult("冯十一", sequence=11), phone="13700137000")
        assert refused.status_code == 428 and "challenge_required" in refused.text
    reset_process_state()

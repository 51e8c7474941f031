"""The private management link: tickets, print view, calendar file, cancelling."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import set_clock
from tests.visitor.support import adult, book_ok, child, hidden


def test_the_private_link_shows_one_qr_per_visitor_and_how_to_enter(client: TestClient) -> None:
    reference, token = book_ok(client, adult(), child())
    page = client.get(f"/my/{reference}/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    for ticket in booking.json()["tickets"]:
        url = ticket["qr_png_url"]
        assert f'src="{url}"' in page.text
        assert f'href="{url}" download="ticket-{reference}-' in page.text
    assert 'alt="张*丰的入馆二维码"' in page.text and 'alt="李*四的入馆二维码"' in page.text
    assert "请在 08:30 至 11:00 之间到达并入馆" in page.text
    assert "证件原件" in page.text
    assert f'href="/my/{reference}/{token}/print"' in page.text
    assert f'href="/my/{reference}/{token}/calendar.ics"' in page.text
    assert f"/my/{reference}/{token}" in hidden_link(page.text)
    assert "success__title" not in page.text  # the banner is for the redirect after booking


def hidden_link(html: str) -> str:
    match = re.search(r'id="manage-link" class="mono" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_wrong_token_finds_nothing(client: TestClient) -> None:
    reference, token = book_ok(client, adult())
    for path in (
        f"/my/{reference}/{token}x",
        f"/my/{reference}/{token}x/print",
        f"/my/{reference}/{token}x/calendar.ics",
        f"/my/ZZZZZZZZ/{token}",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "not_found" in response.text, path
        assert "ticket__qr" not in response.text


def test_the_print_view_works_without_javascript(client: TestClient) -> None:
    reference, token = book_ok(client, adult(), child())
    page = client.get(f"/my/{reference}/{token}/print")
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert page.text.count('class="ticket__qr"') == 2
    assert "请使用浏览器菜单中的“打印”" in page.text  # hidden by the script when it runs
    assert 'class="visitor-nav"' not in page.text


def test_the_calendar_file_describes_the_visit_without_personal_data(client: TestClient) -> None:
    grown = adult()
    reference, token = book_ok(client, grown)
    response = client.get(f"/my/{reference}/{token}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert (
        response.headers["content-disposition"] == f'attachment; filename="visit-{reference}.ics"'
    )
    raw = response.content
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    text = raw.decode().replace("\r\n ", "")  # unfold
    lines = text.split("\r\n")
    assert "VERSION:2.0" in lines
    assert f"UID:{reference}@testserver" in lines
    assert "DTSTART:20260310T010000Z" in lines  # 09:00 in Zhengzhou
    assert "DTEND:20260310T030000Z" in lines
    assert "DTSTAMP:20260309T020000Z" in lines
    assert "SUMMARY:参观郑州网络安全科技馆" in lines
    assert "STATUS:CONFIRMED" in lines and "TRIGGER:-P1D" in lines
    assert any(line.startswith("DESCRIPTION:预约号：" + reference) for line in lines)
    for secret in (grown["id_number"], grown["name"], "13800138000", token):
        assert secret not in text
    client.cookies.set("lang", "en")
    english = client.get(f"/my/{reference}/{token}/calendar.ics").content.decode()
    assert "SUMMARY:Visit: Zhengzhou Cybersecurity" in english.replace("\r\n ", "")


def test_cancelling_with_the_private_link_asks_first_then_frees_the_places(
    client: TestClient,
) -> None:
    reference, token = book_ok(client, adult(), child())
    page = client.get(f"/my/{reference}/{token}")
    # The confirmation step: a disclosure holding the form that really cancels.
    assert re.search(
        r'<details class="cancel">\s*<summary class="button button--danger">取消预约</summary>\s*'
        rf'<form method="post" action="/my/{reference}/{token}/cancel"',
        page.text,
    )
    assert "本预约的2个二维码将全部作废" in page.text
    refused = client.post(f"/my/{reference}/{token}/cancel", data={})
    assert refused.status_code == 403
    cancelled = client.post(
        f"/my/{reference}/{token}/cancel",
        data={"csrf_token": hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/my/{reference}/{token}?cancelled=1"
    after = client.get(cancelled.headers["location"])
    assert "预约已取消" in after.text and "已作废" in after.text
    assert 'class="ticket__qr"' not in after.text and "取消预约</summary>" not in after.text
    day = client.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
    assert day["individual"]["booked"] == 0
    calendar = client.get(f"/my/{reference}/{token}/calendar.ics").text
    assert "STATUS:CANCELLED" in calendar


def test_after_the_deadline_the_page_says_it_can_no_longer_be_cancelled(
    client: TestClient,
) -> None:
    reference, token = book_ok(client, adult())
    csrf_token = hidden(client.get(f"/my/{reference}/{token}").text, "csrf_token")
    set_clock(client, "2026-03-10T09:05:00+08:00")
    page = client.get(f"/my/{reference}/{token}")
    assert "取消预约</summary>" not in page.text
    response = client.post(f"/my/{reference}/{token}/cancel", data={"csrf_token": csrf_token})
    assert response.status_code == 409
    assert "这笔预约已不能取消" in response.text
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    assert booking.json()["status"] == "confirmed"


def test_the_ticket_number_is_printed_right_under_its_qr(client: TestClient) -> None:
    """What staff type at the gate when the code will not scan: the ticket's ticket_id."""
    reference, token = book_ok(client, adult(), child())
    booking = client.get(f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
    for view in (f"/my/{reference}/{token}", f"/my/{reference}/{token}/print"):
        html = client.get(view).text
        for ticket in booking.json()["tickets"]:
            assert re.search(
                rf'<img class="ticket__qr" src="{re.escape(ticket["qr_png_url"])}"[^>]*>\s*'
                rf'<p class="ticket__no">票号 <span class="mono">{ticket["ticket_id"]}</span></p>',
                html,
            ), view

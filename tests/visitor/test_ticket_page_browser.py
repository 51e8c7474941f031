"""The ticket page in Chromium at a phone's size: the QR codes come first, large and black on
white; a cancelled booking reads as cancelled."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.conftest import TOMORROW, LiveServer
from tests.support import people
from tests.visitor.test_browser import decode_qr, phone_page


def relative_luminance(value: int) -> float:
    channel = value / 255
    return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4


def book_two(live: LiveServer) -> dict[str, Any]:
    body = people.booking(
        TOMORROW, visitors=[people.visitor("张三丰"), people.visitor("李四", sequence=9)]
    )
    response = httpx.post(f"{live.base_url}/api/v1/bookings", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_codes_come_first_then_a_cancelled_booking_reads_as_cancelled(
    browser: Any, live: LiveServer
) -> None:
    booking = book_two(live)
    link = f"{live.base_url}/my/{booking['reference']}/{booking['manage_token']}"
    page, problems = phone_page(browser)
    page.goto(link)
    codes = page.locator("img.ticket__qr")
    assert codes.count() == 2
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.ticket__qr'))"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    first = codes.nth(0).bounding_box()
    viewport = page.viewport_size
    # On the first screen, before the details and the instructions, nearly the screen's width.
    assert first["y"] + first["height"] <= viewport["height"]
    assert first["width"] >= 0.75 * viewport["width"]
    for section in ("#summary-title", "#entry-title"):
        assert page.locator(section).bounding_box()["y"] > first["y"] + first["height"]
    # Each card: its code, then whose it is.
    card = page.locator("li.ticket").nth(0)
    assert card.locator(":scope > *").first.evaluate("e => e.tagName") == "IMG"
    assert "张*丰" in card.inner_text()

    picture = Image.open(io.BytesIO(codes.nth(0).screenshot())).convert("L")
    darkest, lightest = picture.getextrema()
    contrast = (relative_luminance(lightest) + 0.05) / (relative_luminance(darkest) + 0.05)
    assert contrast >= 15, contrast
    assert decode_qr(codes.nth(0).screenshot()) == booking["tickets"][0]["qr_payload"]

    cancelled = httpx.post(
        f"{live.base_url}/api/v1/bookings/{booking['reference']}/cancel",
        headers={"X-Booking-Token": booking["manage_token"]},
    )
    assert cancelled.status_code == 200
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "预约已取消"
    assert page.get_by_role("status").is_visible()
    assert page.locator("img.ticket__qr").count() == 0
    assert page.locator("summary", has_text="取消预约").count() == 0
    assert "取消" not in page.locator("#manage-link-hint").inner_text()
    assert page.get_by_role("heading", name="已作废的二维码").is_visible()
    assert page.locator(".ticket .badge").all_inner_texts() == ["已作废", "已作废"]
    assert not problems, problems
    page.context.close()

"""The desk in headless Chromium: its pages in both languages pass axe-core and fit 320 px,
a card reader's Enter moves on instead of sending the form, and the printed tickets (an
80 mm receipt and A4, through Chromium's print to PDF) carry a QR code a decoder reads."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from PIL import Image

from tests.conftest import LiveServer, set_clock
from tests.desk.helpers import TUESDAY_MORNING, desk_body
from tests.gate.factories import staff_headers
from tests.support import people
from tests.web.test_accessibility_browser import AXE_OPTIONS, check_pages, new_page, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def desk_booking(live: LiveServer, visitor: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A walk-in booked through the API on Tuesday morning, the museum open."""
    with live.client() as api:
        set_clock(api, TUESDAY_MORNING)
        body = desk_body(visitors=[visitor], **extra)
        response = api.post("/api/v1/desk/bookings", json=body, headers=staff_headers(api))
        assert response.status_code == 201, response.text
        return dict(response.json())


def axe_violations(page: Any) -> list[str]:
    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{page.url}: {violation['id']} {[node['target'] for node in violation['nodes']][:3]}"
        for violation in results.response["violations"]
    ]


def test_the_desk_pages_in_both_languages(browser: Any, live: LiveServer) -> None:
    visitor = people.visitor("黄奶奶", born=date(1947, 8, 8))
    created = desk_booking(live, visitor)
    paths = [
        "/desk",
        f"/desk/bookings/{created['reference']}",
        created["print_url"],
        created["print_url"] + "&paper=a4",
        "/desk/identity",
        "/admin/bans",
    ]
    problems: list[str] = []
    for language in ("zh", "en"):
        for viewport in (PHONE, DESKTOP):
            page = new_page(browser, viewport, language, live)
            sign_in(page, live)
            problems += check_pages(page, live, paths, viewport)
            # What a lookup answers: the document's bookings, with a cancel button each.
            page.set_viewport_size(viewport)
            page.goto(f"{live.base_url}/desk/identity")
            page.fill("#id_number", visitor["id_number"])
            page.click("button.desk-submit")
            page.wait_for_selector("#bookings-heading")
            assert visitor["id_number"] not in page.content()
            problems += axe_violations(page)
            page.set_viewport_size({"width": 320, "height": 640})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"identity results: {overflow}px sideways at 320px")
            page.context.close()
    assert problems == [], "\n".join(problems)


def test_a_card_reader_fills_the_form_and_the_desk_books(browser: Any, live: LiveServer) -> None:
    with live.client() as api:
        set_clock(api, TUESDAY_MORNING)
    for language, heading, booked in (
        ("zh", "服务台代预约", "已登记"),
        ("en", "Book at the desk", "Booked."),
    ):
        visitor = people.visitor("马爷爷", born=date(1944, 4, 4))
        page = new_page(browser, {"width": 320, "height": 640}, language, live)
        sign_in(page, live)
        page.goto(f"{live.base_url}/desk")
        assert page.locator("h1").inner_text() == heading
        page.fill("#name-0", visitor["name"])
        page.focus("#id_number-0")
        # A keyboard-wedge reader types the number and presses Enter.
        page.keyboard.type(visitor["id_number"])
        page.keyboard.press("Enter")
        assert page.url.endswith("/desk")  # not sent
        assert page.evaluate("document.activeElement.id") == "name-1"
        page.check("#consent")
        page.check("#sensitive_consent")
        page.click("button.desk-submit")
        page.wait_for_selector("text=" + booked)
        assert "/desk/bookings/" in page.url
        assert visitor["id_number"] not in page.content()
        page.context.close()


def decoded_pages(pdf: bytes, tmp_path: Path, name: str) -> list[list[str]]:
    """The QR codes a decoder reads on each page of ``pdf``, rendered as a printer would."""
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", str(source), str(tmp_path / name)],
        check=True,
        timeout=60,
    )
    found = []
    for image in sorted(tmp_path.glob(f"{name}-*.png")):
        picture = Image.open(io.BytesIO(image.read_bytes())).convert("L")
        codes = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
        found.append([code.text for code in codes])
    return found


def test_the_printed_tickets_scan(browser: Any, live: LiveServer, tmp_path: Path) -> None:
    family = [people.visitor("林奶奶", born=date(1950, 2, 2)), people.visitor("林爷爷")]
    with live.client() as api:
        set_clock(api, TUESDAY_MORNING)
        response = api.post(
            "/api/v1/desk/bookings", json=desk_body(visitors=family), headers=staff_headers(api)
        )
        assert response.status_code == 201, response.text
    created = response.json()
    payloads = [ticket["qr_payload"] for ticket in created["tickets"]]
    page = new_page(browser, PHONE, "zh", live)  # no session: the signed link is enough
    for paper in ("receipt", "a4"):
        page.goto(f"{live.base_url}{created['print_url']}&paper={paper}")
        page.wait_for_load_state("networkidle")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        pages = decoded_pages(pdf, tmp_path, paper)
        if paper == "receipt":
            # One slip per visitor, each with its own code.
            assert pages == [[payloads[0]], [payloads[1]]], pages
        else:
            assert sorted(code for codes in pages for code in codes) == sorted(payloads)
    page.context.close()

"""A member of staff admits visitors through the scanner page in real headless Chromium:
with a scanner that types the code and Enter, and with the camera (Chromium's fake video
capture playing a frame that shows the ticket's QR code)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, set_clock
from tests.gate.factories import OPENING, STAFF_PASSWORD, book, book_people, scan, staff_account
from tests.support import people


def _prepare(live: LiveServer, visitors: int = 1) -> tuple[dict[str, Any], str, dict[str, str]]:
    """A booking for the first slot, the clock at its opening, and a staff account."""
    with live.client() as client:
        booking = book(client, visitors=visitors)
        set_clock(client, OPENING)
        username, headers = staff_account(client)
    return booking, username, headers


def _sign_in(page: Any, live: LiveServer, username: str) -> None:
    page.goto(f"{live.base_url}/gate")
    assert "/staff/login" in page.url
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live.base_url}/gate")
    page.wait_for_selector("#scanner[data-ready='true']")


@pytest.mark.browser
def test_staff_admit_a_visitor_with_a_keyboard_scanner(browser, live: LiveServer) -> None:
    booking, username, headers = _prepare(live, visitors=2)
    first, second = (ticket["qr_payload"] for ticket in booking["tickets"])
    page = browser.new_page(locale="zh-CN")
    try:
        _sign_in(page, live, username)
        # The scanner types the code and Enter into the focused field.
        assert page.evaluate("document.activeElement.id") == "payload"
        page.keyboard.type(first)
        page.keyboard.press("Enter")
        page.wait_for_selector("#verdict[data-state='ok']")
        assert "准许入馆" in page.inner_text("#verdict-headline")
        assert page.inner_text("#verdict-name") == booking["tickets"][0]["visitor"]["name"]
        assert page.inner_text("#verdict-id") == booking["tickets"][0]["visitor"]["id_masked"]
        assert page.inner_text("#verdict-party") == "1 人"
        assert page.inner_text("#occupancy-inside") == "1"
        assert page.input_value("#payload") == ""

        # Focus lost to a click on the page: the scanner's keystrokes still land.
        page.click("h1")
        page.keyboard.type(first)
        page.keyboard.press("Enter")
        page.wait_for_selector("#verdict[data-state='bad'][data-reason='already_used']")
        assert "门票已使用" in page.inner_text("#verdict-headline")
        assert "主入口" in page.inner_text("#verdict-entered")  # when and through which gate
        assert page.locator("#recent li").count() == 2

        # Another gate admits the second visitor: this page's count follows within seconds.
        with live.client() as client:
            assert scan(client, headers, second, gate="west-1")["admitted"] is True
        expect(page.locator("#occupancy-inside")).to_have_text("2", timeout=8000)

        # The first visitor leaves through this gate: staff switch the direction and scan.
        page.get_by_label("出馆").check()
        page.keyboard.type(first)
        page.keyboard.press("Enter")
        page.wait_for_selector("#verdict[data-state='ok']")
        assert "已离馆" in page.inner_text("#verdict-headline")
        assert page.inner_text("#occupancy-inside") == "1"
    finally:
        page.close()


def _y4m_showing(png: bytes, path: Path) -> None:
    """A 640x480 4:2:0 Y4M clip of the QR code on white: Chromium's fake camera plays it."""
    width, height = 640, 480
    code = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 40
    frame = Image.new("L", (width, height), 255)
    frame.paste(code.resize((side, side), Image.Resampling.NEAREST), ((width - side) // 2, 20))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(2):
            handle.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.mark.browser
def test_staff_admit_a_visitor_with_the_camera(browser, live: LiveServer, tmp_path: Path) -> None:
    booking, username, _headers = _prepare(live)
    ticket = booking["tickets"][0]
    png = httpx.get(f"{live.base_url}{ticket['qr_png_url']}").content
    clip = tmp_path / "ticket.y4m"
    _y4m_showing(png, clip)
    camera_args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    # A browser of its own: the fake camera is chosen when Chromium starts.
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *camera_args]
    )
    try:
        context = with_camera.new_context(locale="zh-CN")
        context.grant_permissions(["camera"], origin=live.base_url)
        page = context.new_page()
        _sign_in(page, live, username)
        page.get_by_role("button", name="使用摄像头").click()
        page.wait_for_selector("#verdict[data-state='ok']", timeout=20000)
        assert "准许入馆" in page.inner_text("#verdict-headline")
        assert page.inner_text("#verdict-name") == ticket["visitor"]["name"]
        # Debian's Chromium has no BarcodeDetector for QR codes: the vendored decoder read it.
        assert page.get_attribute("#scanner", "data-decoder") in ("jsqr", "barcode-detector")
        # The code stays in view: read again and again (ten more frames), sent only once.
        expect(page.locator("#scanner")).to_have_attribute(
            "data-camera-repeats", re.compile(r"^[1-9][0-9]+$"), timeout=30000
        )
        assert page.locator("#recent li").count() == 1
        page.get_by_role("button", name="关闭摄像头").click()
        assert page.get_attribute("#scanner", "data-camera") == "off"
        context.close()
    finally:
        with_camera.close()


def _no_violations(page: Any) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _fits(page: Any, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling at a phone's width."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, scroll_width


@pytest.mark.browser
def test_staff_admit_by_card_reader_and_ticket_number_in_both_languages(
    browser, live: LiveServer
) -> None:
    adult, child = people.resident_id(date(1985, 3, 1)), people.resident_id(date(2016, 6, 1))
    with live.client() as client:
        family = book_people(
            client,
            [
                people.visitor(name="王大明", id_number=adult),
                people.visitor(name="王小红", id_number=child),
            ],
        )
        party = book(client, visitors=3)
        other = book(client, visitors=2)
        set_clock(client, OPENING)
        username, _headers = staff_account(client)
    page = browser.new_page(locale="zh-CN")
    try:
        _sign_in(page, live, username)
        # The child's card first: refused without an adult of the booking inside.
        page.get_by_label("证件号码").click()
        page.keyboard.type(child)  # a keyboard-wedge card reader types the number ...
        page.keyboard.press("Enter")  # ... and Enter
        page.wait_for_selector("#verdict[data-state='bad'][data-reason='guardian_required']")
        assert "成年人陪同" in page.inner_text("#verdict-headline")
        assert page.input_value("#document-number") == ""
        # The adult's card read into the code field (the reader typed where the focus was):
        # it goes as a document all the same.
        page.locator("#payload").focus()
        page.keyboard.type(adult)
        page.keyboard.press("Enter")
        page.wait_for_selector("#verdict[data-state='ok']")
        assert page.inner_text("#verdict-name") == family["tickets"][0]["visitor"]["name"]
        assert page.inner_text("#verdict-id") == family["tickets"][0]["visitor"]["id_masked"]
        assert adult not in page.content() and child not in page.content()
        page.evaluate("document.getElementById('verdict').setAttribute('data-state', 'seen')")

        # A code that will not scan: the printed number, looked up, the name compared.
        page.get_by_label("门票号码").fill(other["tickets"][0]["ticket_id"].lower())
        page.get_by_label("门票号码").press("Enter")
        page.wait_for_selector("#lookup[data-state='ok']")
        assert page.inner_text("#lookup-name") == other["tickets"][0]["visitor"]["name"]
        assert "可以入馆" in page.inner_text("#lookup-status")
        assert page.locator("#lookup-companions li").count() == 1
        assert page.evaluate("document.activeElement.id") == "lookup-admit"
        _no_violations(page)
        page.get_by_role("button", name="核对无误，准许入馆").click()
        page.wait_for_selector("#verdict[data-state='ok']")
        assert page.is_hidden("#lookup")
        page.evaluate("document.getElementById('verdict').setAttribute('data-state', 'seen')")

        # A family together: one scan, all of them.
        page.get_by_label("同一预约未入馆的人一同入馆").check()
        page.locator("#payload").fill(party["tickets"][1]["qr_payload"])
        page.locator("#payload").press("Enter")
        page.wait_for_selector("#verdict[data-state='ok']")
        assert page.inner_text("#verdict-people") == "本次入馆 3 人"
        assert "本次入馆：" in page.inner_text("#verdict-party-line")
        assert not page.is_checked("#party")
        assert page.inner_text("#occupancy-inside") == "5"
        _no_violations(page)

        page.goto(f"{live.base_url}/lang/en?next=/gate")
        page.wait_for_selector("#scanner[data-ready='true']")
        assert page.inner_text("#document-title") == "Entry by identity document"
        page.get_by_label("Ticket number", exact=True).fill(other["tickets"][0]["ticket_id"])
        page.get_by_role("button", name="Look up").click()
        page.wait_for_selector("#lookup[data-state='bad'][data-reason='already_used']")
        assert "already used" in page.inner_text("#lookup-status")
        assert page.is_hidden("#lookup-admit")
        page.get_by_label("Ticket number", exact=True).fill("ZZZZZZZZZZZZ")
        page.get_by_label("Ticket number", exact=True).press("Enter")
        page.wait_for_selector("#lookup[data-reason='invalid']")
        assert "No ticket has this number" in page.inner_text("#lookup-status")
        page.get_by_label("Document number").fill(people.resident_id(date(1970, 1, 1)))
        page.get_by_label("Document number").press("Enter")
        page.wait_for_selector("#verdict[data-state='bad'][data-reason='no_booking']")
        assert "No booking today" in page.inner_text("#verdict-headline")
        _no_violations(page)
        page.set_viewport_size({"width": 320, "height": 640})
        _fits(page, 320)
        _no_violations(page)
        page.goto(f"{live.base_url}/lang/zh?next=/gate")
        page.wait_for_selector("#scanner[data-ready='true']")
        _fits(page, 320)
        _no_violations(page)
    finally:
        page.close()

"""A member of staff admits visitors through the scanner page in real headless Chromium:
with a scanner that types the code and Enter, and with the camera (Chromium's fake video
capture playing a frame that shows the ticket's QR code)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, set_clock
from tests.gate.factories import OPENING, STAFF_PASSWORD, book, scan, staff_account


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

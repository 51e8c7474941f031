"""The visitor's pages in real headless Chromium at a phone's size, JavaScript on."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from tests.conftest import PHONE_VIEWPORT, LiveServer
from tests.support import people
from tests.visitor.support import ADULT_BORN, CHILD_BORN


def phone_page(browser: Any, locale: str = "zh-CN") -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=PHONE_VIEWPORT, locale=locale, device_scale_factor=2)
    page = context.new_page()
    problems: list[str] = []
    # Console errors include what the content security policy blocks.
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and problems.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Pages may answer 4xx (a refused form); what they load must not.
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and response.request.resource_type != "document"
            and problems.append(f"{response.status} {response.url}")
        ),
    )
    return page, problems


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert results, "no QR code found in the image"
    return str(results[0].text)


def test_book_for_an_adult_and_a_child_see_and_decode_the_qr_then_cancel(
    browser: Any, live: LiveServer
) -> None:
    adult_id = people.resident_id(ADULT_BORN)
    child_id = people.resident_id(CHILD_BORN)
    page, problems = phone_page(browser)
    page.goto(f"{live.base_url}/")
    assert fits_the_screen(page)
    page.locator('a[href="/book/2026-03-10?slot=0900"]').click()
    page.wait_for_url("**/book/2026-03-10?slot=0900")
    assert page.get_by_role("radio", name=re.compile("09:00–11:00")).is_checked()

    first = page.get_by_role("group", name="参观者 1")
    first.get_by_label("姓名").fill("张三丰")
    first.get_by_label("证件号码").fill(adult_id[:-1] + ("1" if adult_id[-1] != "1" else "2"))
    first.get_by_label("证件号码").blur()
    # Checked as typed, in the server's words, before anything is sent.
    assert "校验位" in page.locator("#id_number-0-error").inner_text()
    first.get_by_label("证件号码").fill(adult_id)
    assert page.locator("#id_number-0-error").count() == 0

    guardian = page.get_by_role("checkbox", name=re.compile("未满14周岁儿童的父母"))
    assert not guardian.is_visible()  # no child yet
    page.get_by_role("button", name="＋ 添加同行人").click()
    second = page.get_by_role("group", name="参观者 2")
    assert second.get_by_label("姓名").evaluate("element => element === document.activeElement")
    second.get_by_label("姓名").fill("李小四")
    second.get_by_label("证件号码").fill(child_id)
    assert guardian.is_visible()  # a seven-year-old is in the booking

    page.get_by_label("手机号码").fill("138 0013 8000")
    page.get_by_role("checkbox", name="我已阅读并同意《个人信息处理规则》。").check()
    page.get_by_role("checkbox", name=re.compile("我单独同意")).check()
    guardian.check()
    assert fits_the_screen(page)
    page.get_by_role("button", name="提交预约").click()
    page.wait_for_url(re.compile(r"/my/[A-Z0-9]{8}/[\w-]+\?booked=1$"))
    assert page.get_by_role("heading", name="预约成功").is_visible()
    # The private link, as the address bar keeps it for a bookmark: no ?booked=1.
    page.wait_for_function("!window.location.search")
    link = re.fullmatch(rf"{live.base_url}/my/([A-Z0-9]{{8}})/([\w-]+)", page.url)
    assert link, page.url
    reference, token = link.groups()
    booking = httpx.get(
        f"{live.base_url}/api/v1/bookings/{reference}", headers={"X-Booking-Token": token}
    ).json()
    images = page.locator("img.ticket__qr")
    assert images.count() == 2
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.ticket__qr'))"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    assert images.nth(0).get_attribute("alt") == "张*丰的入馆二维码"
    for index, ticket in enumerate(booking["tickets"]):
        # What the visitor sees: the image as the page shows it.
        assert decode_qr(images.nth(index).screenshot()) == ticket["qr_payload"]
    assert fits_the_screen(page)
    # "Save image" saves the whole ticket (QR, masked name, date, slot) as one picture.
    with page.expect_download() as saved:
        page.get_by_role("link", name="保存图片").first.click()
    assert saved.value.suggested_filename == f"ticket-{reference}-1.png"
    ticket_image = Path(saved.value.path()).read_bytes()
    assert decode_qr(ticket_image) == booking["tickets"][0]["qr_payload"]
    assert Image.open(io.BytesIO(ticket_image)).height > Image.open(io.BytesIO(ticket_image)).width

    # Later: find the booking by phone and the child's document, and cancel it.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的预约").click()
    page.get_by_label("手机号码").fill("13800138000")
    page.get_by_label("证件类型").select_option("resident_id")
    page.get_by_label("证件号码").fill(child_id)
    page.get_by_role("button", name="查询").click()
    assert page.get_by_text(reference).first.is_visible()
    assert page.locator("img.ticket__qr").count() == 2
    confirm = page.get_by_role("button", name="确认取消")
    assert not confirm.is_visible()  # asked first
    page.locator("summary", has_text="取消预约").click()
    confirm.click()
    assert page.get_by_role("heading", name="预约已取消").is_visible()
    after = httpx.get(
        f"{live.base_url}/api/v1/bookings/{reference}", headers={"X-Booking-Token": token}
    ).json()
    assert after["status"] == "cancelled"
    assert not problems, problems
    page.context.close()


def test_switch_to_english_and_see_the_form_and_a_refusal_in_english(
    browser: Any, live: LiveServer
) -> None:
    page, problems = phone_page(browser)
    page.goto(f"{live.base_url}/book/2026-03-11")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/book/2026-03-11")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Your booking").is_visible()
    page.get_by_role("radio", name=re.compile("13:00–15:00")).check()
    visitor = page.get_by_role("group", name="Visitor 1")
    visitor.get_by_label("Name").fill("Li Xiaosi")
    visitor.get_by_label("Document number").fill(people.resident_id(CHILD_BORN))
    page.get_by_label("Phone").fill("13900139000")
    page.get_by_role("checkbox", name=re.compile("I have read and accept")).check()
    page.get_by_role("checkbox", name=re.compile("I separately consent")).check()
    page.get_by_role("checkbox", name=re.compile("I am a parent or other guardian")).check()
    page.get_by_role("button", name="Book", exact=True).click()
    message = page.locator("#visitors-error")
    message.wait_for()
    assert "Children under 14 must be booked together with an adult" in message.inner_text()
    # Said in the browser, before anything was sent, at the field to fix.
    assert visitor.get_by_label("Name").evaluate("element => element === document.activeElement")
    assert "visitors-error" in visitor.get_by_label("Name").get_attribute("aria-describedby")
    # What was typed is still there to fix.
    assert visitor.get_by_label("Name").input_value() == "Li Xiaosi"
    assert fits_the_screen(page)
    assert not problems, problems
    page.context.close()

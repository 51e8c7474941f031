"""With JavaScript on, the booking form still says every problem at once, in the server's
words, before anything is sent."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import TOMORROW, LiveServer
from tests.support import people
from tests.visitor.support import ADULT_BORN, CHILD_BORN
from tests.visitor.test_browser import phone_page


def test_every_problem_at_once_in_the_browser(browser: Any, live: LiveServer) -> None:
    page, problems = phone_page(browser)
    page.goto(f"{live.base_url}/book/{TOMORROW}")
    sent: list[str] = []
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))

    page.get_by_role("button", name="提交预约").click()
    for field in ("slot", "name-0", "id_number-0", "phone", "consent", "sensitive_consent"):
        assert page.locator(f"#{field}-error").is_visible(), field

    # A child alone, with a mistyped check character beside: all said in one go.
    child = page.get_by_role("group", name="参观者 1")
    child.get_by_label("姓名").fill("李小四")
    child.get_by_label("证件号码").fill(people.resident_id(CHILD_BORN))
    page.get_by_role("button", name="＋ 添加同行人").click()
    other = page.get_by_role("group", name="参观者 2")
    other.get_by_label("姓名").fill("张三丰")
    good = people.resident_id(ADULT_BORN)
    other.get_by_label("证件号码").fill(good[:-1] + ("1" if good[-1] != "1" else "2"))
    page.get_by_role("button", name="提交预约").click()
    assert "校验位" in page.locator("#id_number-1-error").inner_text()
    assert "须与一位成年人" in page.locator("#visitors-error").inner_text()
    assert page.locator("#guardian_consent-error").is_visible()
    assert page.locator("#consent-error").is_visible()
    assert sent == []  # nothing left the browser
    assert re.search(r"/book/2026-03-10$", page.url)
    assert not problems, problems
    page.context.close()


def test_each_document_is_checked_by_its_kind_as_typed(browser: Any, live: LiveServer) -> None:
    """The script checks with the patterns and words of the server's registry of documents,
    which the page hands it: none is copied into the script."""
    page, problems = phone_page(browser, locale="en-US")
    page.goto(f"{live.base_url}/book/{TOMORROW}")
    row = page.get_by_role("group", name="Visitor 1")
    kind = row.get_by_label("Document type")
    number = row.get_by_label("Document number")
    error = page.locator("#id_number-0-error")

    kind.select_option("hk_macau_permit")
    number.fill("X1234567")
    number.blur()
    assert "H or M followed by 8 (or 10) digits" in error.inner_text()
    number.fill("h1234 5678")  # checked again as typed, in its canonical form
    assert error.count() == 0
    kind.select_option("taiwan_permit")  # another kind: the same number checked again
    assert "8 (or 10) digits" in error.inner_text()
    kind.select_option("passport")
    assert error.count() == 0
    kind.select_option("resident_id")
    assert "18 characters" in error.inner_text()
    number.fill(people.resident_id(ADULT_BORN))
    assert error.count() == 0
    assert not problems, problems
    page.context.close()

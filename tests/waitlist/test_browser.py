"""The whole waiting list in headless Chromium, against the real server and a real SMTP
server: a visitor finds the sold-out day on the calendar, joins through the form, is told
of the returned place by e-mail, opens the link, confirms and sees the tickets. axe-core
finds nothing on the waiting list's pages (visitor and console, both languages)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PHONE_VIEWPORT, TOMORROW, LiveServer, Service, admin_headers
from tests.notifications.conftest import MailServer
from tests.support import people
from tests.support.server import launch
from tests.support.waiting import eventually
from tests.visitor.support import ADULT_BORN
from tests.waitlist.helpers import cancel, fill
from tests.web.test_accessibility_browser import DESKTOP, check_pages, new_page, sign_in

pytestmark = pytest.mark.server

NAME = "欧阳娜月"


@pytest.fixture
def told_live(
    sqlite_service: Service, mail_server: MailServer, tmp_path: Path
) -> Iterator[LiveServer]:
    """The service as a real process that sends its e-mail to the test's SMTP server."""
    sqlite_service.env.update(mail_server.env())
    server = launch(sqlite_service.env, tmp_path, workers=1)
    try:
        yield server
    finally:
        log = server.stop()
        assert "Traceback" not in log, log[-3000:]


def offer_link(mail: MailServer, address: str) -> str:
    """The private link of the offer e-mailed to ``address``, once it has arrived."""

    def arrived() -> str | None:
        for message in mail.inbox.messages:
            if message["To"] == address:
                found = re.search(r"https?://\S+/waitlist/entry/[^\s。]+", message.get_content())
                assert found, message.get_content()
                return found[0]
        return None

    return eventually(arrived)


def axe_in_both_languages(
    browser: Any, live: LiveServer, paths: list[str], staff: bool = False
) -> list[str]:
    """What axe-core and the 320 px check find on ``paths``, in Chinese and in English."""
    viewport = DESKTOP if staff else PHONE_VIEWPORT
    problems: list[str] = []
    for language in ("zh", "en"):
        page = new_page(browser, viewport, language, live)
        if staff:
            sign_in(page, live)
        problems += check_pages(page, live, paths, viewport)
        page.context.close()
    return problems


def test_join_be_told_by_email_confirm_and_see_the_tickets(
    browser: Any, told_live: LiveServer, mail_server: MailServer
) -> None:
    live = told_live
    with httpx.Client(base_url=live.base_url) as api:
        [booking] = fill(api, 1)
        admin = admin_headers(api)
    page = browser.new_context(viewport=PHONE_VIEWPORT, locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The calendar sends the sold-out day's visitors to its waiting list.
    page.goto(f"{live.base_url}/")
    page.locator(f'a.button[href="/waitlist/{TOMORROW}"]').click()
    page.wait_for_url(f"**/waitlist/{TOMORROW}")
    first = page.get_by_role("group", name="参观者 1")
    first.get_by_label("姓名").fill(NAME)
    first.get_by_label("证件号码").fill(people.resident_id(ADULT_BORN))
    page.get_by_label("手机号码").fill("139 1234 5678")
    page.get_by_label("电子邮箱（选填）").fill("nayue@example.com")
    page.get_by_role("checkbox", name="我已阅读并同意《个人信息处理规则》。").check()
    page.get_by_role("checkbox", name=re.compile("我单独同意")).check()
    page.get_by_role("button", name="加入候补", exact=True).last.click()
    page.wait_for_url(re.compile(r"/waitlist/entry/[A-Z0-9]+/[\w-]+\?joined=1$"))
    assert page.get_by_role("heading", name="已加入候补名单").is_visible()
    assert "第1位" in page.content() and "139****5678" in page.content()
    entry_path = page.url.removeprefix(live.base_url).split("?")[0]
    problems = axe_in_both_languages(browser, live, [f"/waitlist/{TOMORROW}", entry_path])

    # A place comes back: the offer arrives by e-mail with the private link.
    with httpx.Client(base_url=live.base_url) as api:
        cancel(api, booking)
    link = offer_link(mail_server, "nayue@example.com")
    assert link == f"{live.base_url}{entry_path}"
    page.goto(link)
    assert page.get_by_role("heading", name="为您保留了名额").is_visible()
    problems += axe_in_both_languages(browser, live, [entry_path])
    page.get_by_role("button", name="确认预约").click()
    # The booking's own private link (the page drops its ?booked=1 from the address bar).
    page.wait_for_url(re.compile(r"/my/[A-Z0-9]{8}/[\w-]+(\?booked=1)?$"))
    assert page.get_by_role("heading", name="预约成功").is_visible()
    images = page.locator("img.ticket__qr")
    assert images.count() == 1
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.ticket__qr'))"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    # The entry's own link now shows the booking and its tickets too.
    page.goto(link)
    assert page.get_by_role("heading", name="候补成功，已确认预约").is_visible()
    assert page.locator("img.ticket__qr").count() == 1
    assert errors == []
    page.context.close()

    with httpx.Client(base_url=live.base_url) as api:
        entries = api.get(f"/api/v1/admin/waiting-list?date={TOMORROW}", headers=admin)
    [entry] = entries.json()["entries"]
    assert entry["status"] == "booked" and "email" in entry["notified_by"]

    problems += axe_in_both_languages(browser, live, [entry_path])
    problems += axe_in_both_languages(
        browser, live, ["/admin/waiting-list", f"/admin/waiting-list?date={TOMORROW}"], staff=True
    )
    assert problems == [], "\n".join(problems)

"""In Chromium: a leader requests a visit on a phone, an admin approves it in the review
queue, and the leader's page then shows the team ticket."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, PHONE_VIEWPORT, TOMORROW, LiveServer
from tests.teams import factories


@pytest.mark.browser
def test_leader_requests_and_admin_approves_in_chromium(browser, live: LiveServer) -> None:
    problems: list[str] = []
    body = factories.team_request(TOMORROW, size=35)
    leader = body["leader"]

    phone = browser.new_context(locale="zh-CN", viewport=PHONE_VIEWPORT)
    page = phone.new_page()
    page.on("console", lambda m: problems.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{live.base_url}/teams")
    page.get_by_label("日期和时段").select_option(f"{TOMORROW}|0900")
    page.get_by_label("单位名称").fill(body["organization"])
    page.get_by_label("团队人数（含领队）").fill("35")
    page.get_by_label("领队姓名").fill(leader["name"])
    page.get_by_label("证件号码", exact=True).fill(leader["id_number"])
    page.get_by_label("领队手机号").fill(leader["phone"])
    page.get_by_label("我已阅读并同意上述个人信息处理规则。").check()
    page.get_by_label("我单独同意本馆为实名核验处理上述证件号码（敏感个人信息）。").check()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r".*/teams/requests/[0-9A-Z]{8}$"))
    reference = page.url.rsplit("/", 1)[1]
    assert page.get_by_text("待审核").first.is_visible()
    assert page.get_by_role("heading", name=body["organization"]).is_visible()

    desk = browser.new_context(locale="zh-CN")
    admin = desk.new_page()
    admin.on("console", lambda m: problems.append(m.text) if "Content Security" in m.text else None)
    admin.goto(f"{live.base_url}/admin/team-bookings")
    assert "/staff/login" in admin.url
    admin.get_by_label("用户名").fill(ADMIN_USERNAME)
    admin.get_by_label("密码").fill(ADMIN_PASSWORD)
    # The sign-in's answer first, with a wait that allows for Argon2 on a busy machine, so
    # that a refused sign-in (the login page again, with its reason) fails as such rather
    # than as a navigation that never came.
    with admin.expect_response(
        lambda answer: answer.request.method == "POST" and "/staff/login" in answer.url,
        timeout=90_000,
    ) as signing_in:
        admin.get_by_role("button", name="登录").click()
    assert signing_in.value.status == 303, admin.locator("main").inner_text()
    admin.wait_for_url(f"{live.base_url}/admin/team-bookings", timeout=60_000)
    request = admin.locator(f"#request-{reference}")
    assert request.get_by_text("35 人（含领队）").is_visible()
    assert request.get_by_text("李*").first.is_visible()
    request.get_by_role("button", name="通过").click()
    admin.wait_for_url(re.compile(r".*done=approved.*"))
    assert admin.get_by_text(f"已通过团队预约 {reference}").is_visible()

    page.reload()
    assert page.get_by_text("已确认").first.is_visible()
    qr = page.get_by_role("img", name=re.compile("团队票二维码"))
    qr.wait_for()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    assert page.get_by_text("最多入馆 35 人").is_visible()
    assert problems == []
    phone.close()
    desk.close()

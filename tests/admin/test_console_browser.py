"""An administrator in real headless Chromium: signs in, changes the daily quota and the
instantaneous limit, sees availability follow, closes a day, and finds it all audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, LiveServer, admin_headers

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_admin_changes_quota_and_closes_a_day_in_chromium(browser: Any, live: LiveServer) -> None:
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live.base_url}/admin/rules")
    assert "/staff/login" in page.url
    page.get_by_label("用户名").fill(ADMIN_USERNAME)
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live.base_url}/admin/rules")

    individual = page.get_by_role("group", name="个人预约")
    individual.get_by_label("每日名额（人）").fill("800")
    page.get_by_role("group", name="在馆人数").get_by_label("瞬时最大在馆人数").fill("500")
    page.get_by_role("button", name="预览影响").click()
    preview = page.get_by_role("region", name="预览：保存后的变化")
    said = "".join(preview.inner_text().split())  # as a screen reader reads it
    assert "个人预约·每日名额（人）：原为1000→改为800" in said
    assert "在馆人数·瞬时最大在馆人数：原为600→改为500" in said
    with live.client() as api:
        day = api.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
        assert day["individual"]["capacity"] == 1000  # a preview saves nothing

    page.get_by_role("button", name="保存规则").click()
    page.wait_for_url(f"{live.base_url}/admin/rules?done=rules_saved")
    assert page.get_by_role("status").inner_text() == "规则已保存，立即生效。"
    with live.client() as api:
        day = api.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").json()["days"][0]
        assert day["individual"] == {"capacity": 800, "booked": 0, "remaining": 800}
        assert api.get("/api/v1/occupancy").json()["limit"] == 500

    page.get_by_role("link", name="日历", exact=True).click()
    cell = page.locator('a[data-date="2026-03-11"]')
    assert "0/800" in cell.inner_text()
    cell.click()
    page.wait_for_url(f"{live.base_url}/admin/calendar/2026-03-11")
    page.get_by_role("radio", name="闭馆").check()
    page.get_by_label("说明").fill("设备维护")
    page.get_by_role("button", name="保存当日设置").click()
    page.wait_for_url(f"{live.base_url}/admin/calendar/2026-03-11?done=override_saved")
    with live.client() as api:
        day = api.get("/api/v1/availability?start=2026-03-11&end=2026-03-11").json()["days"][0]
        assert (day["bookable"], day["reason"], day["note"]) == (False, "closed", "设备维护")

    page.get_by_role("link", name="审计日志").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    newest, older = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "设置日期例外" in newest and "2026-03-11" in newest and "设备维护" in newest
    assert "修改规则" in older and "1000" in older and "800" in older and "500" in older
    page.close()

    with live.client() as api:
        actions = [
            entry["action"]
            for entry in api.get("/api/v1/admin/audit", headers=admin_headers(api)).json()[
                "entries"
            ]
        ]
    assert actions == ["day.override", "rules.update"]

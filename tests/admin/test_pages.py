"""The console's pages: behind the admin role, CSRF-protected, Chinese first with English,
and doing through forms what the API does."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, TOMORROW, admin_headers
from tests.rules.test_rules_api import audit_entries, day_of
from tests.support import people

PAGES = ["/admin", "/admin/calendar", "/admin/calendar/2026-03-10", "/admin/rules",
         "/admin/stats", "/admin/users", "/admin/audit"]  # fmt: skip


def sign_in(client: TestClient, username: str = ADMIN_USERNAME,
            password: str = ADMIN_PASSWORD) -> str:  # fmt: skip
    """Sign in through the login page; returns the CSRF token the forms carry."""
    client.get("/staff/login")
    token = client.cookies.get("zz_csrf")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert token
    return token


class FormReader(HTMLParser):
    """What a browser would submit from the first form posting to ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form" and not self.done and attributes.get("action") == self.action:
            self.inside = True
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") != "submit":
            if attributes.get("type") in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.fields.append((name, attributes.get("value") or "on"))
            else:
                self.fields.append((name, attributes.get("value", "")))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields.append((self._select, attributes.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_of(html: str, action: str) -> dict[str, Any]:
    reader = FormReader(action)
    reader.feed(html)
    form: dict[str, Any] = {}
    for name, value in reader.fields:
        if name in form:
            form[name] = [*(form[name] if isinstance(form[name], list) else [form[name]]), value]
        else:
            form[name] = value
    return form


def rules_form(client: TestClient, **changes: Any) -> dict[str, Any]:
    form = form_of(client.get("/admin/rules").text, "/admin/rules")
    assert "individual.daily_quota" in form and "slots.0.start" in form
    form.update(changes)
    return form


def test_pages_need_an_admin(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/staff/login?next=/admin")
    refused = client.post("/admin/calendar/2026-03-10", data={"closed": "closed"},
                          follow_redirects=False)  # fmt: skip
    assert refused.status_code == 303
    created = client.post(
        "/api/v1/admin/users",
        json={"username": "gate-east", "password": "gate-password-2026", "role": "staff"},
        headers=admin_headers(client),
    )
    assert created.status_code == 201
    sign_in(client, "gate-east", "gate-password-2026")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403 and "forbidden" in response.text, path


def test_every_page_renders_under_the_strict_policy(client: TestClient) -> None:
    sign_in(client)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
        assert "script-src 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), path
        assert re.search(
            r'<link rel="stylesheet" href="/static/admin/admin\.[0-9a-f]{12}\.css">', html
        )
        assert 'aria-current="page"' in html, path
    assert client.get("/static/admin/admin.css").status_code == 200
    assert client.get("/static/admin/admin.js").status_code == 200
    live = client.get("/admin/occupancy.json").json()
    assert live == {"inside": 0, "limit": 600, "entered_today": 0, "exited_today": 0}


def test_forms_refuse_a_missing_or_wrong_csrf_token(client: TestClient) -> None:
    sign_in(client)
    posts = {
        "/admin/rules": {"intent": "save"},
        "/admin/calendar/2026-03-10": {"closed": "closed"},
        "/admin/calendar/2026-03-10/clear": {},
        "/admin/users": {"username": "sneaky", "password": "sneaky-password", "role": "admin"},
        "/admin/users/admin/disable": {},
        "/admin/users/admin/enable": {},
        "/admin/users/admin/reset-password": {"password": "another-password"},
    }
    for path, data in posts.items():
        for token in (None, "x" * 43):
            body = data if token is None else {**data, "csrf_token": token}
            response = client.post(path, data=body, follow_redirects=False)
            assert response.status_code == 403 and "csrf_failed" in response.text, path
    assert audit_entries(client, admin_headers(client)) == []


def test_rules_are_previewed_then_saved(client: TestClient) -> None:
    token = sign_in(client)
    preview = client.post(
        "/admin/rules", data=rules_form(client, **{"individual.daily_quota": "800",
                                                   "intent": "preview"})
    )  # fmt: skip
    assert preview.status_code == 200
    assert "预览：保存后的变化" in preview.text
    assert re.search(r'class="was">.*1000</span>\s*→\s*<span class="now">.*800', preview.text)
    assert day_of(client, TOMORROW)["individual"]["capacity"] == 1000  # nothing saved yet

    form = form_of(preview.text, "/admin/rules")  # the preview keeps what was typed
    assert form["individual.daily_quota"] == "800" and form["csrf_token"] == token
    saved = client.post("/admin/rules", data={**form, "intent": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/rules?done=rules_saved"
    assert "规则已保存" in client.get(saved.headers["location"]).text
    assert day_of(client, TOMORROW)["individual"]["capacity"] == 800
    [entry] = audit_entries(client, admin_headers(client), action="rules.update")
    assert entry["changes"] == [{"path": "individual.daily_quota", "before": 1000, "after": 800}]
    again = client.post("/admin/rules", data={**rules_form(client), "intent": "save"},
                        follow_redirects=False)  # fmt: skip
    assert again.headers["location"] == "/admin/rules?done=rules_unchanged"


def test_a_peak_above_the_limit_is_shown_and_must_be_acknowledged(client: TestClient) -> None:
    sign_in(client)
    longer = rules_form(client, **{"occupancy.typical_visit_minutes": "150", "intent": "save"})
    held = client.post("/admin/rules", data=longer, follow_redirects=False)
    assert held.status_code == 200
    assert "仅凭预约，11:00–11:30 在馆人数就可能达到 750 人" in held.text
    assert "要保存，请先勾选下面的确认" in held.text
    assert '<svg class="chart"' in held.text and "chart__over" in held.text
    assert day_of(client, TOMORROW)  # still served
    headers = admin_headers(client)
    rules = client.get("/api/v1/admin/rules", headers=headers).json()
    assert rules["occupancy"]["typical_visit_minutes"] == 120
    saved = client.post(
        "/admin/rules", data={**longer, "acknowledge_peak": "on"}, follow_redirects=False
    )
    assert saved.status_code == 303
    rules = client.get("/api/v1/admin/rules", headers=headers).json()
    assert rules["occupancy"]["typical_visit_minutes"] == 150


INVALID_FORMS = [
    ({"individual.daily_quota": "lots"}, "请输入整数"),
    ({"individual.daily_quota": "-5"}, "不能小于 0"),
    ({"occupancy.instantaneous_limit": "1400"}, "不能超过建筑核定最大容量（1300 人）"),
    ({"slots.1.start": "10:30"}, "时段 1100 与时段 0900 重叠"),
    ({"hours.opens": "nine"}, "请按“时:分”填写"),
    ({"slots.4.id": "x", "slots.4.start": "16:00"}, "请填写此项"),  # a half-filled new slot
]


def test_invalid_rules_show_the_form_again_with_the_reason(client: TestClient) -> None:
    sign_in(client)
    for changes, message in INVALID_FORMS:
        response = client.post("/admin/rules", data=rules_form(client, intent="save", **changes))
        assert response.status_code == 422, changes
        assert message in response.text, changes
        assert 'aria-invalid="true"' in response.text, changes
        assert "规则没有保存" in response.text
    assert audit_entries(client, admin_headers(client)) == []


def test_rules_saved_meanwhile_by_someone_else_are_not_overwritten(client: TestClient) -> None:
    sign_in(client)
    stale = rules_form(client, **{"individual.daily_quota": "700", "intent": "save"})
    client.patch("/api/v1/admin/rules", json={"privacy": {"retention_days": 20}},
                 headers=admin_headers(client))  # fmt: skip
    response = client.post("/admin/rules", data=stale)
    assert response.status_code == 409
    assert "规则已被他人修改" in response.text
    rules = client.get("/api/v1/admin/rules", headers=admin_headers(client)).json()
    assert (rules["individual"]["daily_quota"], rules["privacy"]["retention_days"]) == (1000, 20)


def test_closing_and_reopening_a_day_through_the_calendar(client: TestClient) -> None:
    token = sign_in(client)
    page = client.get("/admin/calendar/2026-03-10")
    form = form_of(page.text, "/admin/calendar/2026-03-10")
    assert form["closed"] == "rules"
    closed = client.post(
        "/admin/calendar/2026-03-10",
        data={**form, "closed": "closed", "note": "设备维护"},
        follow_redirects=False,
    )
    assert closed.headers["location"] == "/admin/calendar/2026-03-10?done=override_saved"
    assert day_of(client, TOMORROW)["reason"] == "closed"
    calendar = client.get("/admin/calendar").text
    cell = re.search(r'data-date="2026-03-10">(.*?)</a>', calendar, re.S)
    assert cell and "闭馆" in cell.group(1) and "设备维护" in cell.group(1)

    bad = client.post("/admin/calendar/2026-03-10",
                      data={**form, "individual_quota": "-5"})  # fmt: skip
    assert bad.status_code == 422 and "不能小于 0" in bad.text
    past = client.post("/admin/calendar/2026-03-08", data={**form, "closed": "closed"})
    assert past.status_code == 422 and "不能修改已经过去的日期" in past.text
    assert "已经过去的日期不能修改" in client.get("/admin/calendar/2026-03-08").text

    cleared = client.post("/admin/calendar/2026-03-10/clear", data={"csrf_token": token},
                          follow_redirects=False)  # fmt: skip
    assert cleared.headers["location"] == "/admin/calendar/2026-03-10?done=override_removed"
    assert day_of(client, TOMORROW)["bookable"] is True
    # Saving "follow the rules" with nothing else set leaves no empty override behind.
    client.post("/admin/calendar/2026-03-11", data={**form, "individual_quota": "900"})
    client.post("/admin/calendar/2026-03-11", data=form)
    assert (
        client.get("/api/v1/admin/days/2026-03-11", headers=admin_headers(client)).status_code
        == 404
    )
    actions = [e["action"] for e in audit_entries(client, admin_headers(client))]
    assert actions == ["day.override.delete", "day.override"] * 2


def test_calendar_shows_booked_against_capacity(client: TestClient) -> None:
    assert client.post("/api/v1/bookings", json=people.booking(TOMORROW)).status_code == 201
    sign_in(client)
    calendar = client.get("/admin/calendar").text
    cell = re.search(r'data-date="2026-03-10">(.*?)</a>', calendar, re.S)
    assert cell, calendar[-1000:]
    assert '<span data-figure="individual">1/1000</span>' in cell.group(1)
    assert '<span data-figure="team">0/400</span>' in cell.group(1)
    monday = re.search(r'data-date="2026-03-16">(.*?)</a>', calendar, re.S)
    assert monday and "闭馆" in monday.group(1)
    assert 'data-date="2026-05-09"' in calendar and 'data-date="2026-05-10"' not in calendar


def test_accounts_through_the_console(client: TestClient) -> None:
    token = sign_in(client)
    created = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "gate-east", "password": "gate-password-2026",
              "role": "staff"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.headers["location"] == "/admin/users?done=user_created"
    taken = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "gate-east", "password": "gate-password-2026",
              "role": "staff"},
    )  # fmt: skip
    assert taken.status_code == 409 and "用户名已存在" in taken.text
    short = client.post("/admin/users", data={"csrf_token": token, "username": "gate-west",
                                               "password": "short", "role": "staff"})  # fmt: skip
    assert short.status_code == 422 and "field-error" in short.text
    itself = client.post(f"/admin/users/{ADMIN_USERNAME}/disable", data={"csrf_token": token})
    assert itself.status_code == 409 and "不能停用自己的账户" in itself.text
    disabled = client.post("/admin/users/gate-east/disable", data={"csrf_token": token},
                           follow_redirects=False)  # fmt: skip
    assert disabled.headers["location"] == "/admin/users?done=user_disabled"
    assert "已停用" in client.get("/admin/users").text
    reset = client.post(
        "/admin/users/gate-east/reset-password",
        data={"csrf_token": token, "password": "new-gate-password"},
        follow_redirects=False,
    )
    assert reset.headers["location"] == "/admin/users?done=password_reset"
    actions = [e["action"] for e in audit_entries(client, admin_headers(client))]
    assert actions == ["user.reset_password", "user.disable", "user.create"]


def test_audit_page_lists_who_changed_what(client: TestClient) -> None:
    headers = admin_headers(client)
    client.patch("/api/v1/admin/rules", json={"occupancy": {"instantaneous_limit": 500}},
                 headers=headers)  # fmt: skip
    client.put("/api/v1/admin/days/2026-03-10", json={"closed": True}, headers=headers)
    sign_in(client)
    page = client.get("/admin/audit").text
    assert "修改规则" in page and "设置日期例外" in page
    assert re.search(r"瞬时最大在馆人数.*?600.*?500", page, re.S)
    assert '<a href="/admin/calendar/2026-03-10">2026-03-10</a>' in page
    filtered = client.get("/admin/audit", params={"action": "day.override"}).text
    assert "设置日期例外" in filtered and "修改规则</td>" not in filtered
    assert "没有符合条件的记录" in client.get("/admin/audit", params={"actor": "nobody"}).text


def test_reports_page_and_download(client: TestClient) -> None:
    assert client.post("/api/v1/bookings", json=people.booking(TOMORROW)).status_code == 201
    sign_in(client)
    page = client.get("/admin/stats", params={"start": "2026-03-09", "end": "2026-03-11"})
    assert page.status_code == 200
    assert '<svg class="chart"' in page.text and "chart__individual" in page.text
    assert "/admin/stats/bookings.csv?date=2026-03-10" in page.text
    wrong = client.get("/admin/stats", params={"start": "2026-03-11", "end": "2026-03-01"})
    assert wrong.status_code == 422 and "结束日期不能早于开始日期" in wrong.text
    download = client.get("/admin/stats/bookings.csv", params={"date": "2026-03-10"})
    assert download.status_code == 200
    assert download.content.startswith(b"\xef\xbb\xbf")
    assert download.headers["content-disposition"].startswith("attachment;")
    [entry] = audit_entries(client, admin_headers(client), action="bookings.export")
    assert entry["after"] == {"bookings": 1}


def test_pages_speak_english_on_request(client: TestClient) -> None:
    sign_in(client)
    client.cookies.set("lang", "en")
    rules = client.get("/admin/rules").text
    assert "Daily quota (people)" in rules and "Instantaneous limit (people inside)" in rules
    assert "每日名额" not in rules
    overview = client.get("/admin").text
    assert "Live occupancy" in overview and "实时在馆人数" not in overview

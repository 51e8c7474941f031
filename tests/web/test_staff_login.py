"""Staff sign in through the login page in a real browser; forms are CSRF-protected."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, LiveServer, Service, start_in_process


def test_staff_signs_in_and_out_in_chromium(browser, live: LiveServer) -> None:
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live.base_url}/staff")
    assert page.url.endswith("/staff/login?next=/staff")
    page.get_by_label("用户名").fill(ADMIN_USERNAME)
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live.base_url}/staff", timeout=90_000)
    assert page.get_by_role("heading", name="工作台").is_visible()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(f"{live.base_url}/staff/login")
    page.goto(f"{live.base_url}/staff")
    assert "/staff/login" in page.url
    page.close()


def test_wrong_password_shows_the_form_again_and_counts(client: TestClient) -> None:
    client.get("/staff/login")
    token = client.cookies.get("zz_csrf")
    for _ in range(5):
        response = client.post(
            "/staff/login",
            data={"username": ADMIN_USERNAME, "password": "wrong", "csrf_token": token},
        )
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
    held_back = client.post(
        "/staff/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert held_back.status_code == 429 and "请稍后再试" in held_back.text
    assert int(held_back.headers["Retry-After"]) > 0


def test_a_csrf_token_that_is_not_ascii_is_refused_not_a_crash(client: TestClient) -> None:
    client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrf_token": "令牌é"},
    )
    assert response.status_code == 403 and "csrf_failed" in response.text


def test_login_form_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/staff/login")
    response = client.post(
        "/staff/login", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 403 and "csrf_failed" in response.text


def test_language_switch_is_remembered(client: TestClient) -> None:
    response = client.get("/lang/en?next=/staff/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"
    assert client.get("/staff/login").text.count("Staff sign-in") >= 1
    evil = client.get("/lang/zh?next=https://evil.example/", follow_redirects=False)
    assert evil.headers["location"] == "/"


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    policy = client.get("/staff/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_sign_in_attempts_are_throttled_per_address(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_service.env.update(
        RESERVATIONS_RATE_LIMITS="on", RESERVATIONS_LOGIN_RATE_LIMIT="3/minute"
    )
    with start_in_process(sqlite_service, monkeypatch) as client:
        form = {"username": ADMIN_USERNAME, "password": "wrong"}
        answers = [client.post("/api/v1/auth/token", data=form) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].json()["error"]["code"] == "rate_limited"
        assert int(answers[-1].headers["Retry-After"]) >= 1
        client.get("/staff/login")
        page = client.post(
            "/staff/login",
            data={**form, "csrf_token": client.cookies.get("zz_csrf")},
        )
        assert page.status_code == 429
    reset_process_state()

"""Staff sign in through the login page in a real browser; forms are CSRF-protected."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, LiveServer


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
    locked = client.post(
        "/staff/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert locked.status_code == 401 and "锁定" in locked.text


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

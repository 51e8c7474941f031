"""Behind a TLS-terminating proxy named in RESERVATIONS_TRUSTED_PROXIES, the service sees the
visitor's scheme and address: every cookie is Secure and HSTS is sent. From anybody else
the forwarded headers are ignored: nobody forges an address or a scheme."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, Service, start_in_process

PROXY = "10.1.2.3"
STRANGER = "198.51.100.20"
HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
def behind_proxy(sqlite_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    sqlite_service.env["RESERVATIONS_TRUSTED_PROXIES"] = "10.0.0.0/8"
    with start_in_process(sqlite_service, monkeypatch) as client:
        yield client
    reset_process_state()


def from_host(client: TestClient, host: str) -> TestClient:
    return TestClient(client.app, client=(host, 40000), raise_server_exceptions=False)


def cookies_set(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def sign_in_as(client: TestClient, password: str, forwarded_for: str) -> httpx.Response:
    """The admin's sign-in, the request saying it comes from ``forwarded_for``."""
    return client.post(
        "/api/v1/auth/token",
        data={"username": ADMIN_USERNAME, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    )


def staff_sign_in(client: TestClient, headers: dict[str, str]) -> httpx.Response:
    page = client.get("/staff/login", headers=headers)
    # The test client speaks plain HTTP to the app, so it keeps no Secure cookie: hand the
    # form's token back as the browser behind the proxy would.
    token = page.cookies["zz_csrf"]
    return client.post(
        "/staff/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrf_token": token},
        headers={**headers, "Cookie": f"zz_csrf={token}"},
        follow_redirects=False,
    )


def test_behind_the_trusted_proxy_over_https_cookies_are_secure(behind_proxy: TestClient) -> None:
    proxy = from_host(behind_proxy, PROXY)
    page = proxy.get("/staff/login", headers=HTTPS)
    assert page.headers["strict-transport-security"].startswith("max-age=")
    signed_in = staff_sign_in(proxy, HTTPS)
    assert signed_in.status_code == 303
    language = proxy.get("/lang/en?next=/", headers=HTTPS, follow_redirects=False)
    cookies = cookies_set(page) + cookies_set(signed_in) + cookies_set(language)
    assert {cookie.split("=")[0] for cookie in cookies} >= {"zz_csrf", "zz_staff", "lang"}
    assert all("; Secure" in cookie for cookie in cookies), cookies


def test_behind_the_trusted_proxy_over_http_nothing_claims_https(
    behind_proxy: TestClient,
) -> None:
    proxy = from_host(behind_proxy, PROXY)
    page = proxy.get("/staff/login", headers={"X-Forwarded-Proto": "http"})
    assert "strict-transport-security" not in page.headers
    assert cookies_set(page) and not any("Secure" in c for c in cookies_set(page))


def test_anybody_else_cannot_claim_https_or_an_address(behind_proxy: TestClient) -> None:
    stranger = from_host(behind_proxy, STRANGER)
    page = stranger.get("/staff/login", headers=HTTPS)
    assert "strict-transport-security" not in page.headers
    assert not any("Secure" in c for c in cookies_set(page))
    # Wrong guesses are held against the stranger's own address, whatever it claims.
    for index in range(5):
        assert sign_in_as(stranger, "guess", f"192.0.2.{index}").status_code == 401
    assert sign_in_as(stranger, ADMIN_PASSWORD, "192.0.2.99").status_code == 429


def test_the_proxy_forwards_each_visitors_own_address(behind_proxy: TestClient) -> None:
    proxy = from_host(behind_proxy, PROXY)
    for _ in range(5):
        sign_in_as(proxy, "guess", STRANGER)
    assert sign_in_as(proxy, ADMIN_PASSWORD, STRANGER).status_code == 429
    assert sign_in_as(proxy, ADMIN_PASSWORD, "198.51.100.77").status_code == 200


def test_without_the_setting_forwarded_headers_are_ignored(client: TestClient) -> None:
    local = from_host(client, "127.0.0.1")
    page = local.get("/staff/login", headers=HTTPS)
    assert "strict-transport-security" not in page.headers
    assert not any("Secure" in c for c in cookies_set(page))

"""Hardening: request size limits, security headers, sign-in throttling, and errors that
never show a stack trace, SQL or personal data."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from reservations.bootstrap import reset_process_state
from reservations.http import install_error_handlers
from reservations.protection.guard import guard_login
from reservations.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import TOMORROW, LiveServer, Service, start_in_process
from tests.support import people

LIMIT = 64 * 1024


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post(
        "/api/v1/bookings",
        content=b"{" + b" " * LIMIT + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "请求内容过大。",
        "details": {"max_bytes": LIMIT},
    }
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_body_at_the_limit_is_read(client: TestClient) -> None:
    body = json.dumps(people.booking(TOMORROW))
    padded = body[:-1] + " " * (LIMIT - len(body.encode())) + "}"
    assert len(padded.encode()) == LIMIT
    response = client.post(
        "/api/v1/bookings", content=padded, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201


def test_a_streamed_body_without_length_is_cut_off(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"phone": "'
        for _ in range(100):
            yield b"1" * 1024
        yield b'"}'

    response = client.post(
        "/api/v1/bookings/lookup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_pages_get_the_refusal_as_a_page(client: TestClient) -> None:
    response = client.post("/staff/login", data={"username": "x" * (LIMIT + 10)})
    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]
    assert "payload_too_large" in response.text or "请求内容过大" in response.text


def test_page_uploads_have_their_own_larger_limit(client: TestClient) -> None:
    files = {"file": ("members.csv", b"x" * (LIMIT * 2), "text/csv")}
    accepted = client.post("/teams", files=files)
    assert accepted.status_code != 413  # refused by the page, not by the size limit
    files = {"file": ("members.csv", b"x" * (3 * 1024 * 1024), "text/csv")}
    assert client.post("/teams", files=files).status_code == 413


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain", ""],
)
def test_the_api_refuses_any_large_body_whatever_it_claims_to_be(
    client: TestClient, content_type: str
) -> None:
    """1.5 MB labelled multipart used to get the 2 MiB upload limit and a 422."""
    body = b"--x\r\n" + b"x" * 1_500_000
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/api/v1/bookings", "/api/v1/auth/token", "/api/v1/admin/rules"):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 413, (path, response.text[:200])
        assert response.json()["error"]["details"] == {"max_bytes": LIMIT}


def raw_request(server: LiveServer, request: bytes) -> bytes:
    """Speak HTTP/1.1 by hand: chunked bodies and lies about the length."""
    url = httpx.URL(server.base_url)
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and b'"}}' in received:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return received


@pytest.mark.server
def test_a_real_server_cuts_off_chunked_and_lying_bodies(live: LiveServer) -> None:
    head = b"POST /api/v1/bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    chunk = b"1" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    answer = raw_request(live, head + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer
    huge = head + b"Content-Length: 10000000\r\n\r\n" + b"{}"
    answer = raw_request(live, huge)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-permitted-cross-domain-policies": "none",
}


@pytest.mark.parametrize(
    "path", ["/api/v1/health", "/api/v1/nowhere", "/staff/login", "/static/pow.js", "/"]
)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (path, name)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy and "object-src 'none'" in policy
    assert "strict-transport-security" not in response.headers  # plain HTTP here


def test_api_answers_are_not_stored_and_https_is_pinned(client: TestClient) -> None:
    assert (
        client.get("/api/v1/availability?start=2026-03-10&end=2026-03-10").headers["cache-control"]
        == "no-store"
    )
    assert "no-store" not in client.get("/static/pow.js").headers.get("cache-control", "")
    secure = client.get("https://testserver/api/v1/health")
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.fixture
def login_app(limited_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    limited_service.env["RESERVATIONS_LOGIN_RATE_LIMIT"] = "3/minute"
    start_in_process(limited_service, monkeypatch)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/login", dependencies=[Depends(guard_login)])
    def login() -> dict[str, str]:
        return {"status": "checked"}

    with TestClient(app) as test_client:
        yield test_client
    reset_process_state()


def test_sign_in_attempts_are_throttled_per_address(login_app: TestClient) -> None:
    statuses = [login_app.post("/login").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(login_app.post("/login").headers["Retry-After"]) <= 20


LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "SELECT ", "INSERT ")


def test_broken_requests_get_the_error_shape_and_no_internals(client: TestClient) -> None:
    attempts = [
        client.post(
            "/api/v1/bookings", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        client.post("/api/v1/bookings", json=[1, 2, 3]),
        client.post("/api/v1/bookings", json={"date": "2026-02-30", "visitors": "x"}),
        client.get("/api/v1/availability?start=9999-12-31&end=9999-12-31"),
        client.get("/api/v1/availability?start=0001-01-01&end=0001-01-01"),
        client.get("/api/v1/bookings/%00%27%22;DROP", headers={"X-Booking-Token": "'"}),
        client.request("DELETE", "/api/v1/bookings"),
        client.post(
            "/api/v1/bookings",
            content="\udcff".encode("utf-8", "surrogatepass"),
            headers={"Content-Type": "application/json"},
        ),
    ]
    for response in attempts:
        assert response.status_code < 500, (response.request.url, response.text[:300])
        assert not any(leak in response.text for leak in LEAKS), response.text[:300]
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}

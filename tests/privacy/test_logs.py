"""No secret or personal data in any log line: the real server's output after a visitor
books, opens the private link, prints, downloads the calendar file, looks the booking up and
cancels holds neither the link's token, the QR image's signature, nor the visitor's name,
phone or document number; errors are logged without the exception's text."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reservations.logs import (
    WITHHELD,
    AccessLog,
    access_log,
    install_log_redaction,
    loggable_target,
)
from tests.conftest import Service
from tests.support.server import launch
from tests.visitor import support as visitor
from tests.waitlist.helpers import fill, join_body, joined

pytestmark = pytest.mark.server

NAME = "欧阳娜月"
PHONE = "13912345678"


def test_the_server_log_holds_no_token_and_no_personal_data(
    sqlite_service: Service, tmp_path: Path
) -> None:
    person = visitor.adult(NAME)
    server = launch(sqlite_service.env, tmp_path, workers=1, access_log=True, log_level="info")
    secrets: list[str] = [person["id_number"], PHONE, NAME]
    try:
        with server.client() as client:
            reference, token = visitor.book_ok(client, person, phone=PHONE)
            secrets.append(token)
            private = f"/my/{reference}/{token}"
            page = client.get(private)
            assert page.status_code == 200, page.text[:1000]
            for url in re.findall(r'src="(/api/v1/tickets/[^"]+)"', page.text):
                url = url.replace("&amp;", "&")
                assert client.get(url).status_code == 200
                secrets.extend(re.findall(r"[?&]\w+=([^&]+)", url))
            assert client.get(f"{private}/print").status_code == 200
            assert client.get(f"{private}/calendar.ics").status_code == 200
            client.get(f"/lang/en?next={private}")
            client.get("/lang/zh", params={"next": private})
            lookup = {"phone": PHONE, "id_type": "resident_id", "id_number": person["id_number"]}
            assert client.post("/api/v1/bookings/lookup", json=lookup).status_code == 200
            assert (
                client.get(
                    f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token}
                ).status_code
                == 200
            )
            # Somebody types a phone or document number into the address bar.
            client.get(f"/my/{PHONE}")
            client.get(f"/my?phone={PHONE}&id_number={person['id_number']}")
            cancelled = client.post(
                f"{private}/cancel",
                data={"csrf_token": visitor.csrf(client, private)},
                follow_redirects=False,
            )
            assert cancelled.status_code == 303
    finally:
        log = server.stop()
    assert f'"GET /my/{reference}/{WITHHELD}/print HTTP/1.1" 200' in log, log[-3000:]
    assert f'"POST /my/{reference}/{WITHHELD}/cancel HTTP/1.1" 303' in log
    assert '"POST /api/v1/bookings/lookup HTTP/1.1" 200' in log
    for secret in secrets:
        assert secret not in log, secret
    # Nor the client's address: the access log has a keyed hash of it.
    access = [line for line in log.splitlines() if " reservations.access " in line]
    assert len(access) >= 10 and not any("127.0.0.1" in line for line in access)


QR = "/api/v1/tickets/ABCDEFGHJKLM/qr.png"
DATES = "start=2026-03-10&end=2026-03-20"


@pytest.mark.parametrize(
    ("path", "query", "logged"),
    [
        ("/my/ZZ7K2M9Q/short", "", f"/my/ZZ7K2M9Q/{WITHHELD}"),
        ("/my/ZZ7K2M9Q/abc/calendar.ics", "", f"/my/ZZ7K2M9Q/{WITHHELD}/calendar.ics"),
        (QR, "sig=abc", f"{QR}?sig={WITHHELD}"),
        ("/api/v1/availability", DATES, f"/api/v1/availability?{DATES}"),
        ("/lang/en", "next=/my/ZZ7K2M9Q/tok", f"/lang/en?next=/my/ZZ7K2M9Q/{WITHHELD}"),
        ("/waitlist/entry/WZ7K2M9Q/short", "", f"/waitlist/entry/WZ7K2M9Q/{WITHHELD}"),
        ("/waitlist/entry/WZ7K2M9Q/abc/leave", "", f"/waitlist/entry/WZ7K2M9Q/{WITHHELD}/leave"),
        ("/waitlist/2026-03-10", "slot=0900", "/waitlist/2026-03-10?slot=0900"),
        ("/anything/４１０１０５１９９００５１７１２３４", "", f"/anything/{WITHHELD}"),
        ("/x/%E2%80%8B13800138000", "", f"/x/{WITHHELD}"),
        ("/teams/requests/ZZ7K2M9Q", "", "/teams/requests/ZZ7K2M9Q"),
        ("/admin/users/gate-east/disable", "", "/admin/users/gate-east/disable"),
        ("/static/app.css", "start=" + "a" * 30, f"/static/app.css?start={WITHHELD}"),
    ],
)  # fmt: skip
def test_what_a_request_target_looks_like_in_the_log(path: str, query: str, logged: str) -> None:
    assert loggable_target(path, query) == logged


def capture(logger: str) -> tuple[logging.Handler, io.StringIO]:
    """A real handler on ``logger``, with the service's redaction installed on it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger(logger).addHandler(handler)
    install_log_redaction()
    return handler, stream


def test_errors_are_logged_without_the_exceptions_text(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.get("/api/v1/explode/{value}")
    def explode(value: str) -> None:
        raise ValueError(f"cannot parse {value}")

    handler, stream = capture("")
    try:
        response = client.get(f"/api/v1/explode/{PHONE}")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    assert PHONE not in response.text
    written = stream.getvalue()
    assert f"unhandled ValueError on GET /api/v1/explode/{WITHHELD}" in written
    assert "in explode" in written  # where it happened is kept
    assert "message withheld" in written
    assert PHONE not in written


def test_uvicorns_own_error_log_withholds_exception_text() -> None:
    handler, stream = capture("uvicorn.error")
    try:
        try:
            raise ValueError(f"Invalid HTTP request: GET /my/ZZ7K2M9Q/{PHONE}")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    written = stream.getvalue()
    assert "Exception in ASGI application" in written and "ValueError" in written
    assert PHONE not in written


def test_a_waiting_list_entrys_token_never_reaches_the_access_log(client: TestClient) -> None:
    """The entry's private link (the page, leaving through it) is logged with its reference
    and without its token, through the service's own access log around the real app."""
    fill(client, 1)
    entry = joined(client, join_body(phone=PHONE))
    token, reference = entry["manage_token"], entry["reference"]
    logged = TestClient(AccessLog(client.app))
    access_log.setLevel(logging.INFO)
    handler, stream = capture("reservations.access")
    try:
        private = f"/waitlist/entry/{reference}/{token}"
        assert logged.get(private).status_code == 200
        left = logged.post(
            f"{private}/leave",
            data={"csrf_token": visitor.csrf(logged, private)},
            follow_redirects=False,
        )
        assert left.status_code == 303
        logged.get(f"/lang/en?next={private}")
    finally:
        logging.getLogger("reservations.access").removeHandler(handler)
        access_log.setLevel(logging.NOTSET)
    written = stream.getvalue()
    assert f'"GET /waitlist/entry/{reference}/{WITHHELD} HTTP/1.1" 200' in written, written
    assert f'"POST /waitlist/entry/{reference}/{WITHHELD}/leave HTTP/1.1" 303' in written
    assert token not in written and PHONE not in written

"""send-reminders: the day before, by e-mail to whoever gave one (a real SMTP server),
else by SMS; in the booking's language; never twice; retried when not delivered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reservations import db
from reservations.bootstrap import reset_process_state
from reservations.notifications.sms import recorded
from tests.conftest import TOMORROW, Service, admin_headers, start_in_process
from tests.jobs.helpers import book, run_at, run_job
from tests.notifications.conftest import Gateway, MailServer
from tests.support import people
from tests.support.pgcluster import free_port
from tests.teams.factories import team_request
from tests.teams.helpers import approve, request_visit

REMIND = "send-reminders"
EVENING = "2026-03-09T18:00:00+08:00"


@contextmanager
def running(service: Service, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    service.env.update(env)
    with start_in_process(service, monkeypatch) as client:
        yield client
    reset_process_state()


def reminded(reference: str) -> bool:
    with db.transaction(write=False) as session:
        row = session.connection().execute(
            text("SELECT reminded_at FROM booking WHERE reference = :r"), {"r": reference}
        )
        return row.scalar_one() is not None


def test_reminders_go_by_email_or_sms_once(
    sqlite_service: Service,
    monkeypatch: pytest.MonkeyPatch,
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    with running(sqlite_service, monkeypatch, **mail_server.env()) as client:
        alice, bob = people.visitor("安娜", born=date(1990, 1, 1)), people.visitor("鲍勃")
        english = book(
            client,
            TOMORROW,
            None,
            visitors=[alice, bob],
            phone="13800138001",
            email="visitor.a@example.com",
            language="en",
        )
        chinese = book(client, TOMORROW, people.visitor("陈七"), phone="13800138002")
        cancelled = book(client, TOMORROW, people.visitor("邓八"), email="gone@example.com")
        client.post(
            f"/api/v1/bookings/{cancelled['reference']}/cancel",
            headers={"X-Booking-Token": cancelled["manage_token"]},
        )
        later = book(client, date(2026, 3, 11), people.visitor("冯九"))
        team = request_visit(client, team_request(TOMORROW)).json()
        assert approve(client, team["reference"], admin_headers(client)).status_code == 200

        result = run_at(client, EVENING, REMIND)
        assert result == {"day": "2026-03-10", "email": 1, "sms": 2, "fell_back": 0, "failed": 0}

        [mail] = mail_server.inbox.messages
        assert mail["To"] == "visitor.a@example.com"
        assert english["reference"] in mail["Subject"]
        assert mail["Content-Language"] == "en" and mail["Auto-Submitted"] == "auto-generated"
        assert "noreply@museum.example" in mail["From"]
        body = mail.get_content()
        for expected in ("Tuesday 10 March 2026", "09:00-11:00", "08:30", "安*", "鲍*"):
            assert expected in body
        for secret in (alice["id_number"], bob["id_number"], "13800138001", "安娜"):
            assert secret not in mail.as_string()

        texts = recorded(tmp_path / "data")
        assert [(m["to"], m["language"]) for m in texts] == [
            ("138****8002", "zh"),
            ("139****9000", "zh"),
        ]
        assert chinese["reference"] in texts[0]["text"] and "3月10日" in texts[0]["text"]
        assert team["reference"] in texts[1]["text"]
        assert "13800138002" not in str(texts)

        assert reminded(english["reference"]) and reminded(chinese["reference"])
        assert not reminded(cancelled["reference"]) and not reminded(later["reference"])

        # Running again sends nothing more.
        again = run_job(client, REMIND)
        assert again["email"] == again["sms"] == again["failed"] == 0
        assert len(mail_server.inbox.envelopes) == 1 and len(recorded(tmp_path / "data")) == 2


def test_a_failed_email_is_sent_as_sms(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nobody_listens = {
        "RESERVATIONS_SMTP_HOST": "127.0.0.1",
        "RESERVATIONS_SMTP_PORT": str(free_port()),
        "RESERVATIONS_SMTP_TLS": "none",
        "RESERVATIONS_SMTP_SENDER": "noreply@museum.example",
    }
    with running(sqlite_service, monkeypatch, **nobody_listens) as client:
        created = book(client, TOMORROW, email="visitor@example.com")
        result = run_at(client, EVENING, REMIND)
        assert result["email"] == 0 and result["sms"] == 1 and result["fell_back"] == 1
        [sms] = recorded(tmp_path / "data")
        assert created["reference"] in sms["text"]


def test_undelivered_reminders_are_tried_again(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, sms_gateway: Gateway
) -> None:
    with running(sqlite_service, monkeypatch, **sms_gateway.env()) as client:
        created = book(client, TOMORROW, phone="13800138000", language="en")
        sms_gateway.status = 503
        failed = run_at(client, EVENING, REMIND)
        assert failed["sms"] == 0 and failed["failed"] == 1
        assert not reminded(created["reference"])

        sms_gateway.status = 200
        sent = run_job(client, REMIND)
        assert sent["sms"] == 1 and sent["failed"] == 0
        assert reminded(created["reference"])

    request: dict[str, Any] = sms_gateway.requests[-1]
    assert len(sms_gateway.requests) == 2 and request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer gateway-token-for-tests"
    assert request["headers"]["Idempotency-Key"] == f"reminder:{created['reference']}"
    body = request["body"]
    assert body["to"] == "13800138000" and body["language"] == "en"
    assert body["template"] == "reminder" and body["key"] == f"reminder:{created['reference']}"
    assert body["params"]["reference"] == created["reference"]
    assert body["params"]["slot"] == "09:00-11:00"
    assert "10 Mar" in body["text"] and created["reference"] in body["text"]

"""The channels on their own: SMTP with STARTTLS and a password against a real relay that
demands both, the SMS gateway adapter, the fallback rules, and the message texts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reservations.booking.models import Booking
from reservations.notifications.errors import NO_CHANNEL, REFUSED, UNAVAILABLE, DeliveryFailed
from reservations.notifications.messages import Message, render
from reservations.notifications.reminders import reminder_message
from reservations.notifications.service import Notifier, Recipient
from reservations.notifications.sms import DevSms, HttpSms, recorded
from reservations.notifications.smtp import SmtpMailer
from reservations.rules import service as rules_service
from reservations.settings import Settings
from tests.conftest import REPO
from tests.notifications.conftest import SMTP_PASSWORD, SMTP_USER, Certificate, Gateway, MailServer

VALUES = {
    "reference": "ZZ7K2M9Q",
    "date": "2026年3月10日（星期二）",
    "date_short": "3月10日",
    "slot": "09:00-11:00",
    "entry_from": "08:30",
    "entry_until": "11:00",
    "party_size": 1,
    "names": ["张*"],
    "team": False,
    "organization": "",
    "cancel_until": "3月10日 09:00",
    "no_show_strikes": 3,
    "no_show_window_days": 180,
    "no_show_ban_days": 60,
}


def message(language: str = "zh") -> Message:
    return Message("reminder", language, VALUES, key="reminder:ZZ7K2M9Q")


def relay_settings(server: MailServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_tls": "starttls",
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_sender": "郑州网络安全科技馆 <noreply@museum.example>",
        "smtp_timeout_seconds": 5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_smtp_over_starttls_with_a_password(
    tls_mail_server: MailServer, certificate: Certificate
) -> None:
    mailer = SmtpMailer(relay_settings(tls_mail_server, smtp_ca_file=certificate.cert))
    try:
        mailer.send("visitor@example.com", message())
        mailer.send("other@example.com", message("en"))  # on the same connection
    finally:
        mailer.close()
    first, second = tls_mail_server.inbox.messages
    assert first["To"] == "visitor@example.com" and "ZZ7K2M9Q" in first["Subject"]
    assert "郑州网络安全科技馆" in first["From"] and first["Content-Language"] == "zh-CN"
    assert "2026年3月10日" in first.get_content()
    assert second["Content-Language"] == "en" and "Hello" in second.get_content()
    assert tls_mail_server.inbox.envelopes[0].mail_from == "noreply@museum.example"


def test_smtp_refuses_an_untrusted_certificate(tls_mail_server: MailServer) -> None:
    mailer = SmtpMailer(relay_settings(tls_mail_server))
    with pytest.raises(DeliveryFailed) as failure:
        mailer.send("visitor@example.com", message())
    assert failure.value.reason == UNAVAILABLE
    assert tls_mail_server.inbox.envelopes == []


def test_smtp_with_a_wrong_password_is_refused(
    tls_mail_server: MailServer, certificate: Certificate
) -> None:
    settings = relay_settings(
        tls_mail_server, smtp_ca_file=certificate.cert, smtp_password="wrong-password"
    )
    with pytest.raises(DeliveryFailed) as failure:
        SmtpMailer(settings).send("visitor@example.com", message())
    assert failure.value.reason == REFUSED
    assert "visitor@example.com" not in str(failure.value)


def test_http_gateway_errors_are_delivery_failures(sms_gateway: Gateway) -> None:
    gateway = HttpSms(sms_gateway.url, None, timeout=5)
    sms_gateway.status = 400
    with pytest.raises(DeliveryFailed) as refused:
        gateway.send("13800138000", message())
    assert refused.value.reason == REFUSED
    sms_gateway.status = 502
    with pytest.raises(DeliveryFailed) as unavailable:
        gateway.send("13800138000", message())
    assert unavailable.value.reason == UNAVAILABLE
    assert "Authorization" not in sms_gateway.requests[0]["headers"]
    with pytest.raises(ValueError, match="http"):
        HttpSms("file:///etc/passwd", None, timeout=5)


class Refusing:
    name = "email"

    def send(self, address: str, message: Message) -> None:
        raise DeliveryFailed(REFUSED)

    def close(self) -> None:
        pass


def test_the_notifier_falls_back_to_sms_and_says_when_nothing_works(tmp_path: Path) -> None:
    sms = DevSms(tmp_path)
    notifier = Notifier(email=Refusing(), sms=sms)
    delivery = notifier.deliver(Recipient(email="a@example.com", phone="13800138000"), message())
    assert (delivery.channel, delivery.fell_back) == ("sms", True)
    assert (
        Notifier(email=None, sms=sms).deliver(Recipient(phone="13800138000"), message()).channel
        == "sms"
    )
    with pytest.raises(DeliveryFailed) as refused:
        notifier.deliver(Recipient(email="a@example.com"), message())
    assert refused.value.reason == REFUSED
    with pytest.raises(DeliveryFailed) as nothing:
        Notifier(email=None, sms=None).deliver(Recipient(phone="13800138000"), message())
    assert nothing.value.reason == NO_CHANNEL
    [first, _second] = recorded(tmp_path)
    assert first["to"] == "138****8000" and "13800138000" not in str(first)
    assert (tmp_path / "sms-outbox.jsonl").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("team", [False, True])
def test_every_reminder_text_renders_completely(language: str, team: bool) -> None:
    rules = rules_service.load_file(REPO / "config" / "museum.toml")
    booking = Booking(
        reference="ZZ7K2M9Q",
        channel="team" if team else "individual",
        day=date(2026, 3, 10),
        slot_id="0900",
        slot_start="09:00",
        slot_end="11:00",
        status="confirmed",
        party_size=35 if team else 2,
        manage_token_hash="-",
        language=language,
        organization="郑州市第一中学" if team else None,
        created_at=datetime(2026, 3, 9, tzinfo=UTC),
        updated_at=datetime(2026, 3, 9, tzinfo=UTC),
    )
    reminder = reminder_message(booking, ["张*", "李*"], rules)
    assert reminder.language == language and reminder.key == "reminder:ZZ7K2M9Q"
    email = render(reminder, "email")
    sms = render(reminder, "sms")
    assert "ZZ7K2M9Q" in email.subject and "\n" not in email.subject
    for text in (email.body, sms.body):
        assert "ZZ7K2M9Q" in text and "09:00-11:00" in text and "08:30" in text
        assert not re.search(r"{{|}}|{%|%}|\bNone\b", text)
    assert "\n" not in sms.body.strip()
    if team:
        assert "郑州市第一中学" in email.body and "张*" in email.body
    if language == "en":
        assert "Tuesday 10 March 2026" in email.body and "10 Mar" in sms.body
        assert not re.search(r"[\u4e00-\u9fff]", sms.body + email.subject)
    else:
        assert "2026年3月10日（星期二）" in email.body and "3月10日" in sms.body
        assert "【郑州网络安全科技馆】" in sms.body

"""The one interface the rest of the service uses: deliver a message to a person."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from reservations.notifications.errors import NO_CHANNEL, DeliveryFailed
from reservations.notifications.messages import Message
from reservations.notifications.sms import DevSms, HttpSms
from reservations.notifications.smtp import SmtpMailer
from reservations.settings import Settings, get_settings

log = logging.getLogger("reservations.notifications")

EMAIL = "email"
SMS = "sms"


class Channel(Protocol):
    """A way to reach people: e-mail or SMS. ``send`` raises DeliveryFailed."""

    name: str

    def send(self, address: str, message: Message) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    # E-mail was tried and failed; the SMS went instead.
    fell_back: bool = False


class Notifier:
    """E-mail to whoever gave an address, else SMS; SMS as well when e-mail fails.

    Use it as a context manager: connections (SMTP) are reused for its messages and
    closed at the end.
    """

    def __init__(self, email: Channel | None, sms: Channel | None) -> None:
        self.email = email
        self.sms = sms

    def deliver(self, recipient: Recipient, message: Message) -> Delivery:
        fell_back = False
        if recipient.email and self.email is not None:
            try:
                self.email.send(recipient.email, message)
                return Delivery(EMAIL)
            except DeliveryFailed as exc:
                if not recipient.phone or self.sms is None:
                    raise
                log.info("e-mail not delivered (%s); sending an SMS instead", exc.reason)
                fell_back = True
        if recipient.phone and self.sms is not None:
            self.sms.send(recipient.phone, message)
            return Delivery(SMS, fell_back)
        raise DeliveryFailed(NO_CHANNEL)

    def deliver_each(self, recipient: Recipient, message: Message) -> list[str]:
        """Every channel the recipient has (SMS and e-mail both), for what must not be
        missed; the channels that took the message. DeliveryFailed when none did."""
        delivered = []
        failure = DeliveryFailed(NO_CHANNEL)
        for channel, address in ((self.sms, recipient.phone), (self.email, recipient.email)):
            if channel is None or not address:
                continue
            try:
                channel.send(address, message)
            except DeliveryFailed as exc:
                log.info("%s not delivered (%s)", channel.name, exc.reason)
                failure = exc
                continue
            delivered.append(channel.name)
        if not delivered:
            raise failure
        return delivered

    def close(self) -> None:
        for channel in (self.email, self.sms):
            if channel is not None:
                channel.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()


def email_channel(settings: Settings) -> Channel | None:
    if not settings.smtp_host:
        return None
    if not settings.smtp_sender:
        log.warning("RESERVATIONS_SMTP_SENDER is not set: no e-mail is sent")
        return None
    return SmtpMailer(settings)


def sms_channel(settings: Settings) -> Channel | None:
    if settings.sms_driver == "off":
        return None
    if settings.sms_driver == "http":
        if not settings.sms_url:
            log.warning("RESERVATIONS_SMS_DRIVER=http needs RESERVATIONS_SMS_URL: no SMS is sent")
            return None
        token = settings.sms_token.get_secret_value() if settings.sms_token else None
        return HttpSms(settings.sms_url, token, settings.sms_timeout_seconds)
    return DevSms(settings.data_dir)


def open_notifier(settings: Settings | None = None) -> Notifier:
    settings = settings or get_settings()
    return Notifier(email_channel(settings), sms_channel(settings))

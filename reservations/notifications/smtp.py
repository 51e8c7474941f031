"""E-mail over SMTP: plain text, UTF-8, one connection reused for a run's messages."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from reservations import clock, languages
from reservations.notifications.errors import REFUSED, UNAVAILABLE, DeliveryFailed
from reservations.notifications.messages import Message, render
from reservations.settings import Settings
from reservations.web import i18n

log = logging.getLogger("reservations.notifications")

_DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


class SmtpMailer:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host and settings.smtp_sender
        self.host = settings.smtp_host
        self.port = settings.smtp_port or _DEFAULT_PORTS[settings.smtp_tls]
        self.tls = settings.smtp_tls
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self.ca_file = settings.smtp_ca_file
        display_name, self.sender = parseaddr(settings.smtp_sender)
        self.display_name = display_name or None
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        connection: smtplib.SMTP
        if self.tls == "tls":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                connection.starttls(context=context)
        if self.username:
            password = self.password.get_secret_value() if self.password else ""
            connection.login(self.username, password)
        return connection

    def compose(self, address: str, message: Message) -> EmailMessage:
        rendered = render(message, self.name)
        language = message.lang
        with i18n.speaking(language):
            museum = i18n.gettext("郑州网络安全科技馆")
        mail = EmailMessage()
        mail["Subject"] = rendered.subject
        mail["From"] = formataddr((self.display_name or museum, self.sender))
        mail["To"] = address
        mail["Date"] = format_datetime(clock.now())
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or "localhost")
        # Tells mail servers and clients not to answer it automatically (RFC 3834).
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(rendered.body, charset="utf-8")
        mail["Content-Language"] = languages.language(language).tag
        return mail

    def send(self, address: str, message: Message) -> None:
        mail = self.compose(address, message)
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    self._connection = self._connect()
                self._connection.send_message(mail)
                return
            except smtplib.SMTPServerDisconnected:
                # A reused connection the server closed meanwhile: reconnect once.
                self._connection = None
                if attempt == 2:
                    raise DeliveryFailed(UNAVAILABLE) from None
            except smtplib.SMTPRecipientsRefused:
                raise DeliveryFailed(REFUSED) from None
            except smtplib.SMTPResponseException as exc:
                self.close()
                raise DeliveryFailed(REFUSED if exc.smtp_code >= 500 else UNAVAILABLE) from None
            except (smtplib.SMTPException, OSError):
                self.close()
                raise DeliveryFailed(UNAVAILABLE) from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()

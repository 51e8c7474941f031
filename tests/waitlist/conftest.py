"""The waiting list's tests tell visitors through a real SMTP server (aiosmtpd)."""

from tests.notifications.conftest import mail_server

__all__ = ["mail_server"]

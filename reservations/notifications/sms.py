"""SMS through a gateway adapter.

``dev`` (the default) delivers nothing: it records each message, the number masked, as one
JSON line in ``<data dir>/sms-outbox.jsonl`` for developers and rehearsals to read.
``http`` posts each message as JSON to an SMS gateway (a provider's relay, or the
museum's own): providers in mainland China send only pre-approved templates, so the
request carries the template's name and its parameters beside the rendered text.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from reservations import clock
from reservations.notifications.errors import REFUSED, UNAVAILABLE, DeliveryFailed
from reservations.notifications.messages import Message, render
from reservations.privacy.masking import mask_phone

log = logging.getLogger("reservations.notifications")

OUTBOX = "sms-outbox.jsonl"


def template_params(message: Message) -> dict[str, str]:
    """The message's simple values, for a provider's approved template."""
    return {
        key: str(value)
        for key, value in message.values.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }


class DevSms:
    """Records messages instead of sending them."""

    name = "sms"

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / OUTBOX

    def send(self, phone: str, message: Message) -> None:
        record = {
            "at": clock.now().isoformat(),
            "to": mask_phone(phone),
            "template": message.template,
            "language": message.lang,
            "key": message.key,
            "text": render(message, self.name).body.strip(),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)  # one write per line: appends never interleave
        finally:
            os.close(descriptor)

    def close(self) -> None:
        pass


def recorded(data_dir: Path) -> list[dict[str, Any]]:
    """What the development driver recorded, oldest first."""
    path = data_dir / OUTBOX
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class HttpSms:
    """Posts ``{"to", "text", "template", "language", "params", "key"}`` to a gateway.

    Any 2xx answer means accepted. The message key also goes in an ``Idempotency-Key``
    header, so a gateway can drop a message sent twice.
    """

    name = "sms"

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        if urlparse(url).scheme not in ("https", "http"):
            raise ValueError("RESERVATIONS_SMS_URL must be an http(s) URL")
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, phone: str, message: Message) -> None:
        body = {
            "to": phone,
            "text": render(message, self.name).body.strip(),
            "template": message.template,
            "language": message.lang,
            "params": template_params(message),
            "key": message.key,
        }
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if message.key:
            headers["Idempotency-Key"] = message.key
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryFailed(REFUSED if 400 <= exc.code < 500 else UNAVAILABLE) from None
        except (urllib.error.URLError, OSError):
            raise DeliveryFailed(UNAVAILABLE) from None

    def close(self) -> None:
        pass

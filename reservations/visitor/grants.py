"""A short-lived proof that this browser has just found a booking by phone and document.

"My bookings" answers a lookup with the visitor's bookings; to cancel one of them without
its manage token, the page hands out a grant per booking: an HMAC over the reference, an
expiry and the browser's CSRF cookie, under a key derived from the service's master secret.
The cancel form presents it back. The phone and document never leave the lookup request:
no hidden field, no URL carries them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from reservations.privacy.vault import get_vault

LIFETIME = timedelta(minutes=15)
_KEY_LABEL = "visitor-pages/cancel-grant/v1"


def _key() -> bytes:
    # A key of its own, derived through the vault's keyed hash of a fixed label.
    return bytes.fromhex(get_vault().token_hash(_KEY_LABEL))


def _mac(reference: str, expires: int, browser: str) -> str:
    message = f"{reference.upper()}\x00{expires}\x00{browser}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def issue(reference: str, browser: str, now: datetime) -> str:
    expires = int((now + LIFETIME).timestamp())
    return f"{expires}.{_mac(reference, expires, browser)}"


def verify(grant: str, reference: str, browser: str | None, now: datetime) -> bool:
    """True if ``grant`` was issued to this browser for this booking and is still fresh."""
    if not browser:
        return False
    expires_text, _, mac = grant.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(mac, _mac(reference, expires, browser))

"""Where a ticket's QR image is: a link that carries its own authorisation.

The image holds the entry code itself, and the ticket number is printed under it, so the
number alone must not fetch the image: each link carries a keyed hash of the ticket
(``?sig=``), made from the service's master secret. Whoever was given the link (the
booking's answer and pages, behind its manage token) can open it; a photo of a printed
ticket number cannot.
"""

from __future__ import annotations

import hmac

from reservations.privacy.vault import get_vault

_PURPOSE = "ticket-image-link"
API_PREFIX = "/api/v1"


def signature(ticket_id: str) -> str:
    return get_vault().blind_index(ticket_id.strip().upper(), _PURPOSE)[:32]


def image_url(ticket_id: str, kind: str) -> str:
    """``/api/v1/tickets/<id>/qr.png?sig=...`` (``kind``: ``png`` or ``svg``)."""
    return f"{API_PREFIX}/tickets/{ticket_id}/qr.{kind}?sig={signature(ticket_id)}"


def is_signed(ticket_id: str, presented: str | None) -> bool:
    if not presented:
        return False
    # Bytes: compare_digest refuses text that is not ASCII, and anybody may send that.
    expected = signature(ticket_id).encode()
    return hmac.compare_digest(expected, presented.strip().lower().encode("utf-8", "replace"))

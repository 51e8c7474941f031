"""The key a team leader's browser keeps to reopen the request's page.

Handed out (in an HttpOnly cookie limited to that page) when the request is made and when
the leader proves who they are again with their phone and document. Only its keyed hash is
stored, one per request: proving again renews it and revokes the previous key, so a
leader who lost a device, or shared a computer, shuts the other browser out. A key ends
with its booking, at the end of the visit day.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from reservations import clock
from reservations.booking.models import TEAM, Booking
from reservations.dbtypes import UTCDateTime
from reservations.errors import NotFound
from reservations.privacy.vault import get_vault
from reservations.teams.models import LeaderPageKey


@dataclass(frozen=True, slots=True)
class LeaderKey:
    value: str
    expires_at: datetime

    def seconds_left(self) -> int:
        return max(int((self.expires_at - clock.now()).total_seconds()), 0)


def ends_at(booking: Booking) -> datetime:
    """When a request's key stops opening its page: the end of the visit day."""
    return clock.localize(booking.day + timedelta(days=1), "00:00")


_ISSUE = text(
    """
    INSERT INTO team_page_key (booking_id, key_hash, issued_at, expires_at)
    VALUES (:booking_id, :key_hash, :now, :expires_at)
    ON CONFLICT (booking_id) DO UPDATE SET
      key_hash = excluded.key_hash, issued_at = excluded.issued_at,
      expires_at = excluded.expires_at
    """
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("expires_at", type_=UTCDateTime()))
_FORGET_ENDED = text("DELETE FROM team_page_key WHERE expires_at <= :now").bindparams(
    bindparam("now", type_=UTCDateTime())
)


def issue(session: Session, reference: str) -> LeaderKey:
    """A new key for the request's page; the previous one stops working. ``not_found``
    once the visit day is over (the page has nothing left to do)."""
    booking = session.exec(
        select(Booking).where(
            col(Booking.reference) == reference.strip().upper(), col(Booking.channel) == TEAM
        )
    ).first()
    if booking is None:
        raise NotFound()
    now = clock.now()
    expires_at = ends_at(booking)
    if expires_at <= now:
        raise NotFound()
    value = secrets.token_urlsafe(24)
    connection = session.connection()
    connection.execute(_FORGET_ENDED, {"now": now})
    connection.execute(
        _ISSUE,
        {
            "booking_id": booking.id,
            "key_hash": get_vault().token_hash(value),
            "now": now,
            "expires_at": expires_at,
        },
    )
    return LeaderKey(value, expires_at)


def booking_for(session: Session, reference: str, presented: str | None) -> Booking:
    """The team booking if ``presented`` is its current, unexpired key; else not_found."""
    if not presented or len(presented) > 100:
        raise NotFound()
    presented_hash = get_vault().token_hash(presented)
    found = session.exec(
        select(Booking, LeaderPageKey)
        .join(LeaderPageKey, col(LeaderPageKey.booking_id) == col(Booking.id))
        .where(
            col(Booking.reference) == reference.strip().upper(),
            col(Booking.channel) == TEAM,
            col(LeaderPageKey.key_hash) == presented_hash,
        )
    ).first()
    if found is None:
        raise NotFound()
    booking, key = found
    if not hmac.compare_digest(key.key_hash, presented_hash) or key.expires_at <= clock.now():
        raise NotFound()
    return booking

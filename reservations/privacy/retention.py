"""Personal data is kept only as long as needed (PIPL articles 19 and 47).

``privacy.retention_days`` after a visit day, the names, document numbers, phone numbers
and e-mail addresses of its bookings are erased: ciphertexts, masked forms and keyed
hashes alike. What stays is anonymous: day, slot, channel, party size, status, for the
statistics. Waiting list entries of those days are erased alike
(``reservations.waitlist.retention``). The no-show rules keep what they need in their own
tables, as keyed hashes only: a strike while it still counts (``no_show.window_days``) and
a ban while it lasts; a ban an admin lifted is listed (masked) for ``no_show.window_days``.

On SQLite, erased values do not survive in the file: ``secure_delete`` zeroes freed space
(see ``reservations.db``) and, after the purge commits, the write-ahead log is
checkpointed and truncated, so old page images do not linger in the ``-wal`` file.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import idempotency, noshows
from reservations.booking.models import BanLift, Booking, NoShowStrike, Visitor, VisitorBan
from reservations.privacy.erasure import ERASED_CONTACT, ERASED_PERSON
from reservations.rules import service as rules_service
from reservations.waitlist import retention as waitlist_retention

NAME = "purge-personal-data"

log = logging.getLogger("reservations.jobs")

_BOOKING: Any = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Any = Visitor.__table__  # type: ignore[attr-defined]
_STRIKE: Any = NoShowStrike.__table__  # type: ignore[attr-defined]
_BAN: Any = VisitorBan.__table__  # type: ignore[attr-defined]
_BAN_LIFT: Any = BanLift.__table__  # type: ignore[attr-defined]


def purge(session: Session) -> dict[str, Any]:
    """Erase what the retention period no longer allows to keep. Idempotent."""
    db.one_at_a_time(session, NAME)
    rules = rules_service.current(session)
    now = clock.now()
    today = now.date()
    # First settle the no-shows of the days about to be erased, so no strike is lost
    # when mark-no-shows did not run (a cron-less deployment, a long outage).
    settled = noshows.mark(session, rules)

    cutoff = today - timedelta(days=rules.privacy.retention_days)
    due = select(_BOOKING.c.id).where(
        _BOOKING.c.day < cutoff, _BOOKING.c.personal_data_erased_at.is_(None)
    )
    connection = session.connection()
    visitors = connection.execute(
        update(_VISITOR)
        .where(_VISITOR.c.booking_id.in_(due))
        .values(ERASED_PERSON)
        .returning(_VISITOR.c.id)
    ).all()
    bookings = connection.execute(
        update(_BOOKING)
        .where(_BOOKING.c.day < cutoff, _BOOKING.c.personal_data_erased_at.is_(None))
        .values(
            **ERASED_CONTACT,
            # Free text written by staff about the request may name people.
            review_note=None,
            personal_data_erased_at=now,
        )
        .returning(_BOOKING.c.id)
    ).all()
    strikes = connection.execute(
        delete(_STRIKE)
        .where(_STRIKE.c.day <= today - timedelta(days=rules.no_show.window_days))
        .returning(_STRIKE.c.id)
    ).all()
    bans = connection.execute(
        delete(_BAN).where(_BAN.c.until < today).returning(_BAN.c.identity_hash)
    ).all()
    # A lifted ban is shown (masked) for as long as its strikes would have counted.
    lifts = connection.execute(
        delete(_BAN_LIFT)
        .where(_BAN_LIFT.c.lifted_at < now - timedelta(days=rules.no_show.window_days))
        .returning(_BAN_LIFT.c.id)
    ).all()
    waiting = waitlist_retention.erase(connection, before=cutoff)
    replies = idempotency.purge_expired(session)
    return {
        "before": cutoff.isoformat(),
        "bookings_erased": len(bookings),
        "visitors_erased": len(visitors),
        "waiting_entries_erased": waiting,
        "strikes_forgotten": len(strikes),
        "bans_ended": len(bans),
        "ban_lifts_forgotten": len(lifts),
        "idempotency_records": replies,
        "no_shows_settled": settled["no_shows"],
    }


def truncate_sqlite_log() -> bool:
    """Copy the write-ahead log into the database file and truncate it to zero bytes.

    Runs outside any transaction, after the purge committed. True when the log was emptied,
    False when readers kept it busy (the next purge tries again).
    """
    engine = db.get_engine()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()
    busy = row is None or bool(row[0])
    if busy:
        log.warning("the write-ahead log could not be truncated now; the next purge retries")
    return not busy


def run() -> dict[str, Any]:
    with db.transaction() as session:
        result = purge(session)
    if db.is_sqlite():
        result["log_truncated"] = truncate_sqlite_log()
    return result

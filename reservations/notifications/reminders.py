"""Reminders the day before a visit, in the booking's language.

A booking is claimed by setting its ``reminded_at`` in a short transaction before its
message goes out, so a run started again, or beside this one, never sends it twice; if
the message cannot be delivered the claim is given back and a later run tries again.
No transaction stays open while a mail server or SMS gateway answers. (A process that
dies between claim and send loses that reminder: one missed reminder is better than a
stream of repeated ones.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlmodel
from sqlalchemy import select, update
from sqlmodel import Session

from reservations import clock, db, languages
from reservations.booking import identities
from reservations.booking.models import Booking, BookingStatus, Visitor
from reservations.booking.presentation import cancellable_until
from reservations.gate.service import entry_window
from reservations.notifications.errors import DeliveryFailed
from reservations.notifications.messages import Message
from reservations.notifications.service import Recipient, open_notifier
from reservations.privacy.vault import DecryptionError, get_vault
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.web import i18n

NAME = "send-reminders"
TEMPLATE = "reminder"
BATCH = 50

log = logging.getLogger("reservations.notifications")

_BOOKING: Any = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Any = Visitor.__table__  # type: ignore[attr-defined]


def _when(instant: datetime, language: str) -> str:
    local = instant.astimezone(clock.zone())
    return f"{i18n.format_day(local.date(), 'day', language)} {local:%H:%M}"


@dataclass(frozen=True, slots=True)
class Reminder:
    booking_id: int
    recipient: Recipient
    message: Message


def send_due() -> dict[str, Any]:
    """Remind every confirmed booking for tomorrow that has not been reminded yet."""
    now = clock.now()
    day = now.date() + timedelta(days=1)
    counts: dict[str, Any] = {"day": day.isoformat(), "email": 0, "sms": 0, "fell_back": 0}
    undelivered: set[int] = set()
    with open_notifier() as notifier:
        while True:
            with db.transaction() as session:
                rules = rules_service.current(session)
                claimed = _claim(session, day, now, undelivered)
                batch = _prepare(session, claimed, rules)
            if not claimed:
                break
            failed = []
            for reminder in batch:
                try:
                    delivery = notifier.deliver(reminder.recipient, reminder.message)
                except DeliveryFailed as exc:
                    log.warning(
                        "reminder for booking %d not delivered: %s", reminder.booking_id, exc.reason
                    )
                    failed.append(reminder.booking_id)
                    continue
                counts[delivery.channel] += 1
                counts["fell_back"] += int(delivery.fell_back)
            failed.extend(set(claimed) - {reminder.booking_id for reminder in batch})
            if failed:
                undelivered.update(failed)
                with db.transaction() as session:
                    session.connection().execute(
                        update(_BOOKING).where(_BOOKING.c.id.in_(failed)).values(reminded_at=None)
                    )
    counts["failed"] = len(undelivered)
    return counts


def _claim(session: Session, day: date, now: datetime, skip: Iterable[int]) -> list[int]:
    """Mark up to BATCH bookings as reminded, in one statement; their ids."""
    due = (
        select(_BOOKING.c.id)
        .where(
            _BOOKING.c.day == day,
            _BOOKING.c.status == BookingStatus.CONFIRMED,
            _BOOKING.c.reminded_at.is_(None),
            _BOOKING.c.id.not_in(list(skip)),
        )
        .order_by(_BOOKING.c.id)
        .limit(BATCH)
    )
    rows = session.connection().execute(
        update(_BOOKING)
        .where(
            _BOOKING.c.id.in_(due),
            # Checked again on the row itself: a concurrent run claimed it first.
            _BOOKING.c.reminded_at.is_(None),
            _BOOKING.c.status == BookingStatus.CONFIRMED,
        )
        .values(reminded_at=now)
        .returning(_BOOKING.c.id)
    )
    return sorted(row[0] for row in rows)


def _prepare(session: Session, booking_ids: list[int], rules: Rules) -> list[Reminder]:
    if not booking_ids:
        return []
    bookings = session.exec(
        sqlmodel.select(Booking)
        .where(sqlmodel.col(Booking.id).in_(booking_ids))
        .order_by(sqlmodel.col(Booking.id))
    )
    names: dict[int, list[str]] = {}
    visitors = session.connection().execute(
        select(_VISITOR.c.booking_id, _VISITOR.c.name_masked, _VISITOR.c.role)
        .where(_VISITOR.c.booking_id.in_(booking_ids))
        .order_by(_VISITOR.c.booking_id, _VISITOR.c.position)
    )
    for booking_id, name_masked, role in visitors:
        if name_masked and role in ("visitor", "leader"):
            names.setdefault(booking_id, []).append(name_masked)
    vault = get_vault()
    reminders = []
    for booking in bookings:
        assert booking.id is not None
        try:
            email = (
                vault.decrypt(booking.email_enc, identities.EMAIL) if booking.email_enc else None
            )
            phone = (
                vault.decrypt(booking.phone_enc, identities.PHONE) if booking.phone_enc else None
            )
        except DecryptionError:
            log.warning("booking %d: contact details do not decrypt", booking.id)
            continue
        reminders.append(
            Reminder(
                booking.id,
                Recipient(email=email, phone=phone),
                reminder_message(booking, names.get(booking.id, []), rules),
            )
        )
    return reminders


def reminder_message(booking: Booking, names: list[str], rules: Rules) -> Message:
    language = languages.known(booking.language)
    entry_from, entry_until = entry_window(rules, booking.day, booking.slot_start, booking.slot_end)
    deadline = cancellable_until(booking, rules)
    values: dict[str, Any] = {
        "reference": booking.reference,
        "date": i18n.format_day(booking.day, "letter", language),
        "date_short": i18n.format_day(booking.day, "day", language),
        "slot": f"{booking.slot_start}-{booking.slot_end}",
        "entry_from": f"{entry_from:%H:%M}",
        "entry_until": f"{entry_until:%H:%M}",
        "party_size": booking.party_size,
        "names": names,
        "team": channels.is_party(booking.channel),
        "organization": booking.organization or "",
        "cancel_until": _when(deadline, language) if deadline is not None else "",
        "no_show_strikes": rules.no_show.strikes,
        "no_show_window_days": rules.no_show.window_days,
        "no_show_ban_days": rules.no_show.ban_days,
    }
    return Message(TEMPLATE, language, values, key=f"{TEMPLATE}:{booking.reference}")

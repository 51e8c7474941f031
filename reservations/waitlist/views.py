"""Waiting list entries as the API and the pages show them: masked, with their position,
their offer and, once confirmed, their booking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from reservations import clock
from reservations.booking.models import Booking, Visitor
from reservations.booking.presentation import present_one
from reservations.booking.schemas import MaskedPerson, SlotOut
from reservations.rules.schema import Rules
from reservations.waitlist import store
from reservations.waitlist.models import WaitingEntry, WaitingStatus
from reservations.waitlist.schemas import AdminEntryOut, NotifyOut, OfferOut, WaitingEntryOut


def local(instant: datetime) -> datetime:
    return instant.astimezone(clock.zone())


def people(session: Session, entry_ids: Sequence[int]) -> dict[int, list[MaskedPerson]]:
    """The masked people of each entry, in the order they were given (none once erased)."""
    found: dict[int, list[MaskedPerson]] = {entry_id: [] for entry_id in entry_ids}
    if entry_ids:
        statement = (
            select(Visitor)
            .where(col(Visitor.waiting_entry_id).in_(list(entry_ids)))
            .order_by(col(Visitor.position))
        )
        for visitor in session.exec(statement):
            assert visitor.waiting_entry_id is not None  # selected by entry
            if visitor.name_masked is None and visitor.id_masked is None:
                continue  # erased: nobody left to show
            found[visitor.waiting_entry_id].append(
                MaskedPerson(name=visitor.name_masked, id_masked=visitor.id_masked)
            )
    return found


def position(session: Session, entry: WaitingEntry) -> int | None:
    if entry.status != WaitingStatus.WAITING or entry.id is None:
        return None
    counted = (
        session.connection()
        .execute(store.POSITION, {"day": entry.day, "entry_id": entry.id})
        .scalar_one()
    )
    return int(counted)


def offer(entry: WaitingEntry) -> OfferOut | None:
    if entry.offered_at is None or entry.offer_expires_at is None or entry.offer_slot_id is None:
        return None
    return OfferOut(
        slot=SlotOut(
            id=entry.offer_slot_id,
            start=entry.offer_slot_start or "",
            end=entry.offer_slot_end or "",
        ),
        offered_at=local(entry.offered_at),
        expires_at=local(entry.offer_expires_at),
    )


def notify(entry: WaitingEntry, rules: Rules) -> NotifyOut:
    return NotifyOut(
        sms=entry.phone_masked,
        email=entry.email_masked,
        offer_minutes=rules.waiting_list.offer_minutes,
    )


def render(
    session: Session,
    entry: WaitingEntry,
    rules: Rules,
    *,
    manage_token: str | None = None,
    masked: list[MaskedPerson] | None = None,
) -> WaitingEntryOut:
    assert entry.id is not None
    booking = None
    if entry.booking_id is not None:
        found = session.get(Booking, entry.booking_id)
        if found is not None:
            booking = present_one(session, found, rules)
    return WaitingEntryOut(
        reference=entry.reference,
        manage_token=manage_token,
        status=entry.status,
        day=entry.day,
        slot_id=entry.slot_id,
        position=position(session, entry),
        party_size=entry.party_size,
        visitors=masked if masked is not None else people(session, [entry.id])[entry.id],
        notify=notify(entry, rules),
        created_at=local(entry.created_at),
        offer=offer(entry)
        if entry.status == WaitingStatus.OFFERED or booking is not None
        else None,
        booking=booking,
    )


def render_for_admin(session: Session, entries: Sequence[WaitingEntry]) -> list[AdminEntryOut]:
    """A day's entries in the order they joined (masked)."""
    ids = [entry.id for entry in entries if entry.id is not None]
    masked = people(session, ids)
    booked_ids = [entry.booking_id for entry in entries if entry.booking_id is not None]
    references: dict[int, str] = {}
    if booked_ids:
        rows = session.exec(
            select(Booking.id, Booking.reference).where(col(Booking.id).in_(booked_ids))
        )
        references = {booking_id: reference for booking_id, reference in rows if booking_id}
    shown = []
    for joined, entry in enumerate(entries, start=1):
        assert entry.id is not None
        shown.append(
            AdminEntryOut(
                joined=joined,
                reference=entry.reference,
                status=entry.status,
                slot_id=entry.slot_id,
                party_size=entry.party_size,
                visitors=masked[entry.id],
                phone_masked=entry.phone_masked,
                created_at=local(entry.created_at),
                offer=offer(entry),
                notified_by=entry.notified_by,
                booking_reference=references.get(entry.booking_id or 0),
                ended_at=local(entry.ended_at) if entry.ended_at else None,
            )
        )
    return shown

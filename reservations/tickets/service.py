"""Issuing and voiding tickets."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from reservations import clock
from reservations.booking.models import Booking, Visitor
from reservations.tickets.models import Ticket, TicketStatus
from reservations.tickets.signing import get_keyring

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_ticket_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def issue(session: Session, booking: Booking, holders: Sequence[Visitor | None]) -> list[Ticket]:
    """One ticket per holder; a team's single ticket has no visitor and admits the party."""
    assert booking.id is not None
    keyring = get_keyring()
    tickets = []
    for holder in holders:
        party = 1 if holder is not None and booking.channel == "individual" else booking.party_size
        ticket_id = new_ticket_id()
        payload = keyring.sign(ticket_id, booking.day, booking.slot_id, party)
        ticket = Ticket(
            id=ticket_id,
            booking_id=booking.id,
            visitor_id=holder.id if holder is not None else None,
            day=booking.day,
            slot_id=booking.slot_id,
            party_size=party,
            kid=payload.split(".")[1],
            qr_payload=payload,
            created_at=clock.now(),
        )
        session.add(ticket)
        tickets.append(ticket)
    session.flush()
    return tickets


def for_bookings(session: Session, booking_ids: Iterable[int]) -> dict[int, list[Ticket]]:
    ids = list(booking_ids)
    grouped: dict[int, list[Ticket]] = {booking_id: [] for booking_id in ids}
    if not ids:
        return grouped
    statement = (
        select(Ticket).where(col(Ticket.booking_id).in_(ids)).order_by(col(Ticket.created_at))
    )
    for ticket in session.exec(statement):
        grouped[ticket.booking_id].append(ticket)
    return grouped


def void_for_booking(connection: Connection, booking_id: int) -> None:
    connection.execute(
        update(Ticket)
        .where(col(Ticket.booking_id) == booking_id, col(Ticket.status) == TicketStatus.VALID)
        .values(status=TicketStatus.VOID)
    )


def get(session: Session, ticket_id: str) -> Ticket | None:
    return session.get(Ticket, ticket_id)

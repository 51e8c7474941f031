"""Issuing and voiding tickets, and their use at the gate: in once, then out."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Integer, bindparam, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from reservations import clock, db
from reservations.booking.models import Booking, Visitor
from reservations.dbtypes import UTCDateTime
from reservations.rules import channels
from reservations.tickets.models import Ticket, TicketStatus, UseState
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
        party = booking.party_size if channels.is_party(booking.channel) else 1
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


# --- use at the gate ---------------------------------------------------------------------

_TICKET = Ticket.__table__  # type: ignore[attr-defined]

# The single entry: only an unused, valid ticket changes, whoever else scans it.
_ENTER = db.DriverStatement(
    update(_TICKET)
    .where(
        _TICKET.c.id == bindparam("t_id"),
        _TICKET.c.status == TicketStatus.VALID,
        _TICKET.c.use_state == UseState.UNUSED,
    )
    .values(
        use_state=UseState.INSIDE,
        admitted_count=bindparam("t_people", type_=Integer),
        entered_at=bindparam("t_now", type_=UTCDateTime()),
        entered_gate=bindparam("t_gate"),
    )
    .returning(_TICKET.c.id)
)
_LEAVE = db.DriverStatement(
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("t_id"), _TICKET.c.use_state == UseState.INSIDE)
    .values(use_state=UseState.LEFT, exited_at=bindparam("t_now", type_=UTCDateTime()))
    .returning(_TICKET.c.admitted_count)
)


def enter(connection: Connection, ticket_id: str, *, people: int, at: datetime, gate: str) -> bool:
    """The ticket admits ``people`` at ``gate``: one conditional update, so that it admits
    once however many gates scan it at the same moment. False when it did not apply (the
    ticket is void, or was used a moment ago)."""
    parameters = {"t_id": ticket_id, "t_people": people, "t_now": at, "t_gate": gate}
    return _ENTER.first(connection, parameters) is not None


def leave(connection: Connection, ticket_id: str, at: datetime) -> int | None:
    """The ticket's party leaves: the people it admitted, or None when it was not inside."""
    row = _LEAVE.first(connection, {"t_id": ticket_id, "t_now": at})
    return None if row is None else int(row[0])


def leave_day(connection: Connection, day: date, at: datetime) -> int:
    """Every ticket of ``day`` still inside has left, at ``at``: how many tickets."""
    left = connection.execute(
        update(_TICKET)
        .where(_TICKET.c.day == day, _TICKET.c.use_state == UseState.INSIDE)
        .values(use_state=UseState.LEFT, exited_at=at)
        .returning(_TICKET.c.id)
    ).all()
    return len(left)

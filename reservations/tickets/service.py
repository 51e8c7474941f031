"""Issuing and voiding tickets, and their use at the gate: in once, then out."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Integer, bindparam, func, update
from sqlalchemy import select as core_select
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

# The single entry: a valid ticket admits its party once. A team's ticket admits its people
# in parts, up to its party size in total; whoever else scans it, the condition is checked
# in the statement itself. The first entry's time and gate are kept.
_ENTER = db.DriverStatement(
    update(_TICKET)
    .where(
        _TICKET.c.id == bindparam("t_id"),
        _TICKET.c.status == TicketStatus.VALID,
        _TICKET.c.admitted_count + bindparam("t_people", type_=Integer) <= _TICKET.c.party_size,
    )
    .values(
        use_state=UseState.INSIDE,
        admitted_count=_TICKET.c.admitted_count + bindparam("t_people", type_=Integer),
        entered_at=func.coalesce(_TICKET.c.entered_at, bindparam("t_now", type_=UTCDateTime())),
        entered_gate=func.coalesce(_TICKET.c.entered_gate, bindparam("t_gate")),
    )
    .returning(_TICKET.c.admitted_count)
)
# The party's people inside leave together: those admitted less those who left before. The
# exited count read with the ticket is part of the condition, so a check-out that raced
# another one (or an entry of the rest of a team) is tried again with what it now says.
_LEAVE = db.DriverStatement(
    update(_TICKET)
    .where(
        _TICKET.c.id == bindparam("t_id"),
        _TICKET.c.use_state == UseState.INSIDE,
        _TICKET.c.exited_count == bindparam("t_exited", type_=Integer),
    )
    .values(
        use_state=UseState.LEFT,
        exited_at=bindparam("t_now", type_=UTCDateTime()),
        exited_count=_TICKET.c.admitted_count,
    )
    .returning(_TICKET.c.admitted_count)
)
_USE = db.DriverStatement(
    core_select(_TICKET.c.use_state, _TICKET.c.exited_count).where(
        _TICKET.c.id == bindparam("t_id")
    )
)
_LEAVE_TRIES = 5


def enter(connection: Connection, ticket_id: str, *, people: int, at: datetime, gate: str) -> bool:
    """The ticket admits ``people`` at ``gate``: one conditional update, so that it admits
    its party once however many gates scan it at the same moment. False when it did not
    apply (the ticket is void, or its people were admitted a moment ago)."""
    parameters = {"t_id": ticket_id, "t_people": people, "t_now": at, "t_gate": gate}
    return _ENTER.first(connection, parameters) is not None


def leave(
    connection: Connection, ticket_id: str, at: datetime, exited_before: int | None = None
) -> int | None:
    """The ticket's people inside leave: how many, or None when none of them was inside.
    ``exited_before`` is the ticket's exited count as read with it, if it was."""
    exited = exited_before
    for _ in range(_LEAVE_TRIES):
        if exited is None:
            state = _USE.first(connection, {"t_id": ticket_id})
            if state is None or state[0] != UseState.INSIDE:
                return None
            exited = int(state[1])
        row = _LEAVE.first(connection, {"t_id": ticket_id, "t_now": at, "t_exited": exited})
        if row is not None:
            return int(row[0]) - exited
        exited = None
    return None


def leave_day(connection: Connection, day: date, at: datetime) -> int:
    """Every ticket of ``day`` still inside has left, at ``at``: how many tickets."""
    left = connection.execute(
        update(_TICKET)
        .where(_TICKET.c.day == day, _TICKET.c.use_state == UseState.INSIDE)
        .values(use_state=UseState.LEFT, exited_at=at, exited_count=_TICKET.c.admitted_count)
        .returning(_TICKET.c.id)
    ).all()
    return len(left)

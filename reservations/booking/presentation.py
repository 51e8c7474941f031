"""Bookings as the API and the pages show them: masked, with their tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from reservations import clock
from reservations.booking.models import Booking, BookingStatus, Visitor
from reservations.booking.schemas import BookingOut, MaskedPerson, SlotOut, TicketOut
from reservations.rules import channels
from reservations.rules.schema import Rules
from reservations.tickets import links
from reservations.tickets import service as tickets
from reservations.tickets.models import UseState


class BookingLike(Protocol):
    """A booking as rendered: a stored row, or one about to be stored."""

    @property
    def reference(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def day(self) -> date: ...
    @property
    def slot_id(self) -> str: ...
    @property
    def slot_start(self) -> str: ...
    @property
    def slot_end(self) -> str: ...
    @property
    def party_size(self) -> int: ...
    @property
    def phone_masked(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def organization(self) -> str | None: ...
    @property
    def review_note(self) -> str | None: ...


class VisitorLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def role(self) -> str: ...
    @property
    def name_masked(self) -> str | None: ...
    @property
    def id_masked(self) -> str | None: ...


class TicketLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def visitor_id(self) -> int | None: ...
    @property
    def party_size(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def use_state(self) -> str: ...
    @property
    def qr_payload(self) -> str: ...


def cancellable_until(booking: BookingLike, rules: Rules) -> datetime | None:
    if booking.status not in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
        return None
    minutes = rules.channel(booking.channel).cancel_minutes_before_start
    return clock.localize(booking.day, booking.slot_start) - timedelta(minutes=minutes)


def _person(visitor: VisitorLike | None) -> MaskedPerson | None:
    if visitor is None:
        return None
    return MaskedPerson(name=visitor.name_masked, id_masked=visitor.id_masked)


def _ticket(ticket: TicketLike, holder: VisitorLike | None) -> TicketOut:
    return TicketOut(
        ticket_id=ticket.id,
        visitor=_person(holder),
        party_size=ticket.party_size,
        status=ticket.status,
        used=ticket.use_state != UseState.UNUSED,
        qr_payload=ticket.qr_payload,
        qr_png_url=links.image_url(ticket.id, "png"),
        qr_svg_url=links.image_url(ticket.id, "svg"),
    )


def present(
    session: Session,
    bookings: Sequence[Booking],
    rules: Rules,
    manage_tokens: dict[int, str] | None = None,
) -> list[BookingOut]:
    ids = [booking.id for booking in bookings if booking.id is not None]
    visitors: dict[int, list[Visitor]] = {booking_id: [] for booking_id in ids}
    if ids:
        statement = (
            select(Visitor).where(col(Visitor.booking_id).in_(ids)).order_by(col(Visitor.position))
        )
        for visitor in session.exec(statement):
            assert visitor.booking_id is not None  # selected by booking
            visitors[visitor.booking_id].append(visitor)
    ticket_map = tickets.for_bookings(session, ids)
    rendered = []
    for booking in bookings:
        assert booking.id is not None
        token = (manage_tokens or {}).get(booking.id)
        rendered.append(
            present_parts(booking, visitors[booking.id], ticket_map[booking.id], rules, token)
        )
    return rendered


def present_parts(
    booking: BookingLike,
    people: Sequence[VisitorLike],
    booking_tickets: Sequence[TicketLike],
    rules: Rules,
    manage_token: str | None = None,
) -> BookingOut:
    """A booking from rows at hand: read, or about to be stored (a new booking is rendered
    before its transaction, and needs no query to show itself)."""
    by_id = {visitor.id: visitor for visitor in people}
    leader = next((visitor for visitor in people if visitor.role == "leader"), None)
    is_team = channels.is_party(booking.channel)
    return BookingOut(
        reference=booking.reference,
        manage_token=manage_token,
        channel=booking.channel,
        status=booking.status,
        day=booking.day,
        slot=SlotOut(id=booking.slot_id, start=booking.slot_start, end=booking.slot_end),
        party_size=booking.party_size,
        phone_masked=booking.phone_masked,
        visitors=[_person(v) for v in people if v.role == "visitor"],
        tickets=[
            _ticket(t, by_id.get(t.visitor_id) if t.visitor_id else leader) for t in booking_tickets
        ],
        created_at=booking.created_at,
        cancellable_until=cancellable_until(booking, rules),
        organization=booking.organization if is_team else None,
        size=booking.party_size if is_team else None,
        leader=_person(leader) if is_team else None,
        review_note=booking.review_note,
    )


def present_one(
    session: Session, booking: Booking, rules: Rules, manage_token: str | None = None
) -> BookingOut:
    tokens = {booking.id: manage_token} if manage_token and booking.id is not None else None
    return present(session, [booking], rules, tokens)[0]

"""Individual booking: the rules, the atomic taking of places, reading and cancelling."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Table, bindparam, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from reservations import clock
from reservations.booking import capacity, identities
from reservations.booking.errors import (
    CannotCancel,
    ConsentRequired,
    DuplicateVisitor,
    MinorWithoutGuardian,
    TooManyVisitors,
    UnknownSlot,
    VisitorBanned,
)
from reservations.booking.models import (
    CANCELLED,
    CONFIRMED,
    INDIVIDUAL,
    PENDING,
    Booking,
    Visitor,
    VisitorBan,
)
from reservations.booking.schemas import (
    AvailabilityOut,
    BookingOut,
    BookingRequest,
    ChannelAvailability,
    DayAvailability,
    LookupRequest,
    SlotAvailability,
    TeamAvailability,
)
from reservations.booking.views import cancellable_until, render, render_one, render_parts
from reservations.errors import NotFound, field_error
from reservations.privacy.vault import get_vault
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules, Slot
from reservations.tickets import service as tickets
from reservations.tickets.models import UNUSED, VALID, Ticket
from reservations.tickets.signing import get_keyring

MAX_AVAILABILITY_DAYS = 62
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


_REFERENCE_TAKEN = text("SELECT 1 FROM booking WHERE reference = :reference")


def new_reference(session: Session) -> str:
    # Eight characters of 31 give about 10^12 references: collisions are rare, not impossible.
    while True:
        reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
        taken = session.connection().execute(_REFERENCE_TAKEN, {"reference": reference})
        if taken.first() is None:
            return reference


def new_manage_token() -> str:
    return secrets.token_urlsafe(24)


def slot_or_error(rules: Rules, slot_id: str) -> Slot:
    slot = rules.slot(slot_id)
    if slot is None:
        raise UnknownSlot({"fields": [{"field": "slot_id", "problem": "unknown slot"}]})
    return slot


def check_not_banned(session: Session, identity_hashes: list[str], today: date) -> None:
    statement = select(VisitorBan).where(
        col(VisitorBan.identity_hash).in_(identity_hashes), col(VisitorBan.until) >= today
    )
    ban = session.exec(statement).first()
    if ban is not None:
        raise VisitorBanned({"until": ban.until.isoformat()})


def check_no_other_booking(session: Session, identity_hashes: list[str], day: date) -> None:
    statement = select(Visitor.id).where(
        col(Visitor.identity_hash).in_(identity_hashes), col(Visitor.claim_date) == day
    )
    if session.exec(statement).first() is not None:
        raise DuplicateVisitor()


def flush_claims(session: Session) -> None:
    """Insert pending visitors; the unique claim index settles a person racing themselves."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise DuplicateVisitor() from None


@dataclass(frozen=True, slots=True)
class Created:
    booking: Booking
    view: BookingOut


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything a booking stores that needs no database: validated, sealed and signed
    before the transaction starts, so none of that work happens while holding a lock."""

    people: list[identities.Person]
    visitor_columns: list[dict[str, Any]]
    contact_columns: dict[str, Any]
    manage_token: str
    manage_token_hash: str
    tickets: list[tuple[str, str]]  # (ticket id, signed payload), one per person

    @property
    def identity_hashes(self) -> list[str]:
        return [person.identity_hash for person in self.people]


def _prepare(request: BookingRequest, today: date) -> _Prepared:
    if not request.consent or request.sensitive_consent is False:
        raise ConsentRequired()
    phone = identities.phone(request.phone)
    people = [identities.person(visitor, today) for visitor in request.visitors]
    if any(person.is_minor_on(request.day) for person in people):
        if not any(person.is_adult_on(request.day) for person in people):
            raise MinorWithoutGuardian()
        if request.guardian_consent is False:
            raise ConsentRequired({"consent": "guardian"})
    hashes = [person.identity_hash for person in people]
    if len(set(hashes)) != len(hashes):
        raise DuplicateVisitor({"within_request": True})
    keyring = get_keyring()
    ticket_ids = [tickets.new_ticket_id() for _ in people]
    manage_token = new_manage_token()
    return _Prepared(
        people=people,
        visitor_columns=[person.sealed_columns() for person in people],
        contact_columns={
            **identities.phone_columns(phone),
            **identities.email_columns(request.email),
        },
        manage_token=manage_token,
        manage_token_hash=get_vault().token_hash(manage_token),
        tickets=[
            (ticket_id, keyring.sign(ticket_id, request.day, request.slot_id, 1))
            for ticket_id in ticket_ids
        ],
    )


_MAY_BOOK = text(
    """
    SELECT 'banned', until FROM visitor_ban
     WHERE identity_hash IN :hashes AND until >= :today
    UNION ALL
    SELECT 'booked', NULL FROM visitor
     WHERE identity_hash IN :hashes AND claim_date = :day
    """
).bindparams(
    bindparam("hashes", expanding=True),
    bindparam("today", type_=Date),
    bindparam("day", type_=Date),
)


def check_may_book(session: Session, identity_hashes: list[str], today: date, day: date) -> None:
    """Refuse banned people and people who already hold a booking that day, in one query.

    The unique claim index is what guarantees one booking per person and day; this check
    only answers the common case early and clearly.
    """
    found = session.connection().execute(
        _MAY_BOOK, {"hashes": identity_hashes, "today": today, "day": day}
    )
    reasons = {row[0]: row[1] for row in found}
    if "banned" in reasons:
        until = reasons["banned"]
        raise VisitorBanned({"until": str(until)[:10]})
    if "booked" in reasons:
        raise DuplicateVisitor()


def create(session: Session, request: BookingRequest, language: str = "zh") -> Created:
    now = clock.now()
    prepared = _prepare(request, now.date())

    rules = rules_service.current(session)
    if len(prepared.people) > rules.individual.max_visitors_per_booking:
        raise TooManyVisitors({"max": rules.individual.max_visitors_per_booking})
    slot = slot_or_error(rules, request.slot_id)
    override = rules_service.get_override(session, request.day)
    plan = rules_service.plan_day(rules, override, INDIVIDUAL, request.day, now)
    rules_service.require_bookable(plan)
    check_may_book(session, prepared.identity_hashes, now.date(), request.day)
    capacity.take(
        session,
        day=request.day,
        channel=INDIVIDUAL,
        slot_id=slot.id,
        places=len(prepared.people),
        daily_capacity=plan.daily_capacity,
        slot_capacity=plan.slot_capacities[slot.id],
    )

    booking = Booking(
        reference=new_reference(session),
        channel=INDIVIDUAL,
        day=request.day,
        slot_id=slot.id,
        slot_start=slot.start,
        slot_end=slot.end,
        status=CONFIRMED,
        party_size=len(prepared.people),
        manage_token_hash=prepared.manage_token_hash,
        language=request.language or language,
        created_at=now,
        updated_at=now,
        **prepared.contact_columns,
    )
    connection = session.connection()
    booking.id = connection.execute(
        insert(_BOOKING).returning(_BOOKING.c.id), [_row(booking, _BOOKING)]
    ).scalar_one()
    visitors = [
        Visitor(
            booking_id=booking.id,
            position=position,
            claim_date=request.day,
            is_minor=person.is_minor_on(request.day),
            **columns,
        )
        for position, (person, columns) in enumerate(
            zip(prepared.people, prepared.visitor_columns, strict=True)
        )
    ]
    try:
        # A savepoint: on PostgreSQL a failed insert would otherwise spoil the transaction.
        with session.begin_nested():
            ids = connection.execute(
                insert(_VISITOR).returning(_VISITOR.c.id, sort_by_parameter_order=True),
                [_row(visitor, _VISITOR) for visitor in visitors],
            ).scalars()
            for visitor, visitor_id in zip(visitors, ids, strict=True):
                visitor.id = visitor_id
    except IntegrityError:
        # The unique claim index: the same person booked the day in a racing request.
        raise DuplicateVisitor() from None
    booking_tickets = [
        Ticket(
            id=ticket_id,
            booking_id=booking.id,
            visitor_id=visitor.id,
            day=request.day,
            slot_id=slot.id,
            party_size=1,
            kid=payload.split(".")[1],
            qr_payload=payload,
            status=VALID,
            use_state=UNUSED,
            admitted_count=0,
            created_at=now,
        )
        for visitor, (ticket_id, payload) in zip(visitors, prepared.tickets, strict=True)
    ]
    connection.execute(insert(_TICKET), [_row(ticket, _TICKET) for ticket in booking_tickets])
    view = render_parts(booking, visitors, booking_tickets, rules, prepared.manage_token)
    return Created(booking, view)


_BOOKING: Table = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Table = Visitor.__table__  # type: ignore[attr-defined]
_TICKET: Table = Ticket.__table__  # type: ignore[attr-defined]


def _row(instance: SQLModel, table: Table) -> dict[str, Any]:
    """Column values of an unsaved model for a Core insert (the database assigns ``id``)."""
    return {
        column.name: getattr(instance, column.name)
        for column in table.columns
        if not (column.name == "id" and getattr(instance, "id", None) is None)
    }


def find_by_token(
    session: Session, reference: str, token: str | None, *, lock: bool = False
) -> Booking:
    """The booking if the token is its manage token; otherwise not_found, with no hint."""
    statement = select(Booking).where(Booking.reference == reference.strip().upper())
    if lock:
        statement = statement.with_for_update()
    booking = session.exec(statement).first()
    expected = get_vault().token_hash(token or "")
    if booking is None or not token or not hmac.compare_digest(booking.manage_token_hash, expected):
        raise NotFound()
    return booking


def read(session: Session, reference: str, token: str | None) -> BookingOut:
    booking = find_by_token(session, reference, token)
    return render_one(session, booking, rules_service.current(session))


def cancel_booking(session: Session, booking: Booking, rules: Rules) -> None:
    """Cancel and return the places at once. Also used by the team channel."""
    deadline = cancellable_until(booking, rules)
    if deadline is None or clock.now() >= deadline:
        raise CannotCancel({"status": booking.status})
    was_holding = booking.status in (PENDING, CONFIRMED)
    booking.status = CANCELLED
    booking.cancelled_at = booking.updated_at = clock.now()
    session.add(booking)
    assert booking.id is not None
    session.connection().execute(
        update(Visitor).where(col(Visitor.booking_id) == booking.id).values(claim_date=None)
    )
    tickets.void_for_booking(session, booking.id)
    if was_holding:
        capacity.release(
            session,
            day=booking.day,
            channel=booking.channel,
            slot_id=booking.slot_id,
            places=booking.party_size,
        )
    session.flush()


def cancel(session: Session, reference: str, token: str | None) -> BookingOut:
    booking = find_by_token(session, reference, token, lock=True)
    rules = rules_service.current(session)
    cancel_booking(session, booking, rules)
    return render_one(session, booking, rules)


def lookup(session: Session, request: LookupRequest) -> list[BookingOut]:
    """A visitor's bookings, found by phone and document together."""
    today = clock.today()
    phone = identities.phone(request.phone)
    person = identities.person_document(request.id_type, request.id_number, today)
    vault = get_vault()
    statement = (
        select(Booking)
        .join(Visitor, col(Visitor.booking_id) == col(Booking.id))
        .where(
            Booking.phone_hash == vault.blind_index(phone, identities.PHONE),
            Visitor.identity_hash == person,
        )
        .order_by(col(Booking.day).desc(), col(Booking.id).desc())
        .limit(50)
    )
    bookings = list({booking.id: booking for booking in session.exec(statement)}.values())
    return render(session, bookings, rules_service.current(session))


def availability(session: Session, start: date, end: date) -> AvailabilityOut:
    if end < start:
        raise field_error("end", "must not be before start")
    if (end - start).days >= MAX_AVAILABILITY_DAYS:
        raise field_error("end", f"at most {MAX_AVAILABILITY_DAYS} days per call")
    now = clock.now()
    rules = rules_service.current(session)
    overrides = rules_service.overrides_between(session, start, end)
    booked = capacity.booked_between(session, start, end)
    days = []
    # Counting offsets, never stepping past ``end``: the last representable date has no
    # successor.
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        override = overrides.get(day)
        individual = rules_service.plan_day(rules, override, INDIVIDUAL, day, now)
        team = rules_service.plan_day(rules, override, "team", day, now)
        days.append(_day_availability(rules, individual, team, booked, override_note(override)))
    return AvailabilityOut(days=days)


def override_note(override: object) -> str | None:
    return getattr(override, "note", None)


def _remaining(capacity_: int, taken: int) -> int:
    return max(capacity_ - taken, 0)


def _day_availability(
    rules: Rules,
    individual: rules_service.DayPlan,
    team: rules_service.DayPlan,
    booked: dict[tuple[date, str, str], int],
    note: str | None,
) -> DayAvailability:
    day = individual.day
    ind_booked = booked.get((day, INDIVIDUAL, "*"), 0)
    team_booked = booked.get((day, "team", "*"), 0)
    ind_left = _remaining(individual.daily_capacity, ind_booked)
    team_left = _remaining(team.daily_capacity, team_booked)
    slots = []
    for slot in rules.slots:
        slots.append(
            SlotAvailability(
                id=slot.id,
                start=slot.start,
                end=slot.end,
                individual_capacity=individual.slot_capacities[slot.id],
                individual_remaining=min(
                    ind_left,
                    _remaining(
                        individual.slot_capacities[slot.id],
                        booked.get((day, INDIVIDUAL, slot.id), 0),
                    ),
                ),
                team_capacity=team.slot_capacities[slot.id],
                team_remaining=min(
                    team_left,
                    _remaining(
                        team.slot_capacities[slot.id], booked.get((day, "team", slot.id), 0)
                    ),
                ),
            )
        )
    ind_open = any(s.individual_remaining > 0 for s in slots)
    team_open = any(s.team_remaining > 0 for s in slots)
    ind_reason = individual.reason or (None if ind_open else rules_service.SOLD_OUT)
    team_reason = team.reason or (None if team_open else rules_service.SOLD_OUT)
    return DayAvailability(
        day=day,
        bookable=ind_reason is None,
        reason=ind_reason,
        individual=ChannelAvailability(
            capacity=individual.daily_capacity, booked=ind_booked, remaining=ind_left
        ),
        team=TeamAvailability(
            capacity=team.daily_capacity,
            booked=team_booked,
            remaining=team_left,
            bookable=team_reason is None,
            reason=team_reason,
        ),
        slots=slots,
        note=note,
    )


# --- for the visitor pages ------------------------------------------------------------------


def cancel_proven(session: Session, reference: str) -> BookingOut:
    """Cancel an individual booking whose owner the caller has already proved (the visitor
    pages, right after a lookup by phone and document); otherwise like ``cancel``."""
    statement = (
        select(Booking)
        .where(Booking.reference == reference.strip().upper(), Booking.channel == INDIVIDUAL)
        .with_for_update()
    )
    booking = session.exec(statement).first()
    if booking is None:
        raise NotFound()
    rules = rules_service.current(session)
    cancel_booking(session, booking, rules)
    return render_one(session, booking, rules)


def released_at(rules: Rules, day: date, channel: str = INDIVIDUAL) -> datetime:
    """When ``day`` opens for booking in ``channel`` (``not_released`` until then)."""
    settings = rules.channel(channel)
    return clock.localize(day - timedelta(days=settings.max_days_ahead), settings.release_time)

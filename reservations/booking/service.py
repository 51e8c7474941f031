"""Individual booking: the rules, the atomic taking of places, reading and cancelling."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

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
from reservations.booking.views import cancellable_until, render, render_one
from reservations.errors import NotFound, field_error
from reservations.privacy.vault import get_vault
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules, Slot
from reservations.tickets import service as tickets

MAX_AVAILABILITY_DAYS = 62
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(session: Session) -> str:
    while True:
        reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
        if session.exec(select(Booking.id).where(Booking.reference == reference)).first() is None:
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


def create(session: Session, request: BookingRequest, language: str = "zh") -> Created:
    now = clock.now()
    rules = rules_service.current(session)
    if not request.consent or request.sensitive_consent is False:
        raise ConsentRequired()
    if len(request.visitors) > rules.individual.max_visitors_per_booking:
        raise TooManyVisitors({"max": rules.individual.max_visitors_per_booking})

    phone = identities.phone(request.phone)
    people = [identities.person(visitor, now.date()) for visitor in request.visitors]
    has_minor = any(person.is_minor_on(request.day) for person in people)
    if has_minor:
        if not any(person.is_adult_on(request.day) for person in people):
            raise MinorWithoutGuardian()
        if request.guardian_consent is False:
            raise ConsentRequired({"consent": "guardian"})
    hashes = [person.identity_hash for person in people]
    if len(set(hashes)) != len(hashes):
        raise DuplicateVisitor({"within_request": True})

    slot = slot_or_error(rules, request.slot_id)
    override = rules_service.get_override(session, request.day)
    plan = rules_service.plan_day(rules, override, INDIVIDUAL, request.day, now)
    rules_service.require_bookable(plan)
    check_not_banned(session, hashes, now.date())
    check_no_other_booking(session, hashes, request.day)

    capacity.take(
        session,
        day=request.day,
        channel=INDIVIDUAL,
        slot_id=slot.id,
        places=len(people),
        daily_capacity=plan.daily_capacity,
        slot_capacity=plan.slot_capacities[slot.id],
    )

    vault = get_vault()
    manage_token = new_manage_token()
    booking = Booking(
        reference=new_reference(session),
        channel=INDIVIDUAL,
        day=request.day,
        slot_id=slot.id,
        slot_start=slot.start,
        slot_end=slot.end,
        status=CONFIRMED,
        party_size=len(people),
        manage_token_hash=vault.token_hash(manage_token),
        language=request.language or language,
        created_at=now,
        updated_at=now,
        **identities.phone_columns(phone),
        **identities.email_columns(request.email),
    )
    session.add(booking)
    session.flush()
    assert booking.id is not None
    visitors = [
        person.as_visitor(booking.id, position, claim_date=request.day)
        for position, person in enumerate(people)
    ]
    session.add_all(visitors)
    flush_claims(session)
    tickets.issue(session, booking, visitors)
    return Created(booking, render_one(session, booking, rules, manage_token))


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
    day = start
    while day <= end:
        override = overrides.get(day)
        individual = rules_service.plan_day(rules, override, INDIVIDUAL, day, now)
        team = rules_service.plan_day(rules, override, "team", day, now)
        days.append(_day_availability(rules, individual, team, booked, override_note(override)))
        day += timedelta(days=1)
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

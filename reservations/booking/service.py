"""Individual booking: its rules, reading and cancelling, and the availability calendar.

Bookings are placed through ``reservations.booking.placement``, the one path individual
and team bookings share; places come back through ``capacity.return_places``. Hot paths
run one short transaction per request, begun as late as possible: reads in a transaction
that takes no write lock, then a handful of statements in one short write transaction.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from reservations import clock, db, languages
from reservations.booking import capacity, identities, placement
from reservations.booking.errors import (
    CannotCancel,
    ConsentRequired,
    DuplicateVisitor,
    MinorWithoutGuardian,
    TooManyVisitors,
)
from reservations.booking.models import INDIVIDUAL, WHOLE_DAY, Booking, BookingStatus, Visitor
from reservations.booking.presentation import cancellable_until, present, present_one
from reservations.booking.schemas import (
    AvailabilityOut,
    BookingOut,
    BookingRequest,
    DayAvailability,
    LookupRequest,
    SlotAvailability,
)
from reservations.dbtypes import UTCDateTime
from reservations.errors import NotFound, field_error
from reservations.privacy.vault import get_vault
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.tickets import service as tickets

MAX_AVAILABILITY_DAYS = 62


@dataclass(frozen=True, slots=True)
class Party:
    """The people of an individual request, checked as far as the request alone decides:
    documents, phone, consents, a child only with an adult, nobody twice."""

    people: list[identities.Person]
    phone: str | None

    @property
    def identity_hashes(self) -> list[str]:
        return [person.identity_hash for person in self.people]

    def check_size(self, rules: Rules) -> None:
        if len(self.people) > rules.individual.max_visitors_per_booking:
            raise TooManyVisitors({"max": rules.individual.max_visitors_per_booking})


def checked_party(request: BookingRequest) -> Party:
    """The request's party, or the first reason to refuse it (nothing is read)."""
    if not request.consent or request.sensitive_consent is False:
        raise ConsentRequired()
    phone = identities.phone(request.phone) if request.phone is not None else None
    today = clock.today()
    people = [identities.person(visitor, today) for visitor in request.visitors]
    if any(person.is_minor_on(request.day) for person in people):
        if not any(person.is_adult_on(request.day) for person in people):
            raise MinorWithoutGuardian()
        if request.guardian_consent is False:
            raise ConsentRequired({"consent": "guardian"}, field="guardian_consent")
    party = Party(people, phone)
    hashes = party.identity_hashes
    if len(set(hashes)) != len(hashes):
        raise DuplicateVisitor({"within_request": True})
    return party


def create(
    session: Session,
    request: BookingRequest,
    language: str = languages.DEFAULT,
    once: placement.Once | None = None,
) -> placement.Placed:
    """Book the visitors of ``request``, or raise why not."""
    # Checked before anything is read: the request alone decides these.
    party = checked_party(request)

    def order_for(rules: Rules) -> placement.Order:
        party.check_size(rules)
        return placement.Order(
            channel=INDIVIDUAL,
            day=request.day,
            slot_id=request.slot_id,
            places=len(party.people),
            holders=[placement.Holder(person) for person in party.people],
            phone=party.phone,
            email=request.email,
            language=request.language or language,
            ban_checked=party.identity_hashes,
        )

    return placement.place(session, request.day, order_for, once)


def find_by_token(session: Session, reference: str, token: str | None) -> Booking:
    """The booking if the token is its manage token; otherwise not_found, with no hint."""
    statement = select(Booking).where(Booking.reference == reference.strip().upper())
    booking = session.exec(statement).first()
    expected = get_vault().token_hash(token or "")
    if booking is None or not token or not hmac.compare_digest(booking.manage_token_hash, expected):
        raise NotFound()
    return booking


def read(session: Session, reference: str, token: str | None) -> BookingOut:
    booking = find_by_token(session, reference, token)
    return present_one(session, booking, rules_service.current(session))


_BOOKING: Table = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Table = Visitor.__table__  # type: ignore[attr-defined]
# Only a booking that still holds its places changes: whoever else cancels, reviews or
# admits it at the same moment, one of them wins.
_WITHDRAW = (
    update(_BOOKING)
    .where(
        _BOOKING.c.id == bindparam("w_id"),
        _BOOKING.c.status.in_([BookingStatus.PENDING, BookingStatus.CONFIRMED]),
    )
    .values(
        status=bindparam("w_status"),
        updated_at=bindparam("w_now", type_=_BOOKING.c.updated_at.type),
        cancelled_at=bindparam("w_cancelled", type_=_BOOKING.c.cancelled_at.type),
    )
    .returning(_BOOKING.c.id)
)
_FREE_CLAIMS = (
    update(_VISITOR).where(_VISITOR.c.booking_id == bindparam("f_id")).values(claim_date=None)
)


# Locks the booking row first (the order cancellations lock in) and fails if the booking
# stopped being active since it was read.
_CHECK_IN = db.DriverStatement(
    update(_BOOKING)
    .where(
        _BOOKING.c.id == bindparam("b_id"),
        or_(
            _BOOKING.c.status == BookingStatus.CONFIRMED,
            _BOOKING.c.status == BookingStatus.CHECKED_IN,
        ),
    )
    .values(status=BookingStatus.CHECKED_IN, updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(_BOOKING.c.id)
)


def check_in(connection: Connection, booking_id: int, at: datetime) -> bool:
    """Somebody of the booking came in: it is ``checked_in``. One conditional update, the
    first statement of an admission; False when the booking stopped being active (it was
    cancelled or reviewed since it was read)."""
    return _CHECK_IN.first(connection, {"b_id": booking_id, "b_now": at}) is not None


def check_cancellable(booking: Booking, rules: Rules, now: datetime) -> None:
    deadline = cancellable_until(booking, rules)
    if deadline is None or now >= deadline:
        raise CannotCancel({"status": booking.status})


def withdraw(connection: Connection, booking: Booking, status: str, now: datetime) -> None:
    """``booking`` stops holding anything, as ``status``: one conditional update, then its
    people, tickets and places are let go. CannotCancel when it no longer held anything."""
    assert booking.id is not None
    cancelled_at = now if status == BookingStatus.CANCELLED else booking.cancelled_at
    changed = connection.execute(
        _WITHDRAW,
        {"w_id": booking.id, "w_status": status, "w_now": now, "w_cancelled": cancelled_at},
    ).first()
    if changed is None:  # cancelled, reviewed or admitted a moment ago
        raise CannotCancel({"status": booking.status})
    # The object shows what was written, without becoming a change of its own to flush.
    set_committed_value(booking, "status", status)
    set_committed_value(booking, "updated_at", now)
    set_committed_value(booking, "cancelled_at", cancelled_at)
    free_booking(connection, booking)


def free_booking(connection: Connection, booking: Booking) -> None:
    """What a booking that stopped holding anything lets go: its people may book that day
    again, its tickets are void, and its places return (``capacity.return_places``, the
    one way places come back). The caller has changed its status in this transaction."""
    assert booking.id is not None
    connection.execute(_FREE_CLAIMS, {"f_id": booking.id})
    tickets.void_for_booking(connection, booking.id)
    capacity.return_places(
        connection,
        day=booking.day,
        channel=booking.channel,
        slot_id=booking.slot_id,
        places=booking.party_size,
    )


def cancel_booking(session: Session, booking: Booking, rules: Rules) -> None:
    """Cancel and return the places at once, in the caller's transaction (also the team
    leader's cancellation)."""
    now = clock.now()
    check_cancellable(booking, rules, now)
    withdraw(session.connection(), booking, BookingStatus.CANCELLED, now)


def _cancel_found(session: Session, find: Any) -> BookingOut:
    """Read (no write lock), check, then one short write; the answer is read afterwards."""
    db.begin_read(session)
    booking: Booking = find()
    rules = rules_service.current(session)
    now = clock.now()
    check_cancellable(booking, rules, now)
    with db.short_write(session) as connection:
        withdraw(connection, booking, BookingStatus.CANCELLED, now)
    db.begin_read(session)
    return present_one(session, booking, rules)


def cancel(session: Session, reference: str, token: str | None) -> BookingOut:
    return _cancel_found(session, lambda: find_by_token(session, reference, token))


def lookup(session: Session, request: LookupRequest) -> list[BookingOut]:
    """A visitor's bookings, found by phone and document together."""
    proof = identities.proof(request.phone, request.id_type, request.id_number, clock.today())
    statement = (
        select(Booking)
        .join(Visitor, col(Visitor.booking_id) == col(Booking.id))
        .where(
            Booking.phone_hash == proof.phone_hash,
            Visitor.identity_hash == proof.identity_hash,
        )
        .order_by(col(Booking.day).desc(), col(Booking.id).desc())
        .limit(50)
    )
    bookings = list({booking.id: booking for booking in session.exec(statement)}.values())
    return present(session, bookings, rules_service.current(session))


# --- the availability calendar ---------------------------------------------------------------
#
# Pages and API share the calendars of each process: the answer for a range of days, built
# from the rules in force, the days' overrides and the capacity counters, so what a
# booking, a cancellation or an admin's change did shows at once, in every process. A
# calendar is reused within the same minute of the clock while none of what it was built
# from changed, and the API sends it already serialised. On SQLite "nothing changed" costs
# no query at all (``db.change_probe``: nothing was committed since it was built); on
# PostgreSQL the rules' version, the overrides and the counters are read with every request
# (two small queries) and compared.


@dataclass(slots=True)
class Calendar:
    view: AvailabilityOut
    _body: bytes | None = field(default=None, repr=False)

    @property
    def body(self) -> bytes:
        """The answer of ``GET /api/v1/availability``, serialised once."""
        if self._body is None:
            self._body = self.view.model_dump_json(by_alias=True).encode()
        return self._body


_calendars: dict[tuple[Any, ...], Calendar] = {}
# SQLite: (start, end, minute) -> (the database's data version when read, the calendar)
_unchanged: dict[tuple[date, date, datetime], tuple[int, Calendar]] = {}
_calendars_lock = threading.Lock()
_CALENDARS_KEPT = 256


def forget_calendars() -> None:
    with _calendars_lock:
        _calendars.clear()
        _unchanged.clear()


def availability(session: Session, start: date, end: date) -> AvailabilityOut:
    return calendar(session, start, end).view


def calendar(session: Session, start: date, end: date) -> Calendar:
    if end < start:
        raise field_error("end", "must not be before start")
    if (end - start).days >= MAX_AVAILABILITY_DAYS:
        raise field_error("end", f"at most {MAX_AVAILABILITY_DAYS} days per call")
    now = clock.now()
    minute = now.replace(second=0, microsecond=0)
    probe = db.change_probe()
    if probe is not None:
        # Read before the data: a commit in between makes the next look read again.
        data_version = probe.version()
        unchanged = _unchanged.get((start, end, minute))
        if unchanged is not None and unchanged[0] == data_version:
            return unchanged[1]
    with db.reading(session) as connection:
        rules, version, overrides = rules_service.for_range(connection, start, end)
        booked = capacity.read_counts(connection, start, end)
    key = (
        start,
        end,
        version,
        id(rules),
        tuple(overrides.values()),
        tuple(booked.items()),
        now.replace(second=0, microsecond=0),
    )
    found = _calendars.get(key)
    if found is None:
        found = Calendar(_availability(rules, overrides, booked, start, end, now))
    with _calendars_lock:
        if len(_calendars) >= _CALENDARS_KEPT:
            _calendars.clear()
            _unchanged.clear()
        _calendars[key] = found
        if probe is not None:
            _unchanged[(start, end, minute)] = (data_version, found)
    return found


def _availability(
    rules: Rules,
    overrides: dict[date, rules_service.OverrideValues],
    booked: dict[tuple[date, str, str], int],
    start: date,
    end: date,
    now: datetime,
) -> AvailabilityOut:
    days = []
    # Counting offsets, never stepping past ``end``: the last representable date has no
    # successor.
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        override = overrides.get(day)
        plans = [
            rules_service.plan_day(rules, override, channel.name, day, now)
            for channel in channels.CHANNELS
        ]
        days.append(_day_availability(rules, plans, booked, override_note(override)))
    return AvailabilityOut(days=days)


def override_note(override: object) -> str | None:
    return getattr(override, "note", None)


def _remaining(capacity_: int, taken: int) -> int:
    return max(capacity_ - taken, 0)


def _day_availability(
    rules: Rules,
    plans: list[rules_service.DayPlan],
    booked: dict[tuple[date, str, str], int],
    note: str | None,
) -> DayAvailability:
    """One day in every channel: its places, per slot, and whether it can be booked."""
    day = plans[0].day
    slots: dict[str, dict[str, Any]] = {
        slot.id: {"id": slot.id, "start": slot.start, "end": slot.end} for slot in rules.slots
    }
    blocks: dict[str, Any] = {}
    own: tuple[bool, str | None] = (False, None)
    for channel, plan in zip(channels.CHANNELS, plans, strict=True):
        taken = booked.get((day, channel.name, WHOLE_DAY), 0)
        left = _remaining(plan.daily_capacity, taken)
        any_open = False
        for slot in rules.slots:
            capacity_ = plan.slot_capacities[slot.id]
            remaining = (
                0
                if plan.slot_reason(slot.id)
                else min(left, _remaining(capacity_, booked.get((day, channel.name, slot.id), 0)))
            )
            slots[slot.id][channel.capacity_field] = capacity_
            slots[slot.id][channel.remaining_field] = remaining
            any_open = any_open or remaining > 0
        reason = plan.reason or (None if any_open else rules_service.SOLD_OUT)
        block: dict[str, Any] = {
            "capacity": plan.daily_capacity,
            "booked": taken,
            "remaining": left,
        }
        if channel.the_days_own:
            own = (reason is None, reason)
        else:
            block.update(bookable=reason is None, reason=reason)
        blocks[channel.name] = block
    return DayAvailability.model_validate(
        {
            "day": day,
            "bookable": own[0],
            "reason": own[1],
            **blocks,
            "slots": [SlotAvailability.model_validate(values) for values in slots.values()],
            "note": note,
        }
    )


# --- for the visitor pages ------------------------------------------------------------------


def cancel_proven(session: Session, reference: str) -> BookingOut:
    """Cancel an individual booking whose owner the caller has already proved (the visitor
    pages, right after a lookup by phone and document); otherwise like ``cancel``."""

    def find() -> Booking:
        statement = select(Booking).where(
            Booking.reference == reference.strip().upper(), Booking.channel == INDIVIDUAL
        )
        booking = session.exec(statement).first()
        if booking is None:
            raise NotFound()
        return booking

    return _cancel_found(session, find)


def released_at(rules: Rules, day: date, channel: str = INDIVIDUAL) -> datetime:
    """When ``day`` opens for booking in ``channel`` (``not_released`` until then)."""
    settings = rules.ahead(channel)
    return clock.localize(day - timedelta(days=settings.max_days_ahead), settings.release_time)

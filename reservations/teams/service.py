"""The team channel: requests from schools, companies and tour groups, their review by the
museum, and the party's single ticket.

Team places come from the team quota only (capacity counters of channel ``team``), taken
through the same placement path as individual places (``reservations.booking.placement``)
and returned through the same ``capacity.return_places``.

When the rules require approval a request is ``pending`` and already holds its places, so
approving it can never oversell. Review closes when the visit day begins (00:00 in the
museum's zone): a request nobody approved or rejected by then is ``expired`` by
``expire_pending`` and its places return to the team quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from reservations import clock, languages
from reservations.audit import service as audit
from reservations.booking import identities, placement
from reservations.booking import service as booking_service
from reservations.booking.errors import ConsentRequired, DuplicateVisitor
from reservations.booking.models import TEAM, Booking, BookingStatus, Visitor
from reservations.booking.presentation import present, present_one
from reservations.booking.schemas import BookingOut, MaskedPerson
from reservations.errors import NotFound, field_error
from reservations.rules import service as rules_service
from reservations.rules.errors import BookingWindow
from reservations.rules.schema import Rules
from reservations.teams.errors import (
    LeaderNotAdult,
    NotPending,
    ReviewExpired,
    TeamSizeOutOfRange,
)
from reservations.teams.schemas import TeamBookingRequest, TeamRequestOut
from reservations.tickets import service as tickets

LEADER = "leader"
MEMBER = "member"

# Review closes at this time on the visit day itself, 00:00: once the eve is over. The
# leader needs an answer before the group sets off, and places held beyond that would only
# be lost to other groups. The expiry job is scheduled at this time of day.
REVIEW_CLOSES_AT = "00:00"


def review_deadline(day: date) -> datetime:
    """The instant from which a still pending request for ``day`` has expired."""
    return clock.localize(day, REVIEW_CLOSES_AT)


def review_closed(day: date, now: datetime) -> bool:
    return now >= review_deadline(day)


def expire_pending(session: Session) -> int:
    """Expire every pending team request whose review deadline has passed; return how many.

    Idempotent: an expired request is no longer pending, so running again finds nothing.
    Rows are locked (in one order) before their places return, so a concurrent approval,
    rejection or cancellation of the same request either happens first, and the request is
    skipped here, or waits and then finds it expired.
    """
    now = clock.now()
    statement = (
        select(Booking)
        .where(
            col(Booking.channel) == TEAM,
            col(Booking.status) == BookingStatus.PENDING,
            # review_closed(day, now) for every day up to today.
            col(Booking.day) <= now.date(),
        )
        .order_by(col(Booking.day), col(Booking.slot_id), col(Booking.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    overdue = [b for b in session.exec(statement).all() if review_closed(b.day, now)]
    for booking in overdue:
        expire(session, booking, now)
    session.flush()
    return len(overdue)


def expire(session: Session, booking: Booking, now: datetime) -> None:
    """Mark one locked pending request expired and give its places and claims back."""
    booking.status = BookingStatus.EXPIRED
    booking.updated_at = now
    session.add(booking)
    session.flush()
    booking_service.free_booking(session.connection(), booking)


# --- requests ---------------------------------------------------------------------------


def create(
    session: Session,
    request: TeamBookingRequest,
    language: str = languages.DEFAULT,
    once: placement.Once | None = None,
) -> placement.Placed:
    """Take the team's places and record the request: pending, or confirmed with its ticket.

    The same placement path as an individual booking; only the rules differ."""

    def order_for(rules: Rules) -> placement.Order:
        team = rules.team
        if not request.consent or request.sensitive_consent is False:
            raise ConsentRequired()
        if not team.min_size <= request.size <= team.max_size:
            raise TeamSizeOutOfRange({"min": team.min_size, "max": team.max_size})
        today = clock.today()
        phone = identities.phone(request.leader.phone, field="leader.phone")
        leader = identities.person(request.leader, today, field="leader")
        members = [
            identities.person(member, today, field=f"members.{position}")
            for position, member in enumerate(request.members)
        ]
        if not leader.is_adult_on(request.day):
            raise LeaderNotAdult()
        _check_member_list(rules, request.size, len(members))
        has_minor = any(member.is_minor_on(request.day) for member in members)
        if has_minor and request.guardian_consent is False:
            raise ConsentRequired({"consent": "guardian"}, field="guardian_consent")
        hashes = [leader.identity_hash, *(member.identity_hash for member in members)]
        if len(set(hashes)) != len(hashes):
            raise DuplicateVisitor({"within_request": True})

        def check_plan(_plan: rules_service.DayPlan, now: datetime) -> None:
            if team.requires_approval and review_closed(request.day, now):
                # Only reachable with same-day team booking (min_days_ahead = 0): a request
                # that would need review has no time left for it.
                raise BookingWindow(rules_service.TOO_SOON)

        return placement.Order(
            channel=TEAM,
            day=request.day,
            slot_id=request.slot_id,
            places=request.size,
            holders=[
                placement.Holder(leader, LEADER),
                *(placement.Holder(member, MEMBER) for member in members),
            ],
            phone=phone,
            email=request.email,
            language=request.language or language,
            # The leader books; members are brought along, as an individual's companions are.
            ban_checked=[leader.identity_hash],
            status=BookingStatus.PENDING if team.requires_approval else BookingStatus.CONFIRMED,
            organization=request.organization,
            ticket_per_holder=False,
            check_plan=check_plan,
        )

    return placement.place(session, request.day, order_for, once)


def _check_member_list(rules: Rules, size: int, listed: int) -> None:
    if listed == 0 and not rules.team.members_required:
        return
    # A partial list would let unnamed people in on a ticket that names some: all or none.
    if listed != size - 1:
        raise field_error("members", f"list the {size - 1} members besides the leader")


# --- what a leader may pick --------------------------------------------------------------

# How many days are offered at most (the availability API's own limit).
MAX_DAYS_OFFERED = booking_service.MAX_AVAILABILITY_DAYS


@dataclass(frozen=True, slots=True)
class OfferedSlot:
    id: str
    start: str
    end: str
    remaining: int
    # Whether the smallest team the rules allow still fits: a slot with fewer places left
    # is no choice.
    available: bool


@dataclass(frozen=True, slots=True)
class OfferedDay:
    day: date
    remaining: int
    slots: list[OfferedSlot]


def offered_days(session: Session) -> list[OfferedDay]:
    """The days and slots a team can request now, with the team places left in each: the
    days the team channel has released that the rules let a team book."""
    now = clock.now()
    rules = rules_service.current(session)
    first = now.date() + timedelta(days=rules.team.min_days_ahead)
    last = min(
        rules_service.last_released_day(rules, TEAM, now),
        first + timedelta(days=MAX_DAYS_OFFERED - 1),
    )
    if last < first:
        return []
    return [
        OfferedDay(
            day=day.day,
            remaining=day.of(TEAM).remaining,
            slots=[
                OfferedSlot(
                    id=slot.id,
                    start=slot.start,
                    end=slot.end,
                    remaining=slot.remaining_of(TEAM),
                    available=slot.remaining_of(TEAM) >= rules.team.min_size,
                )
                for slot in day.slots
                if slot.capacity_of(TEAM) > 0
            ],
        )
        for day in booking_service.availability(session, first, last).days
        if day.state_of(TEAM)[0]
    ]


def opens_later(rules: Rules) -> date | None:
    """The day the team channel starts taking requests, while that day is still ahead:
    before it no date can be offered, whatever it is."""
    return rules.team.opens_on if clock.today() < rules.team.opens_on else None


# --- review -----------------------------------------------------------------------------


def _locked(session: Session, reference: str) -> Booking:
    statement = (
        select(Booking)
        .where(col(Booking.reference) == reference.strip().upper(), col(Booking.channel) == TEAM)
        .with_for_update()
        # The row as locked, not as this session may have read it before the lock.
        .execution_options(populate_existing=True)
    )
    booking = session.exec(statement).first()
    if booking is None:
        raise NotFound()
    return booking


def _require_pending(session: Session, booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.PENDING:
        raise NotPending({"status": booking.status})
    if review_closed(booking.day, now):
        # The scheduled job has not run yet: do its work now, rather than confirm a request
        # that has already lapsed.
        expire(session, booking, now)
        session.flush()
        raise ReviewExpired({"status": BookingStatus.EXPIRED})


def _review_facts(booking: Booking) -> dict[str, object]:
    """What the audit trail keeps of a review: no names, documents or phone numbers."""
    return {
        "status": booking.status,
        "date": booking.day.isoformat(),
        "slot_id": booking.slot_id,
        "size": booking.party_size,
    }


def approve(session: Session, reference: str, actor: str) -> BookingOut:
    """Confirm a pending request and issue the party's ticket; its places were already held."""
    now = clock.now()
    booking = _locked(session, reference)
    _require_pending(session, booking, now)
    before = _review_facts(booking)
    booking.status = BookingStatus.CONFIRMED
    booking.reviewed_at = booking.updated_at = now
    booking.reviewed_by = actor
    session.add(booking)
    session.flush()
    tickets.issue(session, booking, [None])
    audit.record(
        session,
        actor=actor,
        action="team.approve",
        target=booking.reference,
        before=before,
        after=_review_facts(booking),
    )
    return present_one(session, booking, rules_service.current(session))


def reject(session: Session, reference: str, actor: str, reason: str) -> BookingOut:
    """Refuse a pending request with a reason the leader reads; its places return at once."""
    reason = reason.strip()
    if not reason:
        raise field_error("reason", "required")
    now = clock.now()
    booking = _locked(session, reference)
    _require_pending(session, booking, now)
    before = _review_facts(booking)
    booking.status = BookingStatus.REJECTED
    booking.review_note = reason[:500]
    booking.reviewed_at = booking.updated_at = now
    booking.reviewed_by = actor
    session.add(booking)
    session.flush()
    booking_service.free_booking(session.connection(), booking)
    # The reason is free text an admin typed: it stays on the booking, not in the audit.
    audit.record(
        session,
        actor=actor,
        action="team.reject",
        target=booking.reference,
        before=before,
        after=_review_facts(booking),
    )
    return present_one(session, booking, rules_service.current(session))


def requests(
    session: Session,
    *,
    status: BookingStatus | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 200,
) -> list[TeamRequestOut]:
    """Team bookings for reviewers, the soonest visit first."""
    statement = select(Booking).where(col(Booking.channel) == TEAM)
    if status is not None:
        statement = statement.where(col(Booking.status) == status)
    if start is not None:
        statement = statement.where(col(Booking.day) >= start)
    if end is not None:
        statement = statement.where(col(Booking.day) <= end)
    statement = statement.order_by(
        col(Booking.day), col(Booking.slot_start), col(Booking.created_at), col(Booking.id)
    ).limit(limit)
    return describe(session, session.exec(statement).all())


def describe(session: Session, bookings: Sequence[Booking]) -> list[TeamRequestOut]:
    rules = rules_service.current(session)
    views = present(session, bookings, rules)
    ids = [booking.id for booking in bookings if booking.id is not None]
    members: dict[int, list[MaskedPerson]] = {booking_id: [] for booking_id in ids}
    if ids:
        statement = (
            select(Visitor)
            .where(col(Visitor.booking_id).in_(ids), col(Visitor.role) == MEMBER)
            .order_by(col(Visitor.booking_id), col(Visitor.position))
        )
        for visitor in session.exec(statement):
            assert visitor.booking_id is not None  # selected by booking
            members[visitor.booking_id].append(
                MaskedPerson(name=visitor.name_masked, id_masked=visitor.id_masked)
            )
    described = []
    for booking, view in zip(bookings, views, strict=True):
        assert booking.id is not None
        described.append(
            TeamRequestOut(
                **view.model_dump(by_alias=False),
                members=members[booking.id],
                review_deadline=review_deadline(booking.day)
                if booking.status == BookingStatus.PENDING
                else None,
                reviewed_at=booking.reviewed_at,
                reviewed_by=booking.reviewed_by,
            )
        )
    return described


# --- the leader's pages -------------------------------------------------------------------


def find_for_leader(
    session: Session, reference: str, phone: str, id_type: str, id_number: str
) -> Booking:
    """The team booking when the phone and document are its leader's; otherwise not_found."""
    proof = identities.proof(phone, id_type, id_number, clock.today())
    statement = (
        select(Booking)
        .join(Visitor, col(Visitor.booking_id) == col(Booking.id))
        .where(
            col(Booking.reference) == reference.strip().upper(),
            col(Booking.channel) == TEAM,
            col(Booking.phone_hash) == proof.phone_hash,
            col(Visitor.role) == LEADER,
            col(Visitor.identity_hash) == proof.identity_hash,
        )
    )
    booking = session.exec(statement).first()
    if booking is None:
        raise NotFound()
    return booking


def cancel_by_leader(session: Session, booking: Booking) -> BookingOut:
    """The leader withdraws a pending or confirmed request; its places return at once."""
    locked = _locked(session, booking.reference)
    rules = rules_service.current(session)
    booking_service.cancel_booking(session, locked, rules)
    return present_one(session, locked, rules)

"""The desk's rules: booking on a visitor's behalf, the tickets' print link, what is booked
under a document, cancelling such a booking, lifting a ban.

A desk booking is a booking like any other, placed through ``booking.placement``: for today
from the walk-in channel (``rules.channels.WALK_IN``, which only staff may book, during
opening hours until the last entry, the current slot or a later one), for a later day from
the individual channel as online. The visitor needs no phone; the staff member's reading of
the privacy notice (``consent``) is audited with the booking, in its own transaction.

A document is only ever matched through its keyed hash (``booking.identities``): its
number is neither stored nor logged here, and never travels in a URL.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from reservations import clock, db, languages
from reservations.audit import service as audit
from reservations.booking import bans, identities, placement
from reservations.booking import service as booking_service
from reservations.booking.errors import CannotCancel
from reservations.booking.models import (
    INDIVIDUAL,
    WALK_IN,
    Booking,
    BookingStatus,
    Visitor,
)
from reservations.booking.presentation import present
from reservations.booking.schemas import BookingOut
from reservations.desk.schemas import (
    BanOut,
    DeskBookingOut,
    DeskBookingRequest,
    DeskBookingView,
    IdentityOut,
    IdentityRequest,
    LiftBanRequest,
    LiftedOut,
    StrikeOut,
)
from reservations.errors import NotFound
from reservations.privacy import documents
from reservations.privacy.vault import get_vault
from reservations.rules import service as rules_service
from reservations.rules.channels import Booker
from reservations.rules.schema import Rules

# Audit actions of the desk.
BOOKED = "desk.booking"
CANCELLED = "desk.cancel"
BAN_LIFTED = "desk.lift_ban"

# What the audit records of the consent a staff member obtained by reading the notice out.
READ_OUT = "read_out"

_PRINT_PURPOSE = "desk-print-link"
# The most bookings a document's lookup lists, newest first.
MAX_FOUND = 50


# --- booking -----------------------------------------------------------------------------


def channel_for(day: date, today: date) -> str:
    """Today's places come from the walk-in quota; any other day's as online."""
    return WALK_IN if day == today else INDIVIDUAL


def book(
    session: Session,
    request: DeskBookingRequest,
    staff_user: str,
    language: str = languages.DEFAULT,
    once: placement.Once | None = None,
) -> placement.Placed:
    """Book the visitors of ``request`` for them, or raise why not."""
    party = booking_service.checked_party(request)
    channel = channel_for(request.day, clock.today())

    def audited(connection: Connection, _booking_id: int, reference: str) -> None:
        audit.record_on(
            connection,
            actor=staff_user,
            action=BOOKED,
            target=reference,
            before=None,
            after={
                "channel": channel,
                "date": request.day.isoformat(),
                "slot": request.slot_id,
                "people": len(party.people),
                "consent": READ_OUT,
                "sensitive_consent": READ_OUT,
                "guardian_consent": READ_OUT if request.guardian_consent else None,
                "phone": party.phone is not None,
            },
        )

    def answer(view: BookingOut) -> DeskBookingOut:
        return DeskBookingOut.model_validate(
            {**view.model_dump(by_alias=False), "print_url": print_url(view.reference)}
        )

    def order_for(rules: Rules) -> placement.Order:
        party.check_size(rules)
        return placement.Order(
            channel=channel,
            day=request.day,
            slot_id=request.slot_id,
            places=len(party.people),
            holders=[placement.Holder(person) for person in party.people],
            phone=party.phone,
            email=request.email,
            language=request.language or language,
            ban_checked=party.identity_hashes,
            booker=Booker.STAFF,
            staff_user=staff_user,
            also_write=audited,
            answer=answer,
        )

    return placement.place(session, request.day, order_for, once)


# --- the print page's link -------------------------------------------------------------------


def _print_signature(reference: str) -> str:
    return get_vault().blind_index(reference.strip().upper(), _PRINT_PURPOSE)[:32]


def print_url(reference: str, paper: str | None = None) -> str:
    """The tickets' print page: a link that carries its own authorisation (``?sig=``), so
    that whoever was handed the desk's answer can open and print it."""
    query = f"?sig={_print_signature(reference)}"
    if paper:
        query += f"&paper={paper}"
    return f"/desk/bookings/{reference}/print{query}"


def is_print_signed(reference: str, presented: str | None) -> bool:
    if not presented:
        return False
    expected = _print_signature(reference).encode()
    return hmac.compare_digest(expected, presented.strip().lower().encode("utf-8", "replace"))


def find(session: Session, reference: str) -> Booking:
    booking = session.exec(
        select(Booking).where(col(Booking.reference) == reference.strip().upper())
    ).first()
    if booking is None:
        raise NotFound()
    return booking


def read(session: Session, reference: str) -> DeskBookingView:
    """A booking as staff see it (masked, no manage token)."""
    db.begin_read(session)
    booking = find(session, reference)
    return _views(session, [booking], rules_service.current(session))[0]


def _views(session: Session, found: list[Booking], rules: Rules) -> list[DeskBookingView]:
    by_reference = {booking.reference: booking for booking in found}
    return [
        DeskBookingView.model_validate(
            {**view.model_dump(by_alias=False), "booked_by": by_reference[view.reference].booked_by}
        )
        for view in present(session, found, rules)
    ]


# --- a document's bookings and standing -----------------------------------------------------


def identity_hash(request: IdentityRequest) -> str:
    """The document's keyed hash: how it is matched, never by its number."""
    return identities.person_document(request.id_type, request.id_number, clock.today())


def identity(session: Session, request: IdentityRequest) -> IdentityOut:
    """What the service holds under the document a visitor presents at the desk."""
    return identity_of(session, identity_hash(request))


def identity_of(session: Session, subject: str) -> IdentityOut:
    db.begin_read(session)
    return _identity_view(session, subject, rules_service.current(session))


def masked_document(request: IdentityRequest) -> str:
    """What the desk may show of the document: its kind's mask."""
    number = documents.canonical_document(request.id_type, request.id_number)
    return documents.mask_document(request.id_type, number)


# A page that showed a document's bookings acts on them (cancel, lift) with a token of the
# document's keyed hash instead of posting the number again: signed, and short-lived.
_SUBJECT_PURPOSE = "desk-subject"
SUBJECT_SECONDS = 15 * 60


def subject_token(subject: str) -> str:
    until = int(clock.now().timestamp()) + SUBJECT_SECONDS
    mac = get_vault().blind_index(f"{subject}:{until}", _SUBJECT_PURPOSE)[:32]
    return f"{subject}.{until}.{mac}"


def subject_of(token: str) -> str | None:
    """The keyed hash a ``subject_token`` stands for, while it is valid."""
    subject, _, rest = token.partition(".")
    until, _, mac = rest.partition(".")
    if not subject or not until.isdigit() or int(until) < clock.now().timestamp():
        return None
    expected = get_vault().blind_index(f"{subject}:{until}", _SUBJECT_PURPOSE)[:32]
    return (
        subject if hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")) else None
    )


def _identity_view(session: Session, subject: str, rules: Rules) -> IdentityOut:
    statement = (
        select(Booking)
        .join(Visitor, col(Visitor.booking_id) == col(Booking.id))
        .where(col(Visitor.identity_hash) == subject)
        .order_by(col(Booking.day).desc(), col(Booking.id).desc())
        .limit(MAX_FOUND)
    )
    found = list({booking.id: booking for booking in session.exec(statement)}.values())
    standing = bans.standing(session, subject, rules)
    strikes = [StrikeOut(day=strike.day, reference=strike.reference) for strike in standing.strikes]
    ban = None
    if standing.ban is not None:
        ban = BanOut(until=standing.ban.until, strikes=strikes)
    return IdentityOut(bookings=_views(session, found, rules), ban=ban, strikes=strikes)


def cancellable_at_desk(booking: BookingOut) -> bool:
    """The desk may cancel any booking that still holds its places, whatever its deadline:
    the visitor at the desk says they did not make it."""
    return booking.status in (BookingStatus.PENDING, BookingStatus.CONFIRMED)


def cancel(
    session: Session, reference: str, staff_user: str, reason: str | None = None
) -> DeskBookingView:
    """Cancel a booking at the desk: its places return at once, its tickets are void, and
    nobody on it gets a strike for it (only a confirmed booking nobody came for does)."""
    db.begin_read(session)
    booking = find(session, reference)
    before = booking.status
    if before not in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
        raise CannotCancel({"status": before})
    now = clock.now()
    with db.short_write(session) as connection:
        booking_service.withdraw(connection, booking, BookingStatus.CANCELLED, now)
        audit.record_on(
            connection,
            actor=staff_user,
            action=CANCELLED,
            target=booking.reference,
            before={"status": before},
            after={"status": BookingStatus.CANCELLED, "reason": reason},
        )
    db.begin_read(session)
    return _views(session, [booking], rules_service.current(session))[0]


def lift_ban(session: Session, request: LiftBanRequest, admin_user: str) -> IdentityOut:
    """An admin lifts the document's ban: the ban ends and the strikes that led to it no
    longer count. NotFound when there is neither a ban in force nor a strike."""
    return lift_ban_of(
        session, identity_hash(request), masked_document(request), request.reason, admin_user
    )


def lift_ban_of(
    session: Session, subject: str, masked: str | None, reason: str, admin_user: str
) -> IdentityOut:
    rules = rules_service.current(session)
    lifted = bans.lift(session, subject, rules, actor=admin_user, reason=reason, masked=masked)
    if lifted is None:
        raise NotFound()
    audit.record(
        session,
        actor=admin_user,
        action=BAN_LIFTED,
        target=f"ban_lift:{lifted.id}",
        before={
            "until": lifted.until.isoformat() if lifted.until else None,
            "strikes": lifted.strikes,
        },
        after={"reason": reason},
    )
    view = _identity_view(session, subject, rules)
    view.lifted = LiftedOut(
        at=lifted.lifted_at,
        by=lifted.lifted_by,
        reason=lifted.reason,
        until=lifted.until,
        strikes_forgiven=lifted.strikes,
    )
    return view


def console_bans(session: Session) -> dict[str, Any]:
    """The bans in force and the bans lifted lately, as the console lists them."""
    in_force = bans.in_force(session)
    lifted = bans.lifted_recently(session)
    masks = bans.masked_documents(session, [ban.identity_hash for ban in in_force])
    return {
        "in_force": [(ban, masks.get(ban.identity_hash)) for ban in in_force],
        "lifted": lifted,
    }

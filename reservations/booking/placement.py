"""One placement path for individual and team bookings.

A booking is placed in three steps, and only the last one writes:

1. **Checks**, in one read transaction that takes no write lock: the rules in force (parsed
   once per version and process) with the day's override, the booking window, the
   channel's own rules, the places as this process last saw them (a day or slot seen full
   is refused here, without writing: the rush after the last place costs no write lock),
   bans, and whether anybody already holds a booking that day.
2. **Everything that needs no database**: personal data sealed, tickets signed in advance,
   the reference and manage token drawn, the rows to insert and the answer itself
   rendered and serialised.
3. **One short write transaction** of a handful of Core statements: the idempotency claim
   (when the request has a key), the booking, its visitors (whose unique claim settles a
   person racing themselves), its tickets, and last the capacity counters, the statement
   every booking of the day meets, followed at once by the commit.

One short transaction per request, begun as late as possible: nothing of step 2 happens
while a lock is held, and the answer, prepared in step 2, is sent after the commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Date, Table, bindparam, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import capacity, idempotency, identities
from reservations.booking.errors import (
    AlreadyWaiting,
    DuplicateVisitor,
    SoldOut,
    UnknownSlot,
    VisitorBanned,
)
from reservations.booking.models import Booking, BookingStatus, Visitor
from reservations.booking.presentation import present_parts
from reservations.booking.schemas import BookingOut
from reservations.errors import DomainError, Forbidden, ServiceBusy
from reservations.ops import metrics
from reservations.privacy.vault import get_vault
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.rules.channels import Booker
from reservations.rules.schema import Rules, Slot
from reservations.tickets import service as tickets
from reservations.tickets.models import Ticket, TicketStatus, UseState
from reservations.tickets.signing import get_keyring

# What the metrics name the channel of a request refused before its order was made.
UNKNOWN_CHANNEL_VALUE = "unknown"
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Eight characters of 31 give about 10^12 references: a collision is rare, not impossible,
# and is met by drawing again.
_REFERENCE_ATTEMPTS = 5


def new_reference() -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def new_manage_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class Holder:
    """A person on the booking: an individual visitor, a team's leader or a member."""

    person: identities.Person
    role: str = "visitor"


@dataclass(frozen=True, slots=True)
class HeldPlaces:
    """Places already taken for this booking, with the same counter statement a booking
    uses (a waiting list's offer holds them). The booking settles the hold in its write
    transaction instead of taking places again.

    ``settle(connection, booking_id)`` runs right after the booking row is inserted: it
    turns the hold into that booking, in one conditional statement, and lets go of the
    claims the hold made on its people's day; it raises a DomainError when the hold is gone
    (expired or given up a moment ago), which rolls the booking back.
    """

    settle: Callable[[Connection, int], None]


@dataclass(frozen=True, slots=True)
class Order:
    """A booking request, validated against the rules in force, ready to be placed."""

    channel: str
    day: date
    slot_id: str
    places: int
    holders: Sequence[Holder]
    phone: str | None
    email: str | None
    language: str
    # Identities whose ban refuses the booking (an individual booking: everybody on it; a
    # team: its leader, who books for the group).
    ban_checked: Sequence[str]
    status: str = BookingStatus.CONFIRMED
    organization: str | None = None
    # One ticket per holder (individuals), or one for the whole party (teams).
    ticket_per_holder: bool = True
    # The channel's own check once the day's plan is known; raises a DomainError.
    check_plan: Callable[[rules_service.DayPlan, datetime], None] | None = None
    # Places already held for this booking: none are taken.
    held: HeldPlaces | None = None
    # Who places it (the channel must allow it: ``Channel.booked_by``), and the staff user
    # who did, when staff booked for the visitor.
    booker: Booker = Booker.VISITOR
    staff_user: str | None = None
    # More statements of the booking's own write transaction, given the new booking's id
    # and reference (an audit entry), run before the counters are taken.
    also_write: Callable[[Connection, int, str], None] | None = None
    # The answer as sent, from the booking's view (a desk booking adds its print link).
    answer: Callable[[BookingOut], BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class Once:
    """A key under which the same request, sent again, gets the first answer again."""

    scope: str
    key: str
    fingerprint: str

    @classmethod
    def for_request(cls, scope: str, key: str, body: BaseModel) -> Once:
        """A key the client chose (``Idempotency-Key``): the same key with another body is
        refused (``idempotency_key_reused``)."""
        fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json"))
        return cls(scope, idempotency.check_key(key), fingerprint)

    @classmethod
    def for_form(cls, scope: str, form_key: str, body: BaseModel) -> Once:
        """A page's form, sent again by a second tap on a slow connection, gets its first
        answer; the same form corrected and sent again is a new request."""
        fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json"))
        return cls(scope, f"{form_key}:{fingerprint[:16]}", fingerprint)


@dataclass(frozen=True, slots=True)
class Created:
    """The answer to a request that created something (a booking, a waiting entry): its
    JSON exactly as sent to the client, and what a page needs to link to it."""

    reference: str
    manage_token: str | None
    body: bytes
    status_code: int = 201


@dataclass(frozen=True, slots=True)
class Placed(Created):
    """The answer to a placement: the booking's JSON exactly as sent to the client."""

    # A repeated request answered with the first request's booking.
    replayed: bool = False
    channel: str = UNKNOWN_CHANNEL_VALUE
    status: str = BookingStatus.CONFIRMED


def place(
    session: Session,
    day: date,
    order_for: Callable[[Rules], Order],
    once: Once | None = None,
) -> Placed:
    """Place the booking ``order_for`` makes of the rules in force, or raise why not."""
    ordered: list[Order] = []

    def order_and_note(rules: Rules) -> Order:
        order = order_for(rules)
        ordered.append(order)
        return order

    try:
        placed = _place(session, day, order_and_note, once)
    except Exception as exc:
        channel = ordered[0].channel if ordered else UNKNOWN_CHANNEL_VALUE
        metrics.booking(channel, *_outcome_of(exc))
        raise
    metrics.booking(placed.channel, "replayed" if placed.replayed else placed.status)
    return placed


def _outcome_of(exc: Exception) -> tuple[str, str]:
    """What the metrics call a placement that did not place: (outcome, error code)."""
    if isinstance(exc, SoldOut):
        return "sold_out", exc.code
    if isinstance(exc, ServiceBusy) or db.database_unavailable(exc):
        return "unavailable", exc.code if isinstance(exc, DomainError) else ""
    if isinstance(exc, DomainError):
        return "refused", exc.code
    return "error", ""


def _place(
    session: Session,
    day: date,
    order_for: Callable[[Rules], Order],
    once: Once | None,
) -> Placed:
    now = clock.now()
    with db.reading(session) as connection:
        if once is not None:
            replay = _replay(connection, once)
            if replay is not None:
                return replay
        rules, override = rules_service.for_day(connection, day)
        order = order_for(rules)
        if order.booker not in channels.get(order.channel).booked_by:
            raise Forbidden({"channel": order.channel})
        slot = _slot(rules, order.slot_id)
        plan = rules_service.plan_day(rules, override, order.channel, day, now)
        rules_service.require_bookable(plan, slot.id)
        if order.check_plan is not None:
            order.check_plan(plan, now)
        daily, per_slot = plan.daily_capacity, plan.slot_capacities[slot.id]
        claimed = [holder.person.identity_hash for holder in order.holders]
        if order.held is None:
            capacity.refuse_beyond(order.places, daily, per_slot)
            full = capacity.counters.full_scope(
                connection, (day, order.channel, slot.id), order.places, daily, per_slot
            )
            if full is not None:
                raise SoldOut({"scope": full})
        else:
            # The hold's own claims on the day would match: the unique claim index still
            # refuses anybody who holds something else that day.
            claimed = []
        check_may_book(connection, order.ban_checked, claimed, now.date(), day)

    for _attempt in range(_REFERENCE_ATTEMPTS):
        prepared = _prepare(order, rules, slot, now, once)
        try:
            return _write(session, order, prepared, daily, per_slot, once)
        except _ReferenceTaken:
            continue
        except _AlreadyClaimed:
            assert once is not None
            with db.reading(session) as connection:
                replay = _replay(connection, once)
            if replay is None:  # the twin's booking was refused and rolled back: try again
                continue
            return replay
    raise RuntimeError("no free booking reference after several attempts")


def _slot(rules: Rules, slot_id: str) -> Slot:
    slot = rules.slot(slot_id)
    if slot is None:
        raise UnknownSlot({"fields": [{"field": "slot_id", "problem": "unknown slot"}]})
    return slot


_MAY_BOOK = text(
    """
    SELECT 'banned', until FROM visitor_ban
     WHERE identity_hash IN :banned AND until >= :today
    UNION ALL
    SELECT CASE WHEN booking_id IS NULL THEN 'waiting' ELSE 'booked' END, NULL FROM visitor
     WHERE identity_hash IN :claimed AND claim_date = :day
    """
).bindparams(
    bindparam("banned", expanding=True),
    bindparam("claimed", expanding=True),
    bindparam("today", type_=Date),
    bindparam("day", type_=Date),
)


def check_may_book(
    connection: Connection,
    banned: Sequence[str],
    claimed: Sequence[str],
    today: date,
    day: date,
) -> None:
    """Refuse banned people and people who already hold a booking or a waiting list entry
    that day, in one read.

    The unique claim index is what guarantees one booking or waiting entry per person and
    day; this check only answers the common case early and clearly.
    """
    found = connection.execute(
        _MAY_BOOK,
        {
            "banned": list(banned) or [""],
            "claimed": list(claimed) or [""],
            "today": today,
            "day": day,
        },
    )
    reasons = {row[0]: row[1] for row in found}
    if "banned" in reasons:
        raise VisitorBanned({"until": str(reasons["banned"])[:10]})
    if "booked" in reasons:
        raise DuplicateVisitor()
    if "waiting" in reasons:
        raise AlreadyWaiting()


# --- step 2: everything that needs no database ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _NewBooking:
    reference: str
    channel: str
    status: str
    day: date
    slot_id: str
    slot_start: str
    slot_end: str
    party_size: int
    phone_masked: str | None
    created_at: datetime
    organization: str | None
    review_note: str | None = None


@dataclass(frozen=True, slots=True)
class _NewVisitor:
    id: int  # the position + 1, until the database gives the row its id
    role: str
    name_masked: str | None
    id_masked: str | None


@dataclass(frozen=True, slots=True)
class _NewTicket:
    id: str
    visitor_id: int | None  # the holder's position + 1
    party_size: int
    qr_payload: str
    status: str = TicketStatus.VALID
    use_state: str = UseState.UNUSED


@dataclass(frozen=True, slots=True)
class _Prepared:
    reference: str
    manage_token: str
    booking_row: dict[str, Any]
    visitor_rows: list[dict[str, Any]]
    # Ticket rows with "visitor_id" holding the holder's position, or None.
    ticket_rows: list[dict[str, Any]]
    body: bytes
    # The idempotency record's columns, when the request has a key.
    once_row: dict[str, Any] | None


def _prepare(order: Order, rules: Rules, slot: Slot, now: datetime, once: Once | None) -> _Prepared:
    reference = new_reference()
    manage_token = new_manage_token()
    contact = identities.contact_columns(order.phone, order.email)
    booking_row = {
        "reference": reference,
        "channel": order.channel,
        "day": order.day,
        "slot_id": slot.id,
        "slot_start": slot.start,
        "slot_end": slot.end,
        "status": order.status,
        "party_size": order.places,
        "manage_token_hash": get_vault().token_hash(manage_token),
        "language": order.language,
        "organization": order.organization,
        "booked_by": order.staff_user,
        "created_at": now,
        "updated_at": now,
        **contact,
    }
    visitor_rows = []
    shown_visitors = []
    for position, holder in enumerate(order.holders):
        row = holder.person.claim_row(position, holder.role, order.day)
        visitor_rows.append(row)
        shown_visitors.append(
            _NewVisitor(position + 1, holder.role, row["name_masked"], row["id_masked"])
        )
    ticket_rows = []
    shown_tickets = []
    if order.status == BookingStatus.CONFIRMED:
        keyring = get_keyring()
        holders: list[int | None] = (
            list(range(len(order.holders))) if order.ticket_per_holder else [None]
        )
        party = 1 if order.ticket_per_holder else order.places
        for holder_position in holders:
            ticket_id = tickets.new_ticket_id()
            payload = keyring.sign(ticket_id, order.day, slot.id, party)
            ticket_rows.append(
                {
                    "id": ticket_id,
                    "visitor_id": holder_position,
                    "day": order.day,
                    "slot_id": slot.id,
                    "party_size": party,
                    "kid": payload.split(".")[1],
                    "qr_payload": payload,
                    "status": TicketStatus.VALID,
                    "use_state": UseState.UNUSED,
                    "admitted_count": 0,
                    "created_at": now,
                }
            )
            shown_holder = None if holder_position is None else holder_position + 1
            shown_tickets.append(_NewTicket(ticket_id, shown_holder, party, payload))
    shown = _NewBooking(
        reference=reference,
        channel=order.channel,
        status=order.status,
        day=order.day,
        slot_id=slot.id,
        slot_start=slot.start,
        slot_end=slot.end,
        party_size=order.places,
        phone_masked=contact["phone_masked"],
        created_at=now,
        organization=order.organization,
    )
    view: BookingOut = present_parts(shown, shown_visitors, shown_tickets, rules, manage_token)
    answer: BaseModel = view if order.answer is None else order.answer(view)
    body = answer.model_dump_json(by_alias=True).encode()
    once_row = None
    if once is not None:
        once_row = idempotency.record_columns(once.scope, once.key, once.fingerprint, 201, body)
    return _Prepared(
        reference, manage_token, booking_row, visitor_rows, ticket_rows, body, once_row
    )


# --- step 3: the one short write transaction -----------------------------------------------

_BOOKING: Table = Booking.__table__  # type: ignore[attr-defined]
_VISITOR: Table = Visitor.__table__  # type: ignore[attr-defined]
_TICKET: Table = Ticket.__table__  # type: ignore[attr-defined]
# The columns _prepare fills, in the order it fills them.
_BOOKING_COLUMNS = (
    "reference", "channel", "day", "slot_id", "slot_start", "slot_end", "status",
    "party_size", "manage_token_hash", "language", "organization", "booked_by", "created_at",
    "updated_at", "phone_enc", "phone_hash", "phone_masked", "email_enc", "email_masked",
)  # fmt: skip
_VISITOR_COLUMNS = (
    "booking_id", "position", "role", "claim_date", "is_minor", "id_type", "name_enc",
    "name_masked", "id_number_enc", "id_masked", "identity_hash",
)  # fmt: skip
_TICKET_COLUMNS = (
    "id", "booking_id", "visitor_id", "day", "slot_id", "party_size", "kid", "qr_payload",
    "status", "use_state", "admitted_count", "created_at",
)  # fmt: skip
_INSERT_BOOKING = db.DriverStatement(
    insert(_BOOKING).returning(_BOOKING.c.id), column_keys=_BOOKING_COLUMNS
)
_INSERT_VISITOR = db.DriverStatement(
    insert(_VISITOR).returning(_VISITOR.c.id), column_keys=_VISITOR_COLUMNS
)
_INSERT_TICKET = db.DriverStatement(insert(_TICKET), column_keys=_TICKET_COLUMNS)


class _ReferenceTaken(Exception):
    """Another booking drew the same reference."""


class _AlreadyClaimed(Exception):
    """A twin request with the same key got there first."""


def _write(
    session: Session,
    order: Order,
    prepared: _Prepared,
    daily_capacity: int,
    slot_capacity: int,
    once: Once | None,
) -> Placed:
    with db.short_write(session) as connection:
        if prepared.once_row is not None:
            claim = idempotency.claim_statement(connection.dialect.name)
            if connection.execute(claim, prepared.once_row).first() is None:
                raise _AlreadyClaimed()
        try:
            booking = _INSERT_BOOKING.first(connection, prepared.booking_row)
        except IntegrityError:
            raise _ReferenceTaken() from None
        assert booking is not None
        booking_id = booking[0]
        if order.held is not None:
            order.held.settle(connection, booking_id)
        visitor_ids = []
        try:
            for row in prepared.visitor_rows:
                visitor = _INSERT_VISITOR.first(connection, {**row, "booking_id": booking_id})
                assert visitor is not None
                visitor_ids.append(visitor[0])
        except IntegrityError:
            # The unique claim index: the same person booked the day in a racing request.
            raise DuplicateVisitor() from None
        for row in prepared.ticket_rows:
            holder = row["visitor_id"]
            _INSERT_TICKET.run(
                connection,
                {
                    **row,
                    "booking_id": booking_id,
                    "visitor_id": None if holder is None else visitor_ids[holder],
                },
            )
        if order.also_write is not None:
            order.also_write(connection, booking_id, prepared.reference)
        if order.held is None:
            # Last: the counter rows every booking of the day meets, then the commit at once.
            capacity.take(
                connection,
                day=order.day,
                channel=order.channel,
                slot_id=order.slot_id,
                places=order.places,
                daily_capacity=daily_capacity,
                slot_capacity=slot_capacity,
            )
    return Placed(
        prepared.reference,
        prepared.manage_token,
        prepared.body,
        channel=order.channel,
        status=order.status,
    )


def _replay(connection: Connection, once: Once) -> Placed | None:
    """The first answer to this key, or None when the key is new (or its request failed)."""
    record = idempotency.replay(connection, once.scope, once.key, once.fingerprint)
    if record is None:
        return None
    found = json.loads(record.body)
    return Placed(
        str(found["reference"]),
        found.get("manage_token"),
        record.body,
        record.status_code,
        replayed=True,
        channel=str(found.get("channel", UNKNOWN_CHANNEL_VALUE)),
        status=str(found.get("status", "")),
    )

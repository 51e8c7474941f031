"""The entrance: each ticket admits once, and never more people inside than the live limit.

Both guarantees come from the database, not from Python reading and then writing:

* a ticket is admitted by a conditional ``UPDATE ... WHERE use_state = 'unused'``, so two
  gates scanning one ticket at the same moment admit it once;
* people are counted in by a conditional upsert on the day's occupancy row that only
  applies while ``inside + n`` stays within the limit, so twenty people scanned at once
  against five free places admit exactly five.

One short transaction per request, begun as late as possible: the signature is checked
and the ticket read (in a transaction that takes no write lock) before anything is
written. An admission is then one short write transaction of four statements: the
booking, the ticket, the scan's record, and last the occupancy row every admission meets,
with the commit right after it. If any of them does not apply, none does, and the ticket
stays unused; the refusal is then recorded in a transaction of its own. The scan itself
is recorded in every case.

Rows are always locked in the same order (booking, then ticket, then the occupancy row)
and the hot occupancy row last, so it is held for as short a time as possible and
concurrent scans, cancellations and the closing job never deadlock.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reservations import clock, db
from reservations.booking.models import Booking, BookingStatus, Visitor
from reservations.dbtypes import UTCDateTime
from reservations.errors import field_error
from reservations.gate.models import GateScan, OccupancyCounter
from reservations.ops import metrics
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.tickets.models import Ticket, TicketStatus, UseState
from reservations.tickets.signing import InvalidToken, get_keyring

IN = "in"
OUT = "out"

# Verdicts: ``ADMITTED`` and the contract's reasons for entries; two more for check-outs.
ADMITTED = "admitted"
INVALID = "invalid"
CANCELLED_TICKET = "cancelled"
WRONG_DATE = "wrong_date"
TOO_EARLY = "too_early"
TOO_LATE = "too_late"
ALREADY_USED = "already_used"
CAPACITY_FULL = "capacity_full"
NOT_APPROVED = "not_approved"
CHECKED_OUT = "checked_out"
NOT_INSIDE = "not_inside"
# What an exit turnstile's count is recorded as (it carries no ticket).
EXIT_COUNT = "exit_count"

ENTRY_REASONS = (
    INVALID,
    CANCELLED_TICKET,
    WRONG_DATE,
    TOO_EARLY,
    TOO_LATE,
    ALREADY_USED,
    CAPACITY_FULL,
    NOT_APPROVED,
)

MAX_PAYLOAD_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Occupancy:
    """People inside the building now, against the live limit, for one day."""

    inside: int
    limit: int
    entered_today: int
    exited_today: int


@dataclass(frozen=True, slots=True)
class ScannedTicket:
    """What the gate shows about a ticket: masked, for the real-name check."""

    ticket_id: str
    day: date
    slot_id: str
    slot_start: str
    slot_end: str
    party_size: int
    channel: str
    organization: str | None
    name_masked: str | None
    id_masked: str | None
    state: str
    admitted_count: int
    entered_at: datetime | None
    entered_gate: str | None


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    admitted: bool
    reason: str | None
    direction: str
    # People let in (or checked out) by this scan.
    people: int
    ticket: ScannedTicket | None
    occupancy: Occupancy

    @property
    def verdict(self) -> str:
        if self.direction == OUT:
            return CHECKED_OUT if self.reason is None else self.reason
        return ADMITTED if self.admitted else (self.reason or INVALID)


# --- occupancy ---------------------------------------------------------------------------

_COUNTER = OccupancyCounter.__table__  # type: ignore[attr-defined]
_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_BOOKING = Booking.__table__  # type: ignore[attr-defined]
_SCAN = GateScan.__table__  # type: ignore[attr-defined]


def _limit(rules: Rules) -> int:
    return rules.occupancy.instantaneous_limit


# The scan path's statements are built once, with bound parameters: building SQLAlchemy
# expressions anew on every scan would cost more than running them.
_READ_OCCUPANCY = db.DriverStatement(
    select(_COUNTER.c.inside, _COUNTER.c.entered, _COUNTER.c.exited).where(
        _COUNTER.c.day == bindparam("o_day", type_=_COUNTER.c.day.type)
    )
)
_PEOPLE = bindparam("o_people", type_=Integer)
_COUNTED_OUT = case((_COUNTER.c.inside >= _PEOPLE, _PEOPLE), else_=_COUNTER.c.inside)
# Both SET expressions see the old ``inside``, so ``exited`` grows by exactly what
# ``inside`` shrinks: inside = entered - exited, and never below zero.
_COUNT_OUT = db.DriverStatement(
    update(_COUNTER)
    .where(_COUNTER.c.day == bindparam("o_day", type_=_COUNTER.c.day.type))
    .values(inside=_COUNTER.c.inside - _COUNTED_OUT, exited=_COUNTER.c.exited + _COUNTED_OUT)
    .returning(_COUNTER.c.inside, _COUNTER.c.entered, _COUNTER.c.exited)
)
_count_in_statements: dict[str, db.DriverStatement] = {}


def _count_in_statement(dialect: str) -> db.DriverStatement:
    """The conditional upsert that counts people in while ``inside + n <= limit``."""
    statement = _count_in_statements.get(dialect)
    if statement is None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = db.DriverStatement(
            insert_for(_COUNTER)
            .values(
                day=bindparam("o_day", type_=_COUNTER.c.day.type),
                inside=_PEOPLE,
                entered=_PEOPLE,
                exited=0,
            )
            .on_conflict_do_update(
                index_elements=["day"],
                set_={
                    "inside": _COUNTER.c.inside + _PEOPLE,
                    "entered": _COUNTER.c.entered + _PEOPLE,
                },
                where=(_COUNTER.c.inside + _PEOPLE) <= bindparam("o_limit", type_=Integer),
            )
            .returning(_COUNTER.c.inside, _COUNTER.c.entered, _COUNTER.c.exited)
        )
        _count_in_statements[dialect] = statement
    return statement


def _occupancy(row: Any, limit: int) -> Occupancy:
    if row is None:  # nobody was counted in that day
        return Occupancy(inside=0, limit=limit, entered_today=0, exited_today=0)
    return Occupancy(inside=row[0], limit=limit, entered_today=row[1], exited_today=row[2])


def _occupancy_on(connection: Connection, day: date, limit: int) -> Occupancy:
    return _occupancy(_READ_OCCUPANCY.first(connection, {"o_day": day}), limit)


def current_occupancy(session: Session) -> Occupancy:
    """People inside today, the live limit, and how many came and went today."""
    with db.reading(session) as connection:
        limit = _limit(rules_service.current_on(connection))
        return _occupancy_on(connection, clock.today(), limit)


def _count_in(connection: Connection, day: date, people: int, limit: int) -> Occupancy | None:
    """Count ``people`` in unless that would pass ``limit``: one conditional upsert."""
    if people > limit:
        return None
    statement = _count_in_statement(connection.dialect.name)
    parameters = {"o_day": day, "o_people": people, "o_limit": limit}
    # RETURNING rather than rowcount: drivers disagree on rowcount for upserts.
    row = statement.first(connection, parameters)
    return None if row is None else _occupancy(row, limit)


def _count_out(connection: Connection, day: date, people: int, limit: int) -> Occupancy:
    """Count ``people`` out of ``day``, never below zero."""
    return _occupancy(_COUNT_OUT.first(connection, {"o_day": day, "o_people": people}), limit)


def count_exits(session: Session, *, gate: str, count: int, actor: str) -> Occupancy:
    """People counted out by an exit turnstile, without a ticket."""
    now = clock.now()
    with db.reading(session) as connection:
        limit = _limit(rules_service.current_on(connection))
    with db.short_write(session) as connection:
        _record(
            connection,
            at=now,
            ticket_id=None,
            gate=gate,
            actor=actor,
            direction=OUT,
            verdict=EXIT_COUNT,
            people=count,
        )
        occupancy = _count_out(connection, now.date(), count, limit)
    metrics.scan(OUT, EXIT_COUNT)
    return occupancy


# Days before the closing day whose counters still say people are inside are emptied too
# (the service was down at their closing time).
_CLOSING_LOOKBACK_DAYS = 14


def close_days_through(session: Session, day: date) -> dict[str, Any]:
    """Close ``day`` and any of the fortnight before it that still has people inside."""
    earlier = select(_COUNTER.c.day).where(
        _COUNTER.c.day < day,
        _COUNTER.c.day >= day - timedelta(days=_CLOSING_LOOKBACK_DAYS),
        _COUNTER.c.inside > 0,
    )
    days = [*sorted(session.connection().execute(earlier).scalars()), day]
    totals: dict[str, Any] = {"day": day.isoformat(), "days_closed": len(days)}
    for closing in days:
        for key, count in close_day(session, closing).items():
            totals[key] = totals.get(key, 0) + count
    return totals


def close_day(session: Session, day: date) -> dict[str, int]:
    """Everybody is out at closing time, whatever the counters say.

    Tickets still inside become ``left`` and the day's ``inside`` drops to zero, those
    people counted as exited. Running it again changes nothing.
    """
    now = clock.now()
    # Tickets before the occupancy row: the order every scan locks them in.
    left = (
        session.connection()
        .execute(
            update(_TICKET)
            .where(_TICKET.c.day == day, _TICKET.c.use_state == UseState.INSIDE)
            .values(use_state=UseState.LEFT, exited_at=now)
            .returning(_TICKET.c.id)
        )
        .all()
    )
    row = (
        session.connection()
        .execute(select(_COUNTER.c.inside).where(_COUNTER.c.day == day).with_for_update())
        .first()
    )
    people = row[0] if row is not None else 0
    if people > 0:
        session.connection().execute(
            update(_COUNTER)
            .where(_COUNTER.c.day == day)
            .values(inside=_COUNTER.c.inside - people, exited=_COUNTER.c.exited + people)
        )
    return {"people_counted_out": people, "tickets_checked_out": len(left)}


# --- scanning ----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def normalize_payload(raw: str) -> str:
    """What a scanner typed, as the token that was printed.

    Keyboard-wedge scanners type through the computer's input method: a Chinese IME turns
    ``.`` into ``。`` and letters into full-width forms, and Caps Lock inverts the case of
    every letter. Tokens use upper-case letters only in their signature, so a lower-case
    signature means the case was inverted on the way.
    """
    text = unicodedata.normalize("NFKC", raw).replace("。", ".").replace("．", ".")
    text = _CONTROL.sub("", text)
    _, _, signature = text.rpartition(".")
    if signature and signature.islower():
        text = text.swapcase()
    return text


def entry_window(
    rules: Rules, day: date, slot_start: str, slot_end: str
) -> tuple[datetime, datetime]:
    """From the slot's start minus the early margin until its end plus the late margin,
    never after the day's last entry."""
    opens = clock.localize(day, slot_start) - timedelta(
        minutes=rules.gate.entry_opens_minutes_before
    )
    closes = clock.localize(day, slot_end) + timedelta(
        minutes=rules.gate.entry_closes_minutes_after_end
    )
    return opens, min(closes, clock.localize(day, rules.hours.last_entry))


@dataclass(frozen=True, slots=True)
class _Found:
    ticket: ScannedTicket
    booking_id: int
    booking_status: str
    ticket_status: str
    qr_payload: str


_holder = aliased(Visitor)
_leader = aliased(Visitor)


# The rules' version in force comes with the ticket: a scan's whole read is one statement.
_FIND_TICKET = db.DriverStatement(
    select(
        rules_service.VERSION_IN_FORCE,
        col(Ticket.id),
        col(Ticket.day),
        col(Ticket.slot_id),
        col(Ticket.party_size),
        col(Ticket.qr_payload),
        col(Ticket.status),
        col(Ticket.use_state),
        col(Ticket.admitted_count),
        col(Ticket.entered_at),
        col(Ticket.entered_gate),
        col(Booking.id),
        col(Booking.status),
        col(Booking.channel),
        col(Booking.slot_start),
        col(Booking.slot_end),
        col(Booking.organization),
        col(_holder.name_masked),
        col(_holder.id_masked),
        col(_leader.name_masked),
        col(_leader.id_masked),
    )
    .join(Booking, col(Booking.id) == col(Ticket.booking_id))
    .outerjoin(_holder, col(_holder.id) == col(Ticket.visitor_id))
    .outerjoin(
        _leader,
        and_(
            col(Ticket.visitor_id).is_(None),
            col(_leader.booking_id) == col(Ticket.booking_id),
            col(_leader.role) == "leader",
        ),
    )
    .where(col(Ticket.id) == bindparam("t_id"))
)


def _find(connection: Connection, ticket_id: str) -> tuple[Rules, _Found | None]:
    """The rules in force and the ticket with its booking and the masked holder (a team's
    leader): one query."""
    row = _FIND_TICKET.first(connection, {"t_id": ticket_id})
    if row is None:
        return rules_service.current_on(connection), None
    (
        version,
        found_id,
        day,
        slot_id,
        party_size,
        qr_payload,
        ticket_status,
        use_state,
        admitted_count,
        entered_at,
        entered_gate,
        booking_id,
        booking_status,
        channel,
        slot_start,
        slot_end,
        organization,
        holder_name,
        holder_id,
        leader_name,
        leader_id,
    ) = row
    ticket = ScannedTicket(
        ticket_id=found_id,
        day=day,
        slot_id=slot_id,
        slot_start=slot_start,
        slot_end=slot_end,
        party_size=party_size,
        channel=channel,
        organization=organization,
        name_masked=holder_name if holder_name is not None else leader_name,
        id_masked=holder_id if holder_id is not None else leader_id,
        state=use_state,
        admitted_count=admitted_count,
        entered_at=entered_at.astimezone(clock.zone()) if entered_at is not None else None,
        entered_gate=entered_gate,
    )
    found = _Found(ticket, booking_id, booking_status, ticket_status, qr_payload)
    return rules_service.of_version(connection, version), found


def _refusal(found: _Found, rules: Rules, now: datetime) -> str | None:
    """Why this ticket may not enter now, or None. Most telling reason first."""
    ticket = found.ticket
    if found.booking_status in (BookingStatus.PENDING, BookingStatus.REJECTED):
        return NOT_APPROVED
    if found.ticket_status == TicketStatus.VOID or found.booking_status in (
        BookingStatus.CANCELLED,
        BookingStatus.EXPIRED,
    ):
        return CANCELLED_TICKET
    if ticket.state != UseState.UNUSED:
        return ALREADY_USED
    if ticket.day != now.date():
        return WRONG_DATE
    opens, closes = entry_window(rules, ticket.day, ticket.slot_start, ticket.slot_end)
    if now < opens:
        return TOO_EARLY
    if now > closes or found.booking_status not in (
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
    ):
        # A booking already marked as a no-show is past its time.
        return TOO_LATE
    return None


_RECORD_SCAN = db.DriverStatement(
    insert(_SCAN),
    column_keys=("at", "ticket_id", "gate", "actor", "direction", "verdict", "people"),
)


def _record(
    connection: Connection,
    *,
    at: datetime,
    ticket_id: str | None,
    gate: str,
    actor: str,
    direction: str,
    verdict: str,
    people: int,
) -> None:
    _RECORD_SCAN.run(
        connection,
        {
            "at": at,
            "ticket_id": ticket_id,
            "gate": gate,
            "actor": actor,
            "direction": direction,
            "verdict": verdict,
            "people": people,
        },
    )


# Locks the booking row first (the order cancellations lock in) and fails if the booking
# stopped being active since it was read.
_CHECK_IN_BOOKING = db.DriverStatement(
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
# The single entry: only an unused, valid ticket changes, whoever else scans it.
_ENTER_TICKET = db.DriverStatement(
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
_LEAVE_TICKET = db.DriverStatement(
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("t_id"), _TICKET.c.use_state == UseState.INSIDE)
    .values(use_state=UseState.LEFT, exited_at=bindparam("t_now", type_=UTCDateTime()))
    .returning(_TICKET.c.admitted_count)
)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _admit(
    connection: Connection,
    found: _Found,
    people: int,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
) -> Occupancy:
    """Booking, ticket, scan record and places together, or _Refused and none of them.

    The occupancy row is every admission's meeting point, so it is taken last: after it
    only the commit remains.
    """
    booking_ok = _CHECK_IN_BOOKING.first(connection, {"b_id": found.booking_id, "b_now": now})
    if booking_ok is None:  # cancelled (or reviewed) since it was read
        raise _Refused(CANCELLED_TICKET)
    ticket_ok = _ENTER_TICKET.first(
        connection,
        {"t_id": found.ticket.ticket_id, "t_people": people, "t_now": now, "t_gate": gate},
    )
    if ticket_ok is None:  # another gate admitted it a moment ago
        raise _Refused(ALREADY_USED)
    _record(
        connection,
        at=now,
        ticket_id=found.ticket.ticket_id,
        gate=gate,
        actor=actor,
        direction=IN,
        verdict=ADMITTED,
        people=people,
    )
    occupancy = _count_in(connection, now.date(), people, limit)
    if occupancy is None:
        raise _Refused(CAPACITY_FULL)
    return occupancy


def _refuse(
    session: Session,
    *,
    ticket_id: str | None,
    ticket: ScannedTicket | None,
    reason: str,
    direction: str,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
) -> ScanOutcome:
    """Record a refusal in a short transaction of its own, with the occupancy of now."""
    with db.short_write(session) as connection:
        _record(
            connection,
            at=now,
            ticket_id=ticket_id,
            gate=gate,
            actor=actor,
            direction=direction,
            verdict=reason,
            people=0,
        )
        occupancy = _occupancy_on(connection, now.date(), limit)
    return ScanOutcome(False, reason, direction, 0, ticket, occupancy)


def scan(
    session: Session,
    payload: str,
    *,
    gate: str,
    actor: str,
    direction: str = IN,
    headcount: int | None = None,
) -> ScanOutcome:
    """Decide on one scanned ticket, apply it atomically, and record it."""
    outcome = _scan(
        session, payload, gate=gate, actor=actor, direction=direction, headcount=headcount
    )
    metrics.scan(outcome.direction, outcome.verdict)
    return outcome


def _scan(
    session: Session,
    payload: str,
    *,
    gate: str,
    actor: str,
    direction: str,
    headcount: int | None,
) -> ScanOutcome:
    now = clock.now()
    token = normalize_payload(payload)
    try:
        claims = get_keyring().verify(token)
    except InvalidToken:
        claims = None
    with db.reading(session) as connection:
        if claims is None:
            rules, found = rules_service.current_on(connection), None
        else:
            rules, found = _find(connection, claims.ticket_id)
    limit = _limit(rules)
    if found is None or found.qr_payload != token:
        # Forged, unreadable, signed by an unknown key, or a ticket this service never
        # issued (or has since erased).
        return _refuse(
            session,
            ticket_id=claims.ticket_id if claims is not None else None,
            ticket=None,
            reason=INVALID,
            direction=direction,
            gate=gate,
            actor=actor,
            now=now,
            limit=limit,
        )
    if direction == OUT:
        return _check_out(session, found, gate=gate, actor=actor, now=now, limit=limit)

    party = found.ticket.party_size
    if headcount is not None and not 1 <= headcount <= party:
        raise field_error("headcount", f"between 1 and the ticket's party size ({party})")
    people = headcount if headcount is not None else party
    reason = _refusal(found, rules, now)
    if reason is None:
        try:
            with db.short_write(session) as writing:
                occupancy = _admit(writing, found, people, gate, actor, now, limit)
        except _Refused as refused:
            reason = refused.reason
        else:
            ticket = dataclasses.replace(
                found.ticket,
                state=UseState.INSIDE,
                admitted_count=people,
                entered_at=now,
                entered_gate=gate,
            )
            return ScanOutcome(True, None, IN, people, ticket, occupancy)
    return _refuse(
        session,
        ticket_id=found.ticket.ticket_id,
        ticket=found.ticket,
        reason=reason,
        direction=IN,
        gate=gate,
        actor=actor,
        now=now,
        limit=limit,
    )


def _leave(
    connection: Connection,
    ticket: ScannedTicket,
    *,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
) -> tuple[int, Occupancy] | None:
    """The statements of a check-out: the people who left and the occupancy after, or None
    when the ticket's party is not inside (the update changed nothing)."""
    row = _LEAVE_TICKET.first(connection, {"t_id": ticket.ticket_id, "t_now": now})
    if row is None:
        return None
    people = int(row[0])
    _record(
        connection,
        at=now,
        ticket_id=ticket.ticket_id,
        gate=gate,
        actor=actor,
        direction=OUT,
        verdict=CHECKED_OUT,
        people=people,
    )
    # The people were counted in on the ticket's day: count them out of that day.
    occupancy = _count_out(connection, ticket.day, people, limit)
    if ticket.day != now.date():
        occupancy = _occupancy_on(connection, now.date(), limit)
    return people, occupancy


def _check_out(
    session: Session, found: _Found, *, gate: str, actor: str, now: datetime, limit: int
) -> ScanOutcome:
    """The party of a ticket leaves: occupancy drops by the people it admitted, once."""
    ticket = found.ticket
    with db.short_write(session) as connection:
        left = _leave(connection, ticket, gate=gate, actor=actor, now=now, limit=limit)
    if left is None:
        return _refuse(
            session,
            ticket_id=ticket.ticket_id,
            ticket=ticket,
            reason=NOT_INSIDE,
            direction=OUT,
            gate=gate,
            actor=actor,
            now=now,
            limit=limit,
        )
    people, occupancy = left
    return ScanOutcome(
        True, None, OUT, people, dataclasses.replace(ticket, state=UseState.LEFT), occupancy
    )

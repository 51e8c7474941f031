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

The statements are built once: the gate's own (the occupancy counter, scan records, the
scanned ticket's read) in ``gate.repository``; the booking's and the ticket's changes are
theirs to make (``booking.service.check_in``, ``tickets.service.enter`` and ``leave``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import service as booking_service
from reservations.booking.models import BookingStatus
from reservations.errors import field_error
from reservations.gate import repository
from reservations.ops import metrics
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.tickets import service as tickets
from reservations.tickets.models import TicketStatus, UseState
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


def _limit(rules: Rules) -> int:
    return rules.occupancy.instantaneous_limit


def _occupancy(row: Any, limit: int) -> Occupancy:
    if row is None:  # nobody was counted in that day
        return Occupancy(inside=0, limit=limit, entered_today=0, exited_today=0)
    return Occupancy(inside=row[0], limit=limit, entered_today=row[1], exited_today=row[2])


def occupancy_on(connection: Connection, day: date, limit: int) -> Occupancy:
    return _occupancy(repository.occupancy_row(connection, day), limit)


def current_occupancy(session: Session) -> Occupancy:
    """People inside today, the live limit, and how many came and went today."""
    with db.reading(session) as connection:
        limit = _limit(rules_service.current_on(connection))
        return occupancy_on(connection, clock.today(), limit)


def _count_in(connection: Connection, day: date, people: int, limit: int) -> Occupancy | None:
    """Count ``people`` in unless that would pass ``limit``: one conditional upsert."""
    if people > limit:
        return None
    row = repository.count_in(connection, day, people, limit)
    return None if row is None else _occupancy(row, limit)


def count_out(connection: Connection, day: date, people: int, limit: int) -> Occupancy:
    """Count ``people`` out of ``day``, never below zero."""
    return _occupancy(repository.count_out(connection, day, people), limit)


def count_exits(session: Session, *, gate: str, count: int, actor: str) -> Occupancy:
    """People counted out by an exit turnstile, without a ticket."""
    now = clock.now()
    with db.reading(session) as connection:
        limit = _limit(rules_service.current_on(connection))
    with db.short_write(session) as connection:
        repository.record_scan(
            connection,
            at=now,
            ticket_id=None,
            gate=gate,
            actor=actor,
            direction=OUT,
            verdict=EXIT_COUNT,
            people=count,
        )
        occupancy = count_out(connection, now.date(), count, limit)
    metrics.scan(OUT, EXIT_COUNT)
    return occupancy


# Days before the closing day whose counters still say people are inside are emptied too
# (the service was down at their closing time).
_CLOSING_LOOKBACK_DAYS = 14


def close_days_through(session: Session, day: date) -> dict[str, Any]:
    """Close ``day`` and any of the fortnight before it that still has people inside."""
    connection = session.connection()
    start = day - timedelta(days=_CLOSING_LOOKBACK_DAYS)
    days = [*repository.days_with_people_inside(connection, start, day), day]
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
    connection = session.connection()
    # Tickets before the occupancy row: the order every scan locks them in.
    tickets_left = tickets.leave_day(connection, day, clock.now())
    people = repository.empty_day(connection, day)
    return {"people_counted_out": people, "tickets_checked_out": tickets_left}


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
class Found:
    """A scanned ticket as the gate judges it: what it shows, and the states it depends on."""

    ticket: ScannedTicket
    booking_id: int
    booking_status: str
    ticket_status: str
    qr_payload: str


def find(connection: Connection, ticket_id: str) -> tuple[Rules, Found | None]:
    """The rules in force and the ticket with its booking and the masked holder (a team's
    leader): one query."""
    row = repository.ticket_row(connection, ticket_id)
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
    found = Found(ticket, booking_id, booking_status, ticket_status, qr_payload)
    return rules_service.of_version(connection, version), found


def refusal(found: Found, rules: Rules, now: datetime) -> str | None:
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


class Refused(Exception):
    """An admission that did not apply, with the reason; none of its statements stand."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def admit(
    connection: Connection,
    found: Found,
    people: int,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
) -> Occupancy:
    """Booking, ticket, scan record and places together, or Refused and none of them.

    The occupancy row is every admission's meeting point, so it is taken last: after it
    only the commit remains.
    """
    if not booking_service.check_in(connection, found.booking_id, now):
        raise Refused(CANCELLED_TICKET)  # cancelled (or reviewed) since it was read
    ticket_id = found.ticket.ticket_id
    if not tickets.enter(connection, ticket_id, people=people, at=now, gate=gate):
        raise Refused(ALREADY_USED)  # another gate admitted it a moment ago
    repository.record_scan(
        connection,
        at=now,
        ticket_id=ticket_id,
        gate=gate,
        actor=actor,
        direction=IN,
        verdict=ADMITTED,
        people=people,
    )
    occupancy = _count_in(connection, now.date(), people, limit)
    if occupancy is None:
        raise Refused(CAPACITY_FULL)
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
        repository.record_scan(
            connection,
            at=now,
            ticket_id=ticket_id,
            gate=gate,
            actor=actor,
            direction=direction,
            verdict=reason,
            people=0,
        )
        occupancy = occupancy_on(connection, now.date(), limit)
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
            rules, found = find(connection, claims.ticket_id)
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
    reason = refusal(found, rules, now)
    if reason is None:
        try:
            with db.short_write(session) as writing:
                occupancy = admit(writing, found, people, gate, actor, now, limit)
        except Refused as refused:
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


def leave(
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
    people = tickets.leave(connection, ticket.ticket_id, now)
    if people is None:
        return None
    repository.record_scan(
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
    occupancy = count_out(connection, ticket.day, people, limit)
    if ticket.day != now.date():
        occupancy = occupancy_on(connection, now.date(), limit)
    return people, occupancy


def _check_out(
    session: Session, found: Found, *, gate: str, actor: str, now: datetime, limit: int
) -> ScanOutcome:
    """The party of a ticket leaves: occupancy drops by the people it admitted, once."""
    ticket = found.ticket
    with db.short_write(session) as connection:
        left = leave(connection, ticket, gate=gate, actor=actor, now=now, limit=limit)
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

"""The entrance: each ticket admits once, and never more people inside than the live limit.

Both guarantees come from the database, not from Python reading and then writing:

* a ticket is admitted by a conditional ``UPDATE ... WHERE admitted_count + n <=
  party_size``, so two gates scanning one ticket at the same moment admit it once (a
  team's ticket admits its people in parts, never more than its party in total);
* people are counted in by a conditional upsert on the day's occupancy row that only
  applies while ``inside + n``, with the places offline scanners' leases hold, stays within
  the limit, so twenty people scanned at once against five free places admit exactly five.

A ticket is found by its QR code, by the ticket number printed under it, or by the identity
document its holder was booked with (through the document's keyed hash, never its
number); whichever way, it is judged and admitted by the same statements. A party (the
booking's other unused tickets, ``party=True``) is admitted in the same transaction: all
of it or none. A child under 14 enters only with an adult of the booking inside or
entering in the same step (rules key ``gate.minors_need_adult``).

One short transaction per request, begun as late as possible: the signature is checked
and the ticket read (in a transaction that takes no write lock) before anything is
written. An admission is then one short write transaction: the booking, each ticket, the
scans' records, and last the occupancy row every admission meets, with the commit right
after it. If any of them does not apply, none does, and the tickets stay unused; the
refusal is then recorded in a transaction of its own. The scan itself is recorded in
every case.

Rows are always locked in the same order (booking, then tickets in the order of their ids,
then the occupancy row) and the hot occupancy row last, so it is held for as short a time
as possible and concurrent scans, cancellations and the closing job never deadlock.

The statements are built once: the gate's own (the occupancy counter, scan records, the
scanned ticket's read) in ``gate.repository``; the booking's and the ticket's changes are
theirs to make (``booking.service.check_in``, ``tickets.service.enter`` and ``leave``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import identities
from reservations.booking import service as booking_service
from reservations.booking.models import BookingStatus
from reservations.errors import field_error
from reservations.gate import leases, repository
from reservations.ops import metrics
from reservations.privacy import documents
from reservations.privacy.vault import get_vault
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
NO_BOOKING = "no_booking"
GUARDIAN_REQUIRED = "guardian_required"
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
    NO_BOOKING,
    GUARDIAN_REQUIRED,
)

MAX_PAYLOAD_LENGTH = 512
MAX_TICKET_NUMBER_LENGTH = 40

# The visitor's role whose own document leads to their team's ticket.
MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Occupancy:
    """People inside the building now, against the live limit, for one day; ``leased``
    is the places offline scanners hold (online admissions leave them free)."""

    inside: int
    limit: int
    entered_today: int
    exited_today: int
    leased: int = 0


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

    @property
    def remaining(self) -> int:
        """People of its party not yet in."""
        return max(self.party_size - self.admitted_count, 0)


@dataclass(frozen=True, slots=True)
class AdmittedTicket:
    """One ticket a scan let in, masked, with its people."""

    ticket_id: str
    name_masked: str | None
    id_masked: str | None
    people: int


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    admitted: bool
    reason: str | None
    direction: str
    # People let in (or checked out) by this scan.
    people: int
    ticket: ScannedTicket | None
    occupancy: Occupancy
    # Every ticket this scan let in: the scanned one, and its party's with ``party``.
    admitted_tickets: tuple[AdmittedTicket, ...] = ()

    @property
    def verdict(self) -> str:
        if self.direction == OUT:
            return CHECKED_OUT if self.reason is None else self.reason
        return ADMITTED if self.admitted else (self.reason or INVALID)

    @property
    def remaining(self) -> int | None:
        return None if self.ticket is None else self.ticket.remaining


# --- occupancy ---------------------------------------------------------------------------


def _limit(rules: Rules) -> int:
    return rules.occupancy.instantaneous_limit


def _occupancy(row: Any, limit: int) -> Occupancy:
    if row is None:  # nobody was counted in that day
        return Occupancy(inside=0, limit=limit, entered_today=0, exited_today=0)
    return Occupancy(
        inside=row[0], limit=limit, entered_today=row[1], exited_today=row[2], leased=row[3]
    )


def occupancy_on(connection: Connection, day: date, limit: int) -> Occupancy:
    return _occupancy(repository.occupancy_row(connection, day), limit)


def current_occupancy(session: Session) -> Occupancy:
    """People inside today, the live limit, and how many came and went today."""
    with db.reading(session) as connection:
        limit = _limit(rules_service.current_on(connection))
        return occupancy_on(connection, clock.today(), limit)


def _count_in(connection: Connection, day: date, people: int, limit: int) -> Occupancy | None:
    """Count ``people`` in unless that would pass ``limit`` (less what leases hold): one
    conditional upsert."""
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
    people counted as exited; the day's offline leases end. Running it again changes
    nothing.
    """
    connection = session.connection()
    now = clock.now()
    # Tickets, then leases, before the occupancy row: the order every scan locks them in.
    tickets_left = tickets.leave_day(connection, day, now)
    leases.end_day(connection, day, now)
    people = repository.empty_day(connection, day)
    return {"people_counted_out": people, "tickets_checked_out": tickets_left}


# --- reading what was scanned ----------------------------------------------------------------

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


# Ticket numbers use Crockford's base32 (no I, L, O, U): letters read aloud or typed from
# a worn print are taken as the digits they look like.
_TICKET_NUMBER_SEPARATORS = re.compile(r"[\s\-_.·]+")
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_TICKET_NUMBER = re.compile(r"^[0-9A-HJKMNP-TV-Z]{8,16}$")


def normalize_ticket_number(raw: str) -> str | None:
    """The ticket id a member of staff typed, however it was spaced or cased; None when it
    cannot be one."""
    text = unicodedata.normalize("NFKC", raw).upper()
    text = _TICKET_NUMBER_SEPARATORS.sub("", text).translate(_LOOK_ALIKES)
    return text if _TICKET_NUMBER.match(text) else None


@dataclass(frozen=True, slots=True)
class PresentedDocument:
    """An identity document as a card reader read it, or staff typed it from the card."""

    id_type: str
    number: str


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
    exited_count: int = 0
    holder_is_minor: bool = False


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
        exited_count,
        holder_is_minor,
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
    found = Found(
        ticket,
        booking_id,
        booking_status,
        ticket_status,
        qr_payload,
        exited_count=int(exited_count or 0),
        holder_is_minor=bool(holder_is_minor),
    )
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
    if ticket.remaining <= 0:
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


@dataclass(frozen=True, slots=True)
class Entry:
    """One ticket of an admission and the people it lets in."""

    ticket_id: str
    people: int


def admit(
    connection: Connection,
    found: Found,
    people: int,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
    *,
    party: Sequence[Entry] = (),
) -> Occupancy:
    """Booking, tickets, scan records and places together, or Refused and none of them.

    ``party`` is the booking's other tickets entering in the same step. The occupancy row
    is every admission's meeting point, so it is taken last: after it only the commit
    remains.
    """
    if not booking_service.check_in(connection, found.booking_id, now):
        raise Refused(CANCELLED_TICKET)  # cancelled (or reviewed) since it was read
    entries = sorted([Entry(found.ticket.ticket_id, people), *party], key=lambda e: e.ticket_id)
    for entry in entries:
        if not tickets.enter(connection, entry.ticket_id, people=entry.people, at=now, gate=gate):
            raise Refused(ALREADY_USED)  # another gate admitted it a moment ago
    for entry in entries:
        repository.record_scan(
            connection,
            at=now,
            ticket_id=entry.ticket_id,
            gate=gate,
            actor=actor,
            direction=IN,
            verdict=ADMITTED,
            people=entry.people,
        )
    occupancy = _count_in(connection, now.date(), sum(e.people for e in entries), limit)
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


# --- the party and its children ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Companion:
    """Another ticket of the scanned ticket's booking, as the party rule sees it."""

    ticket_id: str
    people: int
    unused: bool
    inside: bool
    minor: bool
    adult: bool
    name_masked: str | None
    id_masked: str | None


def _is_adult(id_type: str | None, sealed_number: str | None, day: date) -> bool:
    """Whether a booking's visitor is an adult on ``day``: only the resident ID tells an
    age (its birth date), other documents are taken as adults'."""
    if id_type is None or sealed_number is None:
        return False
    try:
        number = get_vault().decrypt(sealed_number, identities.DOCUMENT)
        age = documents.parse_document(id_type, number, day).age_on(day)
    except (ValueError, documents.InvalidDocument):
        return False
    return age is None or age >= identities.ADULT_AGE


def _companions(connection: Connection, found: Found) -> tuple[list[_Companion], bool]:
    """The booking's tickets other than the scanned one, with what the party rule needs;
    and whether the scanned ticket's holder is an adult."""
    day = found.ticket.day
    companions = []
    scanned_adult = False
    for row in repository.booking_tickets(connection, found.booking_id):
        (ticket_id, party_size, admitted, use_state, status, minor, id_type, sealed, name, id_) = (
            row
        )
        adult = not minor and _is_adult(id_type, sealed, day)
        if ticket_id == found.ticket.ticket_id:
            scanned_adult = adult
            continue
        companions.append(
            _Companion(
                ticket_id=ticket_id,
                people=party_size,
                unused=status == TicketStatus.VALID and admitted == 0,
                inside=use_state == UseState.INSIDE,
                minor=bool(minor),
                adult=adult,
                name_masked=name,
                id_masked=id_,
            )
        )
    return companions, scanned_adult


def _party_and_guardian(
    connection: Connection, found: Found, rules: Rules, party: bool
) -> tuple[list[_Companion], str | None]:
    """The tickets entering with the scanned one (``party``), and why the step may not
    happen (a child without an adult of the booking inside or entering with it), or None."""
    needs_adult = rules.gate.minors_need_adult
    if not party and not (needs_adult and found.holder_is_minor):
        return [], None
    companions, scanned_adult = _companions(connection, found)
    entering = [c for c in companions if c.unused] if party else []
    if needs_adult and (found.holder_is_minor or any(c.minor for c in entering)):
        accompanied = scanned_adult or any(
            c.adult and (c.inside or c in entering) for c in companions
        )
        if not accompanied:
            return entering, GUARDIAN_REQUIRED
    return entering, None


# --- scanning ----------------------------------------------------------------------------------


def scan(
    session: Session,
    payload: str | None = None,
    *,
    gate: str,
    actor: str,
    direction: str = IN,
    headcount: int | None = None,
    party: bool = False,
    document: PresentedDocument | None = None,
    ticket_number: str | None = None,
) -> ScanOutcome:
    """Decide on one ticket (by its QR text, its printed number or its holder's document),
    apply it atomically, and record it."""
    outcome = _scan(
        session,
        payload,
        document=document,
        ticket_number=ticket_number,
        gate=gate,
        actor=actor,
        direction=direction,
        headcount=headcount,
        party=party,
    )
    metrics.scan(outcome.direction, outcome.verdict)
    return outcome


@dataclass(frozen=True, slots=True)
class _Lookup:
    """The ticket a scan names: its id, whether the presented code must match its QR, and
    the headcount a team member's own document stands for."""

    ticket_id: str | None
    token: str | None = None
    member: bool = False
    reason: str = INVALID


def _identity(document: PresentedDocument, today: date) -> str:
    """The document's keyed hash; its number goes no further than this."""
    parsed = identities.document(document.id_type, document.number, today, "document.id_number")
    return identities.identity_hash(parsed)


def _look_up(
    connection: Connection,
    payload: str | None,
    ticket_number: str | None,
    identity_hash: str | None,
    today: date,
) -> _Lookup:
    if identity_hash is not None:
        row = repository.ticket_of_person(connection, identity_hash, today)
        if row is None:
            return _Lookup(None, reason=NO_BOOKING)
        return _Lookup(row[0], member=row[1] == MEMBER)
    if ticket_number is not None:
        return _Lookup(normalize_ticket_number(ticket_number))
    token = normalize_payload(payload or "")
    try:
        claims = get_keyring().verify(token)
    except InvalidToken:
        return _Lookup(None, token=token)
    return _Lookup(claims.ticket_id, token=token)


def _scan(
    session: Session,
    payload: str | None,
    *,
    document: PresentedDocument | None,
    ticket_number: str | None,
    gate: str,
    actor: str,
    direction: str,
    headcount: int | None,
    party: bool,
) -> ScanOutcome:
    now = clock.now()
    # Validated (and hashed) before any transaction: a number that is not one is refused.
    identity_hash = _identity(document, now.date()) if document is not None else None
    with db.reading(session) as connection:
        lookup = _look_up(connection, payload, ticket_number, identity_hash, now.date())
        if lookup.ticket_id is None:
            rules, found = rules_service.current_on(connection), None
        else:
            rules, found = find(connection, lookup.ticket_id)
        limit = _limit(rules)
        if found is None or (lookup.token is not None and found.qr_payload != lookup.token):
            # Forged, unreadable, signed by an unknown key, a ticket this service never
            # issued (or has since erased); or nobody booked under that document today.
            found = None
            entering: list[_Companion] = []
            reason: str | None = lookup.reason
        else:
            reason = None
            if direction == IN:
                reason = refusal(found, rules, now)
                if reason is None:
                    entering, reason = _party_and_guardian(connection, found, rules, party)
    if found is None:
        return _refuse(
            session,
            ticket_id=lookup.ticket_id,
            ticket=None,
            reason=reason or INVALID,
            direction=direction,
            gate=gate,
            actor=actor,
            now=now,
            limit=limit,
        )
    if direction == OUT:
        return _check_out(session, found, gate=gate, actor=actor, now=now, limit=limit)

    ticket = found.ticket
    if headcount is not None and not 1 <= headcount <= ticket.party_size:
        raise field_error(
            "headcount", f"between 1 and the ticket's party size ({ticket.party_size})"
        )
    if reason is None and headcount is not None and headcount > ticket.remaining:
        raise field_error(
            "headcount", f"at most the {ticket.remaining} people of the party not yet in"
        )
    if headcount is not None:
        people = headcount
    elif lookup.member:
        people = 1  # a team member's own document: that member
    else:
        people = ticket.remaining
    if reason is None:
        outcome = _admit(
            session, found, people, entering, gate=gate, actor=actor, now=now, limit=limit
        )
        if isinstance(outcome, ScanOutcome):
            return outcome
        reason = outcome
    return _refuse(
        session,
        ticket_id=ticket.ticket_id,
        ticket=ticket,
        reason=reason,
        direction=IN,
        gate=gate,
        actor=actor,
        now=now,
        limit=limit,
    )


def _admit(
    session: Session,
    found: Found,
    people: int,
    entering: list[_Companion],
    *,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
) -> ScanOutcome | str:
    """The admission's one write transaction: the outcome, or the reason it did not apply.

    A refusal for want of places is tried once more when leases that held places have run
    out meanwhile: what they did not use returns as they end."""
    party = [Entry(c.ticket_id, c.people) for c in entering]
    for attempt in range(2):
        try:
            with db.short_write(session) as writing:
                occupancy = admit(writing, found, people, gate, actor, now, limit, party=party)
        except Refused as refused:
            if refused.reason != CAPACITY_FULL or attempt > 0:
                return refused.reason
            with db.reading(session) as connection:
                due = leases.any_due(connection, now)
            if not due:
                return refused.reason
            with db.short_write(session) as writing:
                leases.expire_due(writing, now)
            continue
        ticket = dataclasses.replace(
            found.ticket,
            state=UseState.INSIDE,
            admitted_count=found.ticket.admitted_count + people,
            entered_at=found.ticket.entered_at or now,
            entered_gate=found.ticket.entered_gate or gate,
        )
        admitted = [
            AdmittedTicket(ticket.ticket_id, ticket.name_masked, ticket.id_masked, people),
            *(AdmittedTicket(c.ticket_id, c.name_masked, c.id_masked, c.people) for c in entering),
        ]
        total = people + sum(c.people for c in entering)
        return ScanOutcome(True, None, IN, total, ticket, occupancy, tuple(admitted))
    return CAPACITY_FULL


def leave(
    connection: Connection,
    ticket: ScannedTicket,
    *,
    gate: str,
    actor: str,
    now: datetime,
    limit: int,
    exited_before: int | None = None,
) -> tuple[int, Occupancy] | None:
    """The statements of a check-out: the people who left and the occupancy after, or None
    when none of the ticket's party is inside (the update changed nothing)."""
    people = tickets.leave(connection, ticket.ticket_id, now, exited_before)
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
    """The party of a ticket leaves: occupancy drops by the people of it inside, once."""
    ticket = found.ticket
    with db.short_write(session) as connection:
        left = leave(
            connection,
            ticket,
            gate=gate,
            actor=actor,
            now=now,
            limit=limit,
            exited_before=found.exited_count,
        )
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
    out = AdmittedTicket(ticket.ticket_id, ticket.name_masked, ticket.id_masked, people)
    return ScanOutcome(
        True,
        None,
        OUT,
        people,
        dataclasses.replace(ticket, state=UseState.LEFT),
        occupancy,
        (out,),
    )


# --- a ticket number, looked up before anybody is admitted ------------------------------------


@dataclass(frozen=True, slots=True)
class LookedUp:
    """A ticket found by its printed number, and what a scan of it would answer now."""

    ticket: ScannedTicket | None
    reason: str | None
    # Its booking's other tickets: (masked ticket, use state, still valid).
    companions: tuple[tuple[AdmittedTicket, str, bool], ...]


def look_up(session: Session, ticket_number: str) -> LookedUp:
    """The ticket a printed number names, masked, with the reason a scan of it would be
    refused now (None: it would be admitted) and its booking's other tickets. Reads only."""
    now = clock.now()
    ticket_id = normalize_ticket_number(ticket_number)
    with db.reading(session) as connection:
        rules, found = find(connection, ticket_id) if ticket_id else (None, None)
        if found is None or rules is None:
            return LookedUp(None, INVALID, ())
        reason = refusal(found, rules, now)
        if reason is None:
            _entering, reason = _party_and_guardian(connection, found, rules, party=False)
        rows = repository.booking_tickets(connection, found.booking_id)
    companions = tuple(
        (
            AdmittedTicket(row[0], row[8], row[9], row[1]),
            str(row[3]),
            row[4] == TicketStatus.VALID,
        )
        for row in rows
        if row[0] != found.ticket.ticket_id
    )
    return LookedUp(found.ticket, reason, companions)

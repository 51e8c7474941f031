"""Scanners that keep admitting without the network, and the upload of what they did.

While online, a scanner keeps what it needs to judge today's tickets by itself
(:func:`offline_data`): the public keys, the tickets that may not enter (cancelled) or have
entered (used; a team's people not yet in), each slot's entry window, the live limit, the
last occupancy, and its lease (``gate.leases``): the people it may admit offline and until
when. Without the network it verifies signatures itself, admits within its lease, and
queues every scan with an id of its own.

:func:`record_offline_scans` takes those scans when the network returns:

* **once**: each scan id is claimed by one ``INSERT ... ON CONFLICT DO NOTHING`` on the
  table's primary key, so the same upload sent twice, or twice at the same moment, records
  each scan once and answers it the same way both times; each scan is a short transaction of
  its own;
* **within a lease**: an admission counts only when the device's lease covers it (it
  happened while the lease stood, not after the upload, within its allowance). One that no
  lease covers is recorded as a problem for admins with the staff user and device, and
  admits nobody: a staff token cannot get round the live limit or the entry window by
  uploading scans it never made offline;
* **at its real time and gate**: the admission uses the same conditional statements as the
  online scan (a ticket's party enters once, whoever else scans it), and its people take
  the places the lease held for them;
* **a ticket admitted twice is admitted once**: when the server does not admit what the
  device admitted (another gate admitted the ticket first, or it was cancelled), the later
  scan is refused with its reason and marked as a ``conflict``, shown to admins and audited.
  Occupancy counts the admitted party once: the extra people are for staff to find.

An upload ends the device's lease (unless it says more follow); what it did not use returns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from reservations import clock, db
from reservations.audit import service as audit
from reservations.booking import service as booking_service
from reservations.booking.models import Booking, BookingStatus
from reservations.gate import leases, repository, service
from reservations.gate.models import GateScan, OfflineScan
from reservations.ops import metrics
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.tickets import service as tickets
from reservations.tickets.models import Ticket, TicketStatus, UseState
from reservations.tickets.signing import InvalidToken, SigningKey, get_keyring

# Changes committed a little before the cursor a scanner sends are sent again: a
# transaction that began before the last answer may commit after it.
CURSOR_OVERLAP = timedelta(minutes=5)
# The device's clock, corrected by the offset it measured, may still be this far off.
CLOCK_TOLERANCE = timedelta(minutes=2)
# How often a scanner refreshes its offline data while online.
REFRESH_SECONDS = 60
# Fits the request body limit (64 KiB) even with every field at its longest.
MAX_SCANS_PER_UPLOAD = 50

_OFFLINE = OfflineScan.__table__  # type: ignore[attr-defined]
# Large enough never to refuse: people admitted offline are inside already.
_NO_LIMIT = 2**31 - 1


# --- what a scanner keeps -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryWindow:
    slot_id: str
    opens: datetime
    closes: datetime


@dataclass(frozen=True, slots=True)
class OfflineData:
    generated_at: datetime
    day: date
    keys: list[SigningKey]
    revoked: list[str]
    used: list[str]
    # Team tickets with people still to come: how many (always in full).
    remaining: dict[str, int]
    # False when only what changed since the cursor is listed.
    complete: bool
    windows: list[EntryWindow]
    occupancy: service.Occupancy
    # The device's lease, when it named itself.
    lease: leases.Grant | None


def _windows(session: Session, rules: Rules, day: date) -> list[EntryWindow]:
    """Each slot's entry window today: from the rules, and from the slot times today's
    bookings were made with (an admin may have moved a slot since); the widest wins."""
    times = {(slot.id, slot.start, slot.end) for slot in rules.slots}
    booked = session.exec(
        select(Booking.slot_id, Booking.slot_start, Booking.slot_end)
        .where(col(Booking.day) == day)
        .distinct()
    ).all()
    times.update((slot_id, start, end) for slot_id, start, end in booked)
    widest: dict[str, tuple[datetime, datetime]] = {}
    for slot_id, start, end in times:
        opens, closes = service.entry_window(rules, day, start, end)
        if slot_id in widest:
            known_opens, known_closes = widest[slot_id]
            opens, closes = min(opens, known_opens), max(closes, known_closes)
        widest[slot_id] = (opens, closes)
    return [EntryWindow(slot_id, *widest[slot_id]) for slot_id in sorted(widest)]


def offline_data(
    session: Session,
    since: datetime | None = None,
    *,
    device: str | None = None,
    staff: str = "",
) -> OfflineData:
    """What a scanner needs to judge today's tickets without the network; with ``device``,
    that device's lease too (granted or renewed first, in a short write of its own).

    With ``since`` (the ``generated_at`` of an earlier answer, the same day) only the
    tickets that changed from then on are listed; the scanner adds them to what it has.
    """
    now = clock.now()
    day = now.date()
    rules = rules_service.current(session)
    lease = None
    if device is not None:
        with db.short_write(session) as connection:
            lease = leases.grant(connection, device, staff=staff, now=now, rules=rules)
    # A cursor of another day, or from the future (a clock moved back in a rehearsal), gets
    # everything again.
    incremental = (
        since is not None and since <= now and since.astimezone(clock.zone()).date() == day
    )
    changed_from = since - CURSOR_OVERLAP if since is not None and incremental else None

    not_active = or_(
        col(Ticket.status) != TicketStatus.VALID,
        col(Booking.status).not_in((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)),
    )
    revoked_query = (
        select(Ticket.id)
        .join(Booking, col(Booking.id) == col(Ticket.booking_id))
        .where(col(Ticket.day) == day, not_active)
    )
    used_query = select(Ticket.id).where(
        col(Ticket.day) == day, col(Ticket.use_state) != UseState.UNUSED
    )
    if changed_from is not None:
        # Every change of a booking's status moves its updated_at; an admission is recorded
        # as a scan at its time (a team's later parts too), and one from an upload carries
        # the time of the scan, so uploads are found by their own.
        revoked_query = revoked_query.where(col(Booking.updated_at) >= changed_from)
        uploaded = select(OfflineScan.ticket_id).where(
            col(OfflineScan.received_at) >= changed_from, col(OfflineScan.admitted)
        )
        admitted = select(GateScan.ticket_id).where(
            col(GateScan.at) >= changed_from, col(GateScan.verdict) == service.ADMITTED
        )
        used_query = used_query.where(
            or_(
                col(Ticket.entered_at) >= changed_from,
                col(Ticket.id).in_(uploaded),
                col(Ticket.id).in_(admitted),
            )
        )
    partly = session.exec(
        select(Ticket.id, Ticket.party_size, Ticket.admitted_count).where(
            col(Ticket.day) == day,
            col(Ticket.status) == TicketStatus.VALID,
            col(Ticket.admitted_count) > 0,
            col(Ticket.admitted_count) < col(Ticket.party_size),
        )
    ).all()
    return OfflineData(
        generated_at=now,
        day=day,
        keys=get_keyring().verifying_keys(),
        revoked=sorted(session.exec(revoked_query).all()),
        used=sorted(set(session.exec(used_query).all())),
        remaining={ticket_id: party - admitted for ticket_id, party, admitted in partly},
        complete=changed_from is None,
        windows=_windows(session, rules, day),
        occupancy=service.current_occupancy(session),
        lease=lease,
    )


# --- the upload -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfflineScanIn:
    id: str
    payload: str
    gate: str
    direction: str
    at: datetime
    headcount: int | None
    # What the device decided at the gate: people let in, or not and why.
    admitted: bool
    reason: str | None

    def fingerprint(self) -> str:
        text = json.dumps(
            [
                self.payload,
                self.gate,
                self.direction,
                self.at.astimezone(clock.zone()).isoformat(),
                self.headcount,
                self.admitted,
                self.reason,
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OfflineResult:
    id: str
    # False only for an id already used by a different scan: nothing was recorded.
    recorded: bool
    admitted: bool
    reason: str | None
    conflict: bool
    over_limit: bool
    people: int
    at: datetime | None
    ticket_id: str | None
    direction: str
    # Why no lease covered the device's admission (``leases.PROBLEMS``), or None.
    problem: str | None = None

    @property
    def verdict(self) -> str:
        if not self.recorded:
            return SCAN_ID_REUSED
        if self.direction == service.OUT:
            return service.CHECKED_OUT if self.admitted else (self.reason or service.NOT_INSIDE)
        return service.ADMITTED if self.admitted else (self.reason or service.INVALID)


# The verdict of a scan id sent again with different content.
SCAN_ID_REUSED = "scan_id_reused"

_claim_statements: dict[str, Any] = {}


def _claim_statement(dialect: str) -> Any:
    """INSERT the scan's row unless its id exists: the one statement that makes it once."""
    statement = _claim_statements.get(dialect)
    if statement is None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert_for(_OFFLINE)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(_OFFLINE.c.id)
        )
        _claim_statements[dialect] = statement
    return statement


@dataclass(frozen=True, slots=True)
class _Judged:
    admitted: bool
    reason: str | None
    people: int = 0
    conflict: bool = False
    over_limit: bool = False
    problem: str | None = None
    lease_id: int | None = None


def _result(
    scan_id: str,
    direction: str,
    at: datetime,
    ticket_id: str | None,
    judged: _Judged,
    *,
    recorded: bool = True,
) -> OfflineResult:
    return OfflineResult(
        id=scan_id,
        recorded=recorded,
        admitted=judged.admitted,
        reason=judged.reason,
        conflict=judged.conflict,
        over_limit=judged.over_limit,
        people=judged.people,
        at=at.astimezone(clock.zone()),
        ticket_id=ticket_id,
        direction=direction,
        problem=judged.problem,
    )


def _result_of(row: OfflineScan, recorded: bool) -> OfflineResult:
    judged = _Judged(
        row.admitted, row.reason, row.people, row.conflict, row.over_limit, row.problem
    )
    return _result(row.id, row.direction, row.at, row.ticket_id, judged, recorded=recorded)


def record_offline_scans(
    session: Session,
    device: str,
    scans: Sequence[OfflineScanIn],
    *,
    actor: str,
    more: bool = False,
) -> list[OfflineResult]:
    """Record each scan once, in order, and answer each with the server's verdict; then
    the device's lease ends, unless ``more`` scans of it are still to come."""
    now = clock.now()
    rules = rules_service.current(session)
    dialect = session.get_bind().dialect.name
    results = []
    for scan in scans:
        # One short transaction per scan: its locks (the device's lease first, then the
        # booking, the ticket and last the day's occupancy, as an online scan takes them) are
        # held for one admission, never across the upload. Each is recorded once by its id,
        # so an upload cut short is answered the same when sent again.
        db.commit(session)
        leases.lock_device_lease(session.connection(), device)
        # A corrected clock a little ahead of the server's scanned at the server's time;
        # one far ahead claims a scan after its upload.
        ahead = scan.at > now + CLOCK_TOLERANCE
        at = min(scan.at, now).astimezone(clock.zone())
        fingerprint = scan.fingerprint()
        claimed = (
            session.connection()
            .execute(
                _claim_statement(dialect),
                {
                    "id": scan.id,
                    "device": device,
                    "uploaded_by": actor,
                    "fingerprint": fingerprint,
                    "gate": scan.gate,
                    "direction": scan.direction,
                    "at": at,
                    "day": at.date(),
                    "received_at": now,
                    "ticket_id": None,
                    "headcount": scan.headcount,
                    "device_admitted": scan.admitted,
                    "device_reason": scan.reason,
                    "admitted": False,
                    "reason": None,
                    "people": 0,
                    "conflict": False,
                    "over_limit": False,
                    "lease_id": None,
                    "problem": None,
                },
            )
            .first()
        )
        if claimed is None:
            # Sent before (maybe a moment ago, by a retry): answer as the first time.
            existing = session.get(OfflineScan, scan.id)
            assert existing is not None
            results.append(_result_of(existing, recorded=existing.fingerprint == fingerprint))
            continue
        ticket_id, judged = _judge(
            session, scan, at, device=device, actor=actor, rules=rules, ahead=ahead
        )
        session.connection().execute(
            update(_OFFLINE)
            .where(_OFFLINE.c.id == scan.id)
            .values(
                ticket_id=ticket_id,
                admitted=judged.admitted,
                reason=judged.reason,
                people=judged.people,
                conflict=judged.conflict,
                over_limit=judged.over_limit,
                lease_id=judged.lease_id,
                problem=judged.problem,
            )
        )
        result = _result(scan.id, scan.direction, at, ticket_id, judged)
        metrics.scan(scan.direction, result.verdict, source="offline")
        results.append(result)
    if not more:
        leases.end_device_lease(session.connection(), device, now, leases.UPLOADED)
    session.expire_all()
    return results


def _judge(
    session: Session,
    scan: OfflineScanIn,
    at: datetime,
    *,
    device: str,
    actor: str,
    rules: Rules,
    ahead: bool,
) -> tuple[str | None, _Judged]:
    """Apply one newly claimed scan at its real time; the ticket it concerns and the verdict."""
    token = service.normalize_payload(scan.payload)
    try:
        claims = get_keyring().verify(token)
    except InvalidToken:
        claims = None
    found = None
    if claims is not None:
        _rules_now, found = service.find(session.connection(), claims.ticket_id)
    ticket_id = claims.ticket_id if claims is not None else None

    def record(verdict: str) -> None:
        repository.record_scan(
            session.connection(),
            at=at,
            ticket_id=ticket_id,
            gate=scan.gate,
            actor=actor,
            direction=scan.direction,
            verdict=verdict,
            people=0,
        )

    entering = scan.direction == service.IN
    if found is None or found.qr_payload != token:
        record(service.INVALID)
        # A device verifies signatures itself: people it let in on a ticket the server
        # does not know need a person to look.
        return ticket_id, _Judged(False, service.INVALID, conflict=entering and scan.admitted)
    limit = rules.occupancy.instantaneous_limit
    if scan.direction == service.OUT:
        left = service.leave(
            session.connection(),
            found.ticket,
            gate=scan.gate,
            actor=actor,
            now=at,
            limit=limit,
            exited_before=found.exited_count,
        )
        if left is None:
            record(service.NOT_INSIDE)
            return ticket_id, _Judged(False, service.NOT_INSIDE)
        return ticket_id, _Judged(True, None, people=left[0])

    remaining = found.ticket.remaining
    party = found.ticket.party_size
    # What the device let in: its headcount, or everyone of the party still to come.
    wanted = min(scan.headcount if scan.headcount is not None else (remaining or party), party)
    refusal = _refusal(found, rules, at)
    if not scan.admitted:
        # Nobody went in: keep the server's reason where it has one, else the device's.
        reason = refusal or scan.reason or service.INVALID
        record(reason)
        return ticket_id, _Judged(False, reason)
    # The device let people in: only a lease of its own makes that an admission.
    cover = (
        leases.Cover(None, leases.AFTER_UPLOAD)
        if ahead
        else leases.coverage(session.connection(), device, at)
    )
    if cover.problem is not None:
        return ticket_id, _outside_lease(
            session, scan, at, found, cover, wanted, record, device=device, actor=actor
        )
    if refusal is None:
        people = min(wanted, remaining)
        outcome = _admit(session, found, people, scan.gate, actor, at, cover)
        if isinstance(outcome, leases.Cover):
            return ticket_id, _outside_lease(
                session, scan, at, found, outcome, wanted, record, device=device, actor=actor
            )
        refusal = outcome
    if refusal is not None:
        record(refusal)
        _report_conflict(session, scan, at, found, refusal, device=device, actor=actor)
        return ticket_id, _Judged(False, refusal, conflict=True, lease_id=cover.lease_id)
    occupancy = service.occupancy_on(session.connection(), found.ticket.day, limit)
    over_limit = at.date() == clock.today() and occupancy.inside > limit
    if over_limit:
        audit.record(
            session,
            actor=actor,
            action="gate.offline_over_limit",
            target=scan.gate,
            before=None,
            after={
                "scan": scan.id,
                "device": device,
                "at": at.isoformat(),
                "people": people,
                "inside": occupancy.inside,
                "limit": limit,
            },
        )
    # More people than the party had left: the extra ones are for staff to find.
    return ticket_id, _Judged(
        True,
        None,
        people=people,
        over_limit=over_limit,
        conflict=wanted > people,
        lease_id=cover.lease_id,
    )


def _outside_lease(
    session: Session,
    scan: OfflineScanIn,
    at: datetime,
    found: service.Found,
    cover: leases.Cover,
    people: int,
    record: Any,
    *,
    device: str,
    actor: str,
) -> _Judged:
    """The device let people in that no lease of its covers: recorded and audited as a
    problem, and nobody is counted in (the ticket stays as it was)."""
    assert cover.problem is not None
    record(cover.problem)
    audit.record(
        session,
        actor=actor,
        action="gate.offline_outside_lease",
        target=found.ticket.ticket_id,
        before=None,
        after={
            "scan": scan.id,
            "device": device,
            "gate": scan.gate,
            "at": at.isoformat(),
            "people": people,
            "problem": cover.problem,
        },
    )
    return _Judged(
        False,
        cover.problem,
        people=0,
        conflict=True,
        problem=cover.problem,
        lease_id=cover.lease_id,
    )


def _refusal(found: service.Found, rules: Rules, at: datetime) -> str | None:
    """What the server holds against an admission at ``at``; the entry window is widened
    by the clock tolerance, as the device judged it with a corrected clock of its own."""
    reason = service.refusal(found, rules, at)
    if reason not in (service.TOO_EARLY, service.TOO_LATE):
        return reason
    for shifted in (at + CLOCK_TOLERANCE, at - CLOCK_TOLERANCE):
        if service.refusal(found, rules, shifted) is None:
            return None
    return reason


def _admit(
    session: Session,
    found: service.Found,
    people: int,
    gate: str,
    actor: str,
    at: datetime,
    cover: leases.Cover,
) -> str | leases.Cover | None:
    """The online admission's statements at the scan's real time, the people taking what
    the lease held for them (no limit: they are inside already); the reason it did not
    apply, the lease's refusal, or None. A party admitted on an earlier day has left by
    that day's closing."""
    assert cover.lease_id is not None
    day = at.date()
    try:
        # A savepoint: a refused admission leaves none of its statements behind. (The
        # session emits it when its connection is next asked for: inside the block.)
        with session.begin_nested():
            connection = session.connection()
            if not booking_service.check_in(connection, found.booking_id, at):
                raise service.Refused(service.CANCELLED_TICKET)
            ticket_id = found.ticket.ticket_id
            if not tickets.enter(connection, ticket_id, people=people, at=at, gate=gate):
                raise service.Refused(service.ALREADY_USED)
            repository.record_scan(
                connection,
                at=at,
                ticket_id=ticket_id,
                gate=gate,
                actor=actor,
                direction=service.IN,
                verdict=service.ADMITTED,
                people=people,
            )
            taken = leases.take(connection, cover.lease_id, people)
            if taken.problem is not None:
                raise _PastAllowance(taken)
            if taken.held:
                repository.count_in_held(connection, day, people)
            else:
                repository.count_in(connection, day, people, _NO_LIMIT)
    except service.Refused as refused:
        return refused.reason
    except _PastAllowance as past:
        return past.cover
    connection = session.connection()
    if day >= clock.today():
        return None
    closing = clock.localize(day, rules_service.current(session).hours.closes)
    tickets.leave(connection, found.ticket.ticket_id, max(closing, at))
    service.count_out(connection, day, people, _NO_LIMIT)
    return None


class _PastAllowance(Exception):
    def __init__(self, cover: leases.Cover) -> None:
        super().__init__(cover.problem)
        self.cover = cover


def _report_conflict(
    session: Session,
    scan: OfflineScanIn,
    at: datetime,
    found: service.Found,
    reason: str,
    *,
    device: str,
    actor: str,
) -> None:
    first = session.exec(
        select(Ticket.entered_at, Ticket.entered_gate).where(
            col(Ticket.id) == found.ticket.ticket_id
        )
    ).first()
    entered_at, entered_gate = first if first is not None else (None, None)
    audit.record(
        session,
        actor=actor,
        action="gate.offline_conflict",
        target=found.ticket.ticket_id,
        before=None,
        after={
            "scan": scan.id,
            "device": device,
            "gate": scan.gate,
            "at": at.isoformat(),
            "reason": reason,
            "first_gate": entered_gate,
            "first_at": entered_at.astimezone(clock.zone()).isoformat() if entered_at else None,
        },
    )


# --- what admins see -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """An offline scan that needs a person: a conflict, an admission no lease covered, or
    one past the live limit."""

    scan_id: str
    at: datetime
    gate: str
    device: str
    uploaded_by: str
    ticket_id: str | None
    reason: str | None
    # People the device let in on this scan.
    people: int
    conflict: bool
    over_limit: bool
    # Why no lease covered it (``leases.PROBLEMS``), or None.
    problem: str | None
    # Where and when the ticket was admitted, for a conflict.
    first_gate: str | None
    first_at: datetime | None
    received_at: datetime


def problems(session: Session, day: date) -> list[Problem]:
    """The day's offline scans that need a person, in the order they happened."""
    rows = session.exec(
        select(OfflineScan, Ticket.party_size, Ticket.entered_gate, Ticket.entered_at)
        .outerjoin(Ticket, col(Ticket.id) == col(OfflineScan.ticket_id))
        .where(
            col(OfflineScan.day) == day,
            or_(
                col(OfflineScan.conflict),
                col(OfflineScan.over_limit),
                col(OfflineScan.problem).is_not(None),
            ),
        )
        .order_by(col(OfflineScan.at), col(OfflineScan.id))
    ).all()
    zone = clock.zone()
    found = []
    for row, party_size, entered_gate, entered_at in rows:
        let_in = row.people or min(row.headcount or party_size or 0, party_size or 0)
        first = row.conflict and row.problem is None
        found.append(
            Problem(
                scan_id=row.id,
                at=row.at.astimezone(zone),
                gate=row.gate,
                device=row.device,
                uploaded_by=row.uploaded_by,
                ticket_id=row.ticket_id,
                reason=row.reason,
                people=let_in,
                conflict=row.conflict,
                over_limit=row.over_limit,
                problem=row.problem,
                first_gate=entered_gate if first else None,
                first_at=entered_at.astimezone(zone) if first and entered_at else None,
                received_at=row.received_at.astimezone(zone),
            )
        )
    return found

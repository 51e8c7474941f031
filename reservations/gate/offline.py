"""Scanners that keep admitting without the network, and the upload of what they did.

While online, a scanner keeps what it needs to judge today's tickets by itself
(:func:`offline_data`): the public keys, the tickets that may not enter (cancelled) or have
entered (used), each slot's entry window, the live limit, the last occupancy and the safety
margin of each gate. Without the network it verifies signatures itself, admits within the
limit less the margin, and queues every scan with an id of its own.

:func:`record_offline_scans` takes those scans when the network returns:

* **once**: each scan id is claimed by one ``INSERT ... ON CONFLICT DO NOTHING`` on the
  table's primary key, so the same upload sent twice, or twice at the same moment, records
  each scan once and answers it the same way both times;
* **at its real time and gate**: the admission uses the same conditional statements as the
  online scan (a ticket changes from unused to inside once, whoever else scans it);
* **people who are inside are counted**: the device already let them in, so an admission
  is counted even where it takes occupancy past the live limit; such admissions are marked
  ``over_limit`` and audited. The margin exists to make that rare;
* **a ticket admitted twice is admitted once**: when the server does not admit what the
  device admitted (another gate admitted the ticket first, or it was cancelled), the later
  scan is refused with its reason and marked as a ``conflict``, shown to admins and audited.
  Occupancy counts the admitted party once: the extra people are for staff to find.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from reservations import clock
from reservations.audit import service as audit
from reservations.booking.models import Booking, BookingStatus
from reservations.gate import repository, service
from reservations.gate.models import GateScan, GateSetting, OfflineScan
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
class Margins:
    default: int
    gates: dict[str, int]

    def for_gate(self, gate: str) -> int:
        return self.gates.get(gate, self.default)


@dataclass(frozen=True, slots=True)
class OfflineData:
    generated_at: datetime
    day: date
    keys: list[SigningKey]
    revoked: list[str]
    used: list[str]
    # False when only what changed since the cursor is listed.
    complete: bool
    windows: list[EntryWindow]
    occupancy: service.Occupancy
    margins: Margins


def margins(session: Session, rules: Rules | None = None) -> Margins:
    rules = rules or rules_service.current(session)
    rows = session.exec(select(GateSetting.gate, GateSetting.offline_margin)).all()
    return Margins(rules.gate.offline_margin, {str(gate): int(margin) for gate, margin in rows})


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


def offline_data(session: Session, since: datetime | None = None) -> OfflineData:
    """What a scanner needs to judge today's tickets without the network.

    With ``since`` (the ``generated_at`` of an earlier answer, the same day) only the
    tickets that changed from then on are listed; the scanner adds them to what it has.
    """
    now = clock.now()
    day = now.date()
    rules = rules_service.current(session)
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
        # Every change of a booking's status moves its updated_at; an admission recorded
        # from an upload carries the time of the scan, so uploads are found by their own.
        revoked_query = revoked_query.where(col(Booking.updated_at) >= changed_from)
        uploaded = select(OfflineScan.ticket_id).where(
            col(OfflineScan.received_at) >= changed_from, col(OfflineScan.admitted)
        )
        used_query = used_query.where(
            or_(col(Ticket.entered_at) >= changed_from, col(Ticket.id).in_(uploaded))
        )
    return OfflineData(
        generated_at=now,
        day=day,
        keys=get_keyring().verifying_keys(),
        revoked=sorted(session.exec(revoked_query).all()),
        used=sorted(session.exec(used_query).all()),
        complete=changed_from is None,
        windows=_windows(session, rules, day),
        occupancy=service.current_occupancy(session),
        margins=margins(session, rules),
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
    )


def _result_of(row: OfflineScan, recorded: bool) -> OfflineResult:
    judged = _Judged(row.admitted, row.reason, row.people, row.conflict, row.over_limit)
    return _result(row.id, row.direction, row.at, row.ticket_id, judged, recorded=recorded)


def record_offline_scans(
    session: Session, device: str, scans: Sequence[OfflineScanIn], *, actor: str
) -> list[OfflineResult]:
    """Record each scan once, in order, and answer each with the server's verdict."""
    now = clock.now()
    rules = rules_service.current(session)
    dialect = session.get_bind().dialect.name
    results = []
    for scan in scans:
        # A clock ahead of the server's cannot have scanned in the future.
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
        ticket_id, judged = _judge(session, scan, at, device=device, actor=actor, rules=rules)
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
            )
        )
        result = _result(scan.id, scan.direction, at, ticket_id, judged)
        metrics.scan(scan.direction, result.verdict, source="offline")
        results.append(result)
    session.expire_all()
    return results


def _judge(
    session: Session, scan: OfflineScanIn, at: datetime, *, device: str, actor: str, rules: Rules
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
            session.connection(), found.ticket, gate=scan.gate, actor=actor, now=at, limit=limit
        )
        if left is None:
            record(service.NOT_INSIDE)
            return ticket_id, _Judged(False, service.NOT_INSIDE)
        return ticket_id, _Judged(True, None, people=left[0])

    party = found.ticket.party_size
    people = min(scan.headcount, party) if scan.headcount is not None else party
    refusal = _refusal(found, rules, at)
    if not scan.admitted:
        # Nobody went in: keep the server's reason where it has one, else the device's.
        reason = refusal or scan.reason or service.INVALID
        record(reason)
        return ticket_id, _Judged(False, reason)
    if refusal is None:
        refusal = _admit(session, found, people, scan.gate, actor, at)
    if refusal is not None:
        record(refusal)
        _report_conflict(session, scan, at, found, refusal, device=device, actor=actor)
        return ticket_id, _Judged(False, refusal, conflict=True)
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
    return ticket_id, _Judged(True, None, people=people, over_limit=over_limit)


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
    session: Session, found: service.Found, people: int, gate: str, actor: str, at: datetime
) -> str | None:
    """The online admission's statements, at the scan's real time; no limit, the people are
    inside already. A party admitted on an earlier day has left by that day's closing."""
    try:
        # A savepoint: a refused admission leaves none of its statements behind.
        with session.begin_nested():
            service.admit(session.connection(), found, people, gate, actor, at, _NO_LIMIT)
    except service.Refused as refused:
        return refused.reason
    if at.date() >= clock.today():
        return None
    closing = clock.localize(at.date(), rules_service.current(session).hours.closes)
    tickets.leave(session.connection(), found.ticket.ticket_id, max(closing, at))
    service.count_out(session.connection(), at.date(), people, _NO_LIMIT)
    return None


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
    """An offline scan that needs a person: a conflict, or an admission past the limit."""

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
    # Where and when the ticket was admitted, for a conflict.
    first_gate: str | None
    first_at: datetime | None


def problems(session: Session, day: date) -> list[Problem]:
    """The day's offline scans that need a person, in the order they happened."""
    rows = session.exec(
        select(OfflineScan, Ticket.party_size, Ticket.entered_gate, Ticket.entered_at)
        .outerjoin(Ticket, col(Ticket.id) == col(OfflineScan.ticket_id))
        .where(
            col(OfflineScan.day) == day,
            or_(col(OfflineScan.conflict), col(OfflineScan.over_limit)),
        )
        .order_by(col(OfflineScan.at), col(OfflineScan.id))
    ).all()
    zone = clock.zone()
    found = []
    for row, party_size, entered_gate, entered_at in rows:
        let_in = row.people or min(row.headcount or party_size or 0, party_size or 0)
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
                first_gate=entered_gate if row.conflict else None,
                first_at=entered_at.astimezone(zone) if row.conflict and entered_at else None,
            )
        )
    return found


def set_margin(session: Session, gate: str, margin: int | None, *, actor: str) -> None:
    """Set (or with None, clear) one gate's offline margin; audited."""
    existing = session.get(GateSetting, gate)
    before = None if existing is None else {"offline_margin": existing.offline_margin}
    after = None if margin is None else {"offline_margin": margin}
    if before == after:
        return
    if margin is None:
        assert existing is not None
        session.delete(existing)
    elif existing is None:
        session.add(
            GateSetting(gate=gate, offline_margin=margin, updated_at=clock.now(), updated_by=actor)
        )
    else:
        existing.offline_margin = margin
        existing.updated_at = clock.now()
        existing.updated_by = actor
        session.add(existing)
    session.flush()
    audit.record(
        session, actor=actor, action="gate.offline_margin", target=gate, before=before, after=after
    )


def known_gates(session: Session, day: date) -> list[str]:
    """Gates with a setting, or that scanned on ``day``: what the console offers to set."""
    start = clock.localize(day, "00:00")
    end = start + timedelta(days=1)
    scanned = session.exec(
        select(GateScan.gate)
        .where(and_(col(GateScan.at) >= start, col(GateScan.at) < end))
        .distinct()
    ).all()
    configured = session.exec(select(GateSetting.gate)).all()
    return sorted(set(scanned) | set(configured))

"""Joining the waiting list, reading an entry, confirming an offer and leaving.

Joining checks what a booking checks (``booking.service.checked_party`` and the placement
path's own check of bans and of who already holds the day), then writes the entry and its
people in one short transaction; their unique claims on the day are what keeps one booking
or waiting entry per person and day. Confirming an offer places the booking through the
one placement path, with the offer's places already held (``placement.HeldPlaces``):
nothing is taken twice.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from reservations import clock, db, languages
from reservations.booking import idempotency, identities, placement
from reservations.booking import service as booking_service
from reservations.booking.errors import DuplicateVisitor, UnknownSlot
from reservations.booking.models import INDIVIDUAL, Visitor
from reservations.booking.schemas import LookupRequest, MaskedPerson
from reservations.errors import NotFound
from reservations.privacy.vault import get_vault
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.waitlist import offers, store, views
from reservations.waitlist.errors import NoOffer, NotWaiting, PlacesAvailable, WaitingListClosed
from reservations.waitlist.models import OPEN_STATUSES, WaitingEntry, WaitingStatus
from reservations.waitlist.schemas import AdminDayOut, WaitingEntryOut, WaitingListRequest

JOIN_SCOPE = "waiting-list"
ACCEPT_SCOPE = "waiting-list-accept"
_REFERENCE_ATTEMPTS = 5


# --- joining -------------------------------------------------------------------------------


def join(
    session: Session,
    request: WaitingListRequest,
    language: str = languages.DEFAULT,
    *,
    link_base: str | None = None,
    once: placement.Once | None = None,
) -> placement.Created:
    """Put the request's party on the day's waiting list, or raise why not."""
    party = booking_service.checked_party(request)
    now = clock.now()
    day = request.day
    with db.reading(session) as connection:
        if once is not None:
            replay = _replay(connection, once)
            if replay is not None:
                return replay
        rules, override = rules_service.for_day(connection, day)
        if not rules.waiting_list.enabled:
            raise WaitingListClosed()
        party.check_size(rules)
        if request.slot_id is not None and rules.slot(request.slot_id) is None:
            raise UnknownSlot({"fields": [{"field": "slot_id", "problem": "unknown slot"}]})
        plan = rules_service.plan_day(rules, override, INDIVIDUAL, day, now)
        rules_service.require_bookable(plan)
        room = offers.Room.read(connection, plan, rules)
        open_slots = room.slots_for(len(party.people), request.slot_id)
        if open_slots:
            raise PlacesAvailable({"slots": open_slots})
        hashes = party.identity_hashes
        placement.check_may_book(connection, hashes, hashes, now.date(), day)

    for _attempt in range(_REFERENCE_ATTEMPTS):
        prepared = _prepare(request, party, language, link_base, now)
        try:
            return _write(session, prepared, rules, once)
        except _ReferenceTaken:
            continue
        except (DuplicateVisitor, _AlreadyClaimed):
            # A twin with the same Idempotency-Key got there first: its answer, if it stands.
            if once is None:
                raise
            with db.reading(session) as connection:
                replay = _replay(connection, once)
            if replay is None:
                raise DuplicateVisitor() from None
            return replay
    raise RuntimeError("no free reference after several attempts")


@dataclass(frozen=True, slots=True)
class _Prepared:
    reference: str
    manage_token: str
    entry_row: dict[str, Any]
    visitor_rows: list[dict[str, Any]]
    masked: list[MaskedPerson]


def _prepare(
    request: WaitingListRequest,
    party: booking_service.Party,
    language: str,
    link_base: str | None,
    now: datetime,
) -> _Prepared:
    """Everything that needs no database: sealed, hashed, masked."""
    vault = get_vault()
    reference = placement.new_reference()
    manage_token = placement.new_manage_token()
    contact = identities.contact_columns(party.phone, request.email)
    entry_row = {
        "reference": reference,
        "manage_token_hash": vault.token_hash(manage_token),
        "manage_token_enc": vault.encrypt(manage_token, store.SEALED_LINK),
        "link_base": link_base,
        "day": request.day,
        "slot_id": request.slot_id,
        "party_size": len(party.people),
        "status": WaitingStatus.WAITING,
        "language": request.language or language,
        "created_at": now,
        "updated_at": now,
        **contact,
    }
    visitor_rows = []
    masked = []
    for position, person in enumerate(party.people):
        row = person.claim_row(position, "visitor", request.day)
        visitor_rows.append(row)
        masked.append(MaskedPerson(name=row["name_masked"], id_masked=row["id_masked"]))
    return _Prepared(reference, manage_token, entry_row, visitor_rows, masked)


class _ReferenceTaken(Exception):
    """Another entry drew the same reference."""


class _AlreadyClaimed(Exception):
    """A twin request with the same key got there first."""


_INSERT_ENTRY = insert(store.ENTRY).returning(store.ENTRY.c.id)
_INSERT_VISITORS = insert(store.VISITOR)


def _write(
    session: Session, prepared: _Prepared, rules: Rules, once: placement.Once | None
) -> placement.Created:
    row = prepared.entry_row
    with db.short_write(session) as connection:
        try:
            entry_id = connection.execute(_INSERT_ENTRY, row).scalar_one()
        except IntegrityError:
            raise _ReferenceTaken() from None
        try:
            connection.execute(
                _INSERT_VISITORS,
                [{**visitor, "waiting_entry_id": entry_id} for visitor in prepared.visitor_rows],
            )
        except IntegrityError:
            # The unique claim index: one of them booked or joined that day meanwhile.
            raise DuplicateVisitor() from None
        place = connection.execute(
            store.POSITION, {"day": row["day"], "entry_id": entry_id}
        ).scalar_one()
        entry = WaitingEntry(id=entry_id, **row)
        body = (
            WaitingEntryOut(
                reference=prepared.reference,
                manage_token=prepared.manage_token,
                status=WaitingStatus.WAITING,
                day=row["day"],
                slot_id=row["slot_id"],
                position=int(place),
                party_size=row["party_size"],
                visitors=prepared.masked,
                notify=views.notify(entry, rules),
                created_at=views.local(row["created_at"]),
            )
            .model_dump_json(by_alias=True)
            .encode()
        )
        if once is not None:
            claim = idempotency.claim_statement(connection.dialect.name)
            record = idempotency.record_columns(once.scope, once.key, once.fingerprint, 201, body)
            if connection.execute(claim, record).first() is None:
                raise _AlreadyClaimed()
        # Places that came back while this entry was being written find it at once.
        db.after_commit(connection, partial(offers.offerer.kick, row["day"]))
    return placement.Created(prepared.reference, prepared.manage_token, body)


def _replay(connection: Connection, once: placement.Once) -> placement.Created | None:
    record = idempotency.replay(connection, once.scope, once.key, once.fingerprint)
    if record is None:
        return None
    found = json.loads(record.body)
    return placement.Created(str(found["reference"]), found.get("manage_token"), record.body, 201)


# --- one entry -----------------------------------------------------------------------------


def find_by_token(session: Session, reference: str, token: str | None) -> WaitingEntry:
    """The entry if the token is its manage token; otherwise not_found, with no hint."""
    statement = select(WaitingEntry).where(WaitingEntry.reference == reference.strip().upper())
    entry = session.exec(statement).first()
    expected = get_vault().token_hash(token or "")
    if entry is None or not token or not hmac.compare_digest(entry.manage_token_hash, expected):
        raise NotFound()
    return entry


def find_proven(session: Session, reference: str) -> WaitingEntry:
    """An entry whose owner the caller has already proved (the visitor's pages, right after
    a lookup by phone and document)."""
    statement = select(WaitingEntry).where(WaitingEntry.reference == reference.strip().upper())
    entry = session.exec(statement).first()
    if entry is None:
        raise NotFound()
    return entry


def render(session: Session, entry: WaitingEntry) -> WaitingEntryOut:
    return views.render(session, entry, rules_service.current(session))


def read(session: Session, reference: str, token: str | None) -> WaitingEntryOut:
    return render(session, find_by_token(session, reference, token))


def accept(session: Session, reference: str, token: str | None) -> placement.Placed:
    """Turn the standing offer into a booking with tickets (``201``, the booking's shape)."""
    db.begin_read(session)
    return accept_entry(session, find_by_token(session, reference, token))


def accept_entry(session: Session, entry: WaitingEntry) -> placement.Placed:
    assert entry.id is not None
    entry_id = entry.id
    # Sent again after it succeeded, the first answer (with its manage token) comes back.
    fingerprint = idempotency.request_fingerprint({"accept": entry.reference})
    once = placement.Once(ACCEPT_SCOPE, entry.reference, fingerprint)
    now = clock.now()

    def settle(connection: Connection, booking_id: int) -> None:
        if not store.mark_booked(connection, entry_id, booking_id, now):
            raise NoOffer({"status": WaitingStatus.EXPIRED})

    def order_for(_rules: Rules) -> placement.Order:
        expires = entry.offer_expires_at
        if entry.status != WaitingStatus.OFFERED or expires is None or expires <= now:
            raise NoOffer({"status": entry.status})
        assert entry.offer_slot_id is not None
        people, phone, email = _unsealed(session, entry)
        return placement.Order(
            channel=INDIVIDUAL,
            day=entry.day,
            slot_id=entry.offer_slot_id,
            places=entry.party_size,
            holders=[placement.Holder(person) for person in people],
            phone=phone,
            email=email,
            language=entry.language,
            ban_checked=[person.identity_hash for person in people],
            held=placement.HeldPlaces(settle),
        )

    return placement.place(session, entry.day, order_for, once)


def _unsealed(
    session: Session, entry: WaitingEntry
) -> tuple[list[identities.Person], str, str | None]:
    """The entry's people and contact as they were given, to book them."""
    vault = get_vault()
    today = clock.today()
    people = []
    rows = session.exec(
        select(Visitor)
        .where(col(Visitor.waiting_entry_id) == entry.id)
        .order_by(col(Visitor.position))
    )
    for row in rows:
        if row.name_enc is None or row.id_number_enc is None or row.identity_hash is None:
            raise NoOffer({"status": entry.status})  # erased: nothing left to book with
        number = vault.decrypt(row.id_number_enc, identities.DOCUMENT)
        document = identities.document(row.id_type, number, today)
        name = vault.decrypt(row.name_enc, identities.NAME)
        people.append(identities.Person(name, document, row.identity_hash))
    if entry.phone_enc is None:
        raise NoOffer({"status": entry.status})
    phone = vault.decrypt(entry.phone_enc, identities.PHONE)
    email = vault.decrypt(entry.email_enc, identities.EMAIL) if entry.email_enc else None
    return people, phone, email


def leave(session: Session, reference: str, token: str | None) -> WaitingEntryOut:
    """Leave the list; a standing offer's places go back (to the next person in line)."""
    db.begin_read(session)
    return leave_entry(session, find_by_token(session, reference, token))


def leave_entry(session: Session, entry: WaitingEntry) -> WaitingEntryOut:
    assert entry.id is not None
    for _attempt in range(3):
        if entry.status == WaitingStatus.LEFT:
            return render(session, entry)
        if entry.status not in OPEN_STATUSES:
            raise NotWaiting({"status": entry.status})
        with db.short_write(session) as connection:
            ended = store.end(connection, entry.id, status=WaitingStatus.LEFT, now=clock.now())
        db.begin_read(session)
        session.refresh(entry)
        if ended is not None:
            return render(session, entry)
    raise NotWaiting({"status": entry.status})


# --- my bookings ---------------------------------------------------------------------------


def lookup(session: Session, request: LookupRequest) -> list[tuple[WaitingEntry, WaitingEntryOut]]:
    """A visitor's entries from today on, found by phone and document together."""
    today = clock.today()
    proof = identities.proof(request.phone, request.id_type, request.id_number, today)
    statement = (
        select(WaitingEntry)
        .join(Visitor, col(Visitor.waiting_entry_id) == col(WaitingEntry.id))
        .where(
            WaitingEntry.phone_hash == proof.phone_hash,
            Visitor.identity_hash == proof.identity_hash,
            col(WaitingEntry.day) >= today,
        )
        .order_by(col(WaitingEntry.day), col(WaitingEntry.id))
        .limit(20)
    )
    entries = list({entry.id: entry for entry in session.exec(statement)}.values())
    rules = rules_service.current(session)
    return [(entry, views.render(session, entry, rules)) for entry in entries]


# --- for admins ----------------------------------------------------------------------------


def day_list(session: Session, day: date) -> AdminDayOut:
    """A day's waiting list in the order of joining, masked, with offers and outcomes."""
    entries = list(
        session.exec(
            select(WaitingEntry).where(WaitingEntry.day == day).order_by(col(WaitingEntry.id))
        )
    )
    counts: dict[str, int] = dict.fromkeys(WaitingStatus, 0)
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    rules = rules_service.current(session)
    return AdminDayOut(
        day=day,
        enabled=rules.waiting_list.enabled,
        counts=counts,
        entries=views.render_for_admin(session, entries),
    )


def days_with_entries(session: Session, start: date, end: date) -> dict[date, dict[str, int]]:
    """Per day from ``start`` to ``end``: how many entries in each state."""
    rows = session.exec(
        select(col(WaitingEntry.day), col(WaitingEntry.status), func.count())
        .where(col(WaitingEntry.day) >= start, col(WaitingEntry.day) <= end)
        .group_by(col(WaitingEntry.day), col(WaitingEntry.status))
        .order_by(col(WaitingEntry.day))
    )
    found: dict[date, dict[str, int]] = {}
    for day, status, count in rows:
        found.setdefault(day, {})[status] = int(count)
    return found

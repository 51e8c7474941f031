"""Offline scanners' leases: each device's share of the live limit while it may lose the
network.

``GET /gate/offline-data?device=`` leases the device ``gate.offline_allowance`` places
(never more than the places left under the live limit less the other devices' leases)
until ``gate.offline_lease_minutes`` from then; a new fetch renews it. The places a lease
still holds are counted in the day's ``occupancy_counter.leased``, which the online
admission's one conditional statement leaves free, so the limit holds however many
scanners are offline. A lease ends at its time (its places return as soon as somebody
needs them: ``expire_due``), when its device uploads, at closing time, or when the device
is revoked (``end_device_lease``); what it did not use returns.

An uploaded admission is covered by the device's lease when it happened while the lease
stood (from ``covers_from``: the fetch before the latest one, as the device may have lost
the network right after it, until the lease ended) and within its allowance. What no
lease covers is a problem for admins, never an ordinary admission (``offline``).

Locks are taken in one order: leases, then the day's occupancy row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from reservations import clock
from reservations.gate import repository
from reservations.gate.models import OfflineLease
from reservations.rules.schema import Rules

_LEASE = OfflineLease.__table__  # type: ignore[attr-defined]

# How a lease ended.
UPLOADED = "uploaded"
EXPIRED = "expired"
CLOSED = "closed"
REVOKED = "revoked"

# Why an uploaded admission is not covered.
NO_LEASE = "no_lease"
PAST_ALLOWANCE = "past_allowance"
BEFORE_LEASE = "before_lease"
AFTER_UPLOAD = "after_upload"
PROBLEMS = (NO_LEASE, PAST_ALLOWANCE, BEFORE_LEASE, AFTER_UPLOAD)

# A device's corrected clock may be this far behind the server's when it scans right after
# its last fetch.
START_TOLERANCE = timedelta(seconds=10)
# Tries at holding places while other devices take them at the same moment.
_HOLD_TRIES = 4


@dataclass(frozen=True, slots=True)
class Grant:
    """What a fetch gave the device: the people it may admit offline, until when."""

    lease_id: int
    allowance: int
    until: datetime
    inside: int
    leased: int


def _expired_rows(connection: Connection, now: datetime, day: date | None) -> list[Any]:
    condition = and_(_LEASE.c.ended_at.is_(None), _LEASE.c.until <= now)
    if day is not None:
        condition = and_(_LEASE.c.ended_at.is_(None), _LEASE.c.day == day)
    return list(
        connection.execute(
            update(_LEASE)
            .where(condition)
            .values(
                ended_at=case((_LEASE.c.until < now, _LEASE.c.until), else_=now),
                end_reason=EXPIRED if day is None else CLOSED,
            )
            .returning(_LEASE.c.day, _LEASE.c.allowance - _LEASE.c.used)
        ).all()
    )


def _release_all(connection: Connection, rows: list[Any]) -> int:
    by_day: dict[date, int] = {}
    for day, held in rows:
        by_day[day] = by_day.get(day, 0) + max(int(held), 0)
    for day, places in sorted(by_day.items()):
        if places:
            repository.release(connection, day, places)
    return len(rows)


def any_due(connection: Connection, now: datetime) -> bool:
    """Whether a lease whose time has come still holds places (a read, no lock)."""
    found = connection.execute(
        select(_LEASE.c.id).where(_LEASE.c.ended_at.is_(None), _LEASE.c.until <= now).limit(1)
    ).first()
    return found is not None


def expire_due(connection: Connection, now: datetime) -> int:
    """Leases whose time has come end, their unused places returned: how many ended."""
    return _release_all(connection, _expired_rows(connection, now, None))


def end_day(connection: Connection, day: date, now: datetime) -> int:
    """The day is over: its leases end and hold nothing more. How many ended."""
    ended = _release_all(connection, _expired_rows(connection, now, day))
    repository.empty_leases(connection, day)
    return ended


def end_device_lease(connection: Connection, device: str, now: datetime, reason: str) -> bool:
    """End the device's lease, if one stands, and return its unused places: for an upload,
    and for a device whose access was revoked. True when a lease ended."""
    rows = connection.execute(
        update(_LEASE)
        .where(_LEASE.c.device == device, _LEASE.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(_LEASE.c.day, _LEASE.c.allowance - _LEASE.c.used)
    ).all()
    return _release_all(connection, list(rows)) > 0


def lock_device_lease(connection: Connection, device: str) -> None:
    """Take the device's lease before anything else of an upload, so that an upload and a
    fetch of the same device take their locks in one order (lease, then occupancy)."""
    connection.execute(
        update(_LEASE)
        .where(_LEASE.c.device == device, _LEASE.c.ended_at.is_(None))
        .values(used=_LEASE.c.used)
    )


_insert_statements: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    statement = _insert_statements.get(dialect)
    if statement is None:
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert_for(_LEASE)
            .on_conflict_do_nothing(index_elements=["device"], index_where=text("ended_at IS NULL"))
            .returning(_LEASE.c.id)
        )
        _insert_statements[dialect] = statement
    return statement


def grant(connection: Connection, device: str, *, staff: str, now: datetime, rules: Rules) -> Grant:
    """Lease ``device`` its share of today's places, or renew the lease it has."""
    day = now.date()
    expire_due(connection, now)
    until = now + timedelta(minutes=rules.gate.offline_lease_minutes)
    limit = rules.occupancy.instantaneous_limit
    for _ in range(2):
        # The renewal moves the start of what the lease covers to the fetch before this one.
        renewed = connection.execute(
            update(_LEASE)
            .where(_LEASE.c.device == device, _LEASE.c.ended_at.is_(None))
            .values(covers_from=_LEASE.c.renewed_at, renewed_at=now, issued_to=staff)
            .returning(_LEASE.c.id, _LEASE.c.day, _LEASE.c.allowance, _LEASE.c.used)
        ).first()
        if renewed is not None and renewed[1] != day:
            # Yesterday's lease that nothing ended: it ends now, and a new one begins.
            end_device_lease(connection, device, now, EXPIRED)
            renewed = None
        if renewed is not None:
            lease_id, allowance, used = int(renewed[0]), int(renewed[2]), int(renewed[3])
            break
        created = connection.execute(
            _insert_statement(connection.dialect.name),
            {
                "device": device,
                "day": day,
                "issued_to": staff,
                "began_at": now,
                "covers_from": now,
                "renewed_at": now,
                "until": until,
                "allowance": 0,
                "used": 0,
            },
        ).first()
        if created is not None:
            lease_id, allowance, used = int(created[0]), 0, 0
            break
        # Another fetch of the same device created it a moment ago: renew that one.
    else:  # pragma: no cover - two creations in a row cannot both lose
        raise RuntimeError("no lease for the device")
    held = max(allowance - used, 0)
    wanted = max(rules.gate.offline_allowance - used, 0)
    row = None
    places = 0
    for _ in range(_HOLD_TRIES):
        current = repository.occupancy_row(connection, day)
        inside, leased = (int(current[0]), int(current[3])) if current is not None else (0, 0)
        free = limit - inside - (leased - held)
        places = max(min(wanted, free), 0)
        row = repository.hold(connection, day, release=held, places=places, limit=limit)
        if row is not None:
            break
    if row is None:
        # Others took the places meanwhile: this lease holds none for now.
        places = 0
        row = repository.release(connection, day, held) if held else None
    connection.execute(
        update(_LEASE).where(_LEASE.c.id == lease_id).values(allowance=used + places, until=until)
    )
    inside, leased = (int(row[0]), int(row[3])) if row is not None else (0, 0)
    return Grant(lease_id, places, until, inside, leased)


@dataclass(frozen=True, slots=True)
class Cover:
    """Whether an uploaded admission is covered: by which lease, or the problem."""

    lease_id: int | None
    problem: str | None
    # The lease had not ended: it held the places its people now take.
    held: bool = False


_LATEST_BEFORE = (
    select(
        _LEASE.c.id,
        _LEASE.c.covers_from,
        _LEASE.c.until,
        _LEASE.c.ended_at,
        _LEASE.c.allowance,
        _LEASE.c.used,
    )
    .where(_LEASE.c.device == bindparam("device"), _LEASE.c.began_at <= bindparam("at"))
    .order_by(_LEASE.c.began_at.desc(), _LEASE.c.id.desc())
    .limit(1)
)


def coverage(connection: Connection, device: str, at: datetime) -> Cover:
    """Which of the device's leases stood when it scanned at ``at``, if any (nothing is
    taken from it yet)."""
    row = connection.execute(_LATEST_BEFORE, {"device": device, "at": at + START_TOLERANCE}).first()
    if row is None:
        later = connection.execute(
            select(_LEASE.c.id).where(_LEASE.c.device == device, _LEASE.c.day == at.date())
        ).first()
        return Cover(None, BEFORE_LEASE if later is not None else NO_LEASE)
    lease_id, covers_from, until, ended_at, _allowance, _used = row
    if at < covers_from - START_TOLERANCE:
        return Cover(lease_id, BEFORE_LEASE)
    if at > until or (ended_at is not None and at > ended_at):
        return Cover(lease_id, NO_LEASE)
    return Cover(lease_id, None)


def take(connection: Connection, lease_id: int, people: int) -> Cover:
    """The admission uses ``people`` of the lease's allowance: one conditional update, so
    that uploads sent at once never use more than it allows."""
    row = connection.execute(
        update(_LEASE)
        .where(_LEASE.c.id == lease_id, _LEASE.c.used + people <= _LEASE.c.allowance)
        .values(used=_LEASE.c.used + people)
        .returning(_LEASE.c.ended_at)
    ).first()
    if row is None:
        return Cover(lease_id, PAST_ALLOWANCE)
    return Cover(lease_id, None, held=row[0] is None)


@dataclass(frozen=True, slots=True)
class LeaseView:
    """A lease as the console shows it."""

    id: int
    device: str
    issued_to: str
    began_at: datetime
    renewed_at: datetime
    until: datetime
    allowance: int
    used: int
    ended_at: datetime | None
    end_reason: str | None

    @property
    def live(self) -> bool:
        return self.ended_at is None and self.until > clock.now()


def leases_of(connection: Connection, day: date) -> list[LeaseView]:
    """The day's leases, the newest first."""
    rows = connection.execute(
        select(
            _LEASE.c.id,
            _LEASE.c.device,
            _LEASE.c.issued_to,
            _LEASE.c.began_at,
            _LEASE.c.renewed_at,
            _LEASE.c.until,
            _LEASE.c.allowance,
            _LEASE.c.used,
            _LEASE.c.ended_at,
            _LEASE.c.end_reason,
        )
        .where(_LEASE.c.day == day)
        .order_by(_LEASE.c.renewed_at.desc(), _LEASE.c.id.desc())
    ).all()
    zone = clock.zone()
    return [
        LeaseView(
            id=row[0],
            device=row[1],
            issued_to=row[2],
            began_at=row[3].astimezone(zone),
            renewed_at=row[4].astimezone(zone),
            until=row[5].astimezone(zone),
            allowance=row[6],
            used=row[7],
            ended_at=row[8].astimezone(zone) if row[8] is not None else None,
            end_reason=row[9],
        )
        for row in rows
    ]

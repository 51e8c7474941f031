"""The consistency check: every counter recounted from the records it summarises.

The counters the hot paths take places and people from (``capacity_counter``,
``occupancy_counter``) change in the same transaction as the bookings, tickets and scans
they count, so they never drift by themselves. Drift means something else went wrong: a
hand-edited database, a partial restore, a bug. The check recounts:

- **places**: for each day, channel and slot (and the whole day, ``*``), the party sizes
  of the bookings that hold places (pending, confirmed, checked in, no-show; a cancelled,
  rejected or expired booking gave its places back), plus the places held for waiting
  list offers not yet confirmed (an offer takes its places before it becomes a booking);
- **occupancy**: for each day, ``entered`` is the people admitted on that day's tickets;
  ``inside`` is always ``entered - exited``, never below zero. ``exited`` cannot be
  recounted (exit turnstiles count people without tickets, and closing time counts out
  whoever is left), so it is kept, only lowered to ``entered`` when above it; ``leased`` is
  the places offline scanners' leases that have not ended still hold.

The check reads one consistent snapshot and changes nothing. ``repair`` recounts again
under a lock that holds back every writer of the counters, sets each drifted counter to
its recount in the same transaction, and writes what it changed to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from reservations import clock
from reservations.audit import service as audit
from reservations.booking.models import (
    INDIVIDUAL,
    WHOLE_DAY,
    Booking,
    BookingStatus,
    CapacityCounter,
)
from reservations.gate.models import OccupancyCounter, OfflineLease
from reservations.tickets.models import Ticket, UseState
from reservations.waitlist.models import WaitingEntry, WaitingStatus

PLACES = "places"
OCCUPANCY = "occupancy"
# Bookings in these states hold their places.
HOLDING_PLACES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.NO_SHOW,
)
REPAIR_ACTION = "ops.counters_repaired"

_BOOKING: Table = Booking.__table__  # type: ignore[attr-defined]
_CAPACITY: Table = CapacityCounter.__table__  # type: ignore[attr-defined]
_OCCUPANCY: Table = OccupancyCounter.__table__  # type: ignore[attr-defined]
_LEASE: Table = OfflineLease.__table__  # type: ignore[attr-defined]
_TICKET: Table = Ticket.__table__  # type: ignore[attr-defined]
_WAITING: Table = WaitingEntry.__table__  # type: ignore[attr-defined]

PlaceKey = tuple[date, str, str]
PlacesHeld = Iterable[tuple[date, str, str, int]]


def _booked(connection: Connection) -> PlacesHeld:
    rows = connection.execute(
        select(
            _BOOKING.c.day,
            _BOOKING.c.channel,
            _BOOKING.c.slot_id,
            func.sum(_BOOKING.c.party_size),
        )
        .where(_BOOKING.c.status.in_(HOLDING_PLACES))
        .group_by(_BOOKING.c.day, _BOOKING.c.channel, _BOOKING.c.slot_id)
    )
    return [(row[0], row[1], row[2], int(row[3])) for row in rows]


def _offered(connection: Connection) -> PlacesHeld:
    rows = connection.execute(
        select(_WAITING.c.day, _WAITING.c.offer_slot_id, func.sum(_WAITING.c.party_size))
        .where(_WAITING.c.status == WaitingStatus.OFFERED)
        .group_by(_WAITING.c.day, _WAITING.c.offer_slot_id)
    )
    return [(row[0], INDIVIDUAL, row[1], int(row[2])) for row in rows]


# Everything that holds places: what the counters must add up to.
_HOLDERS: tuple[Callable[[Connection], PlacesHeld], ...] = (_booked, _offered)


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # PLACES or OCCUPANCY
    day: date
    # Places: "<channel>/<slot or *>"; occupancy: "inside", "entered" or "exited".
    counter: str
    counted: int
    expected: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "day": self.day.isoformat(),
            "counter": self.counter,
            "counted": self.counted,
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True)
class Report:
    checked_at: datetime
    counters_checked: int
    drift: list[Drift] = field(default_factory=list)
    repaired: bool = False

    def summary(self, examples: int = 20) -> dict[str, Any]:
        """What the job records and the console shows (no personal data in it)."""
        return {
            "checked_at": self.checked_at.isoformat(),
            "counters_checked": self.counters_checked,
            "drift": len(self.drift),
            "repaired": self.repaired,
            "examples": [entry.as_dict() for entry in self.drift[:examples]],
        }


def expected_places(connection: Connection) -> dict[PlaceKey, int]:
    expected: dict[PlaceKey, int] = {}
    for holder in _HOLDERS:
        for day, channel, slot_id, places in holder(connection):
            for key in ((day, channel, slot_id), (day, channel, WHOLE_DAY)):
                expected[key] = expected.get(key, 0) + places
    return expected


def counted_places(connection: Connection) -> dict[PlaceKey, int]:
    rows = connection.execute(
        select(_CAPACITY.c.day, _CAPACITY.c.channel, _CAPACITY.c.slot_id, _CAPACITY.c.booked)
    )
    return {(row[0], row[1], row[2]): int(row[3]) for row in rows}


def expected_entries(connection: Connection) -> dict[date, int]:
    rows = connection.execute(
        select(_TICKET.c.day, func.sum(_TICKET.c.admitted_count))
        .where(_TICKET.c.use_state.in_((UseState.INSIDE, UseState.LEFT)))
        .group_by(_TICKET.c.day)
    )
    return {row[0]: int(row[1] or 0) for row in rows}


def counted_occupancy(connection: Connection) -> dict[date, tuple[int, int, int]]:
    rows = connection.execute(
        select(_OCCUPANCY.c.day, _OCCUPANCY.c.inside, _OCCUPANCY.c.entered, _OCCUPANCY.c.exited)
    )
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}


def expected_leased(connection: Connection) -> dict[date, int]:
    rows = connection.execute(
        select(_LEASE.c.day, func.sum(_LEASE.c.allowance - _LEASE.c.used))
        .where(_LEASE.c.ended_at.is_(None))
        .group_by(_LEASE.c.day)
    )
    return {row[0]: max(int(row[1] or 0), 0) for row in rows}


def counted_leased(connection: Connection) -> dict[date, int]:
    rows = connection.execute(select(_OCCUPANCY.c.day, _OCCUPANCY.c.leased))
    return {row[0]: int(row[1]) for row in rows}


def _compare(connection: Connection) -> tuple[int, list[Drift]]:
    drift: list[Drift] = []
    counted = counted_places(connection)
    expected = expected_places(connection)
    for key in sorted(counted.keys() | expected.keys()):
        found, wanted = counted.get(key, 0), expected.get(key, 0)
        if found != wanted:
            day, channel, slot_id = key
            drift.append(Drift(PLACES, day, f"{channel}/{slot_id}", found, wanted))
    occupancy = counted_occupancy(connection)
    entries = expected_entries(connection)
    for day in sorted(occupancy.keys() | entries.keys()):
        inside, entered, exited = occupancy.get(day, (0, 0, 0))
        right_entered = entries.get(day, 0)
        right_exited = min(exited, right_entered)
        right_inside = right_entered - right_exited
        for name, found, wanted in (
            ("entered", entered, right_entered),
            ("exited", exited, right_exited),
            ("inside", inside, right_inside),
        ):
            if found != wanted:
                drift.append(Drift(OCCUPANCY, day, name, found, wanted))
    leased, held = counted_leased(connection), expected_leased(connection)
    for day in sorted(leased.keys() | held.keys()):
        if leased.get(day, 0) != held.get(day, 0):
            drift.append(Drift(OCCUPANCY, day, "leased", leased.get(day, 0), held.get(day, 0)))
    return len(counted) + len(occupancy), drift


def check(session: Session) -> Report:
    """Recount everything from one snapshot and report the drift; changes nothing."""
    options = {}
    if session.get_bind().dialect.name == "postgresql":
        # One snapshot for every query: counters and bookings seen at the same instant.
        options["isolation_level"] = "REPEATABLE READ"
    connection = session.connection(execution_options=options)
    checked, drift = _compare(connection)
    return Report(clock.now(), checked, drift)


_LOCK_COUNTERS = text("LOCK TABLE capacity_counter, occupancy_counter IN EXCLUSIVE MODE")


def repair(session: Session, *, actor: str) -> Report:
    """Set every drifted counter to its recount, in the caller's write transaction, and
    audit it. Writers of the counters wait meanwhile (SQLite: the write lock; PostgreSQL:
    a table lock that still lets readers read), so nothing taken during the recount is
    lost; a booking that took places before it commits after, with its counter."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_COUNTERS)
    checked, drift = _compare(connection)
    if not drift:
        return Report(clock.now(), checked, drift)
    fixed_occupancy: dict[date, dict[str, int]] = {}
    for entry in drift:
        if entry.kind == PLACES:
            channel, _, slot_id = entry.counter.partition("/")
            _set_places(connection, entry.day, channel, slot_id, entry.expected)
        else:
            fixed_occupancy.setdefault(entry.day, {})[entry.counter] = entry.expected
    occupancy = counted_occupancy(connection)
    for day, values in fixed_occupancy.items():
        _set_occupancy(connection, day, occupancy.get(day), values)
    audit.record(
        session,
        actor=actor,
        action=REPAIR_ACTION,
        target=f"{len(drift)} counters",
        before=[{**entry.as_dict(), "value": entry.counted} for entry in drift],
        after=[{**entry.as_dict(), "value": entry.expected} for entry in drift],
    )
    return Report(clock.now(), checked, drift, repaired=True)


def _set_places(connection: Connection, day: date, channel: str, slot_id: str, value: int) -> None:
    where = (
        (_CAPACITY.c.day == day)
        & (_CAPACITY.c.channel == channel)
        & (_CAPACITY.c.slot_id == slot_id)
    )
    if connection.execute(update(_CAPACITY).where(where).values(booked=value)).rowcount == 0:
        connection.execute(
            insert(_CAPACITY).values(day=day, channel=channel, slot_id=slot_id, booked=value)
        )


def _set_occupancy(
    connection: Connection,
    day: date,
    current: tuple[int, int, int] | None,
    values: dict[str, int],
) -> None:
    if current is None:
        row = {"inside": 0, "entered": 0, "exited": 0, **values}
        connection.execute(insert(_OCCUPANCY).values(day=day, **row))
        return
    connection.execute(update(_OCCUPANCY).where(_OCCUPANCY.c.day == day).values(**values))

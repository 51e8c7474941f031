"""Places per day and slot, taken and returned by the database in single statements.

Each take is one upsert whose update only happens while ``booked + n`` stays within the
capacity passed in: the row lock (PostgreSQL) or the write lock (SQLite) makes the check
and the increment one step, so two racing bookings can never both get the last place.
The day row is always touched before the slot row so concurrent bookings lock in the
same order and never deadlock. A take is the last statement of its transaction, so the
counter rows every booking of the day meets are held only until the commit right after.

**Places returned.** Every return of places (a cancellation, a rejected or expired team
request, ...) goes through ``return_places``: the one place where places come back. It
lowers the counters in the caller's transaction and then calls every function registered
with ``on_places_returned``, with that transaction's connection and what came back, so
what a listener does (offer the places to whoever waits for them) commits or rolls back
together with the return. Listeners must be quick and must not commit.

**Counters seen from a process.** ``counters`` keeps the counts of the coming days as
read at most ``Counters.MAX_AGE`` (one second) ago. It is trusted only to say "no": a day
or slot it shows as full is refused without a write transaction, so once the day is gone
the rush costs no write lock. Places taken since it was read cannot make it say "yes"
wrongly, because the database still decides every take; places returned make it refuse
for at most a second in other processes, and not at all in the process that returned them.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, Table, bindparam, case, select, text, update
from sqlalchemy.engine import Connection

from reservations import clock, db
from reservations.booking.errors import SoldOut
from reservations.booking.models import WHOLE_DAY, CapacityCounter

_COUNTER: Table = CapacityCounter.__table__  # type: ignore[attr-defined]

# One statement takes the places of the day and of the slot: a two-row upsert whose update
# only applies while the new total stays within that row's capacity. The day row comes
# first in VALUES, so concurrent bookings lock rows in the same order and never deadlock.
_TAKE_TEXT = text(
    """
    INSERT INTO capacity_counter (day, channel, slot_id, booked)
    VALUES (:day, :channel, '*', :places), (:day, :channel, :slot_id, :places)
    ON CONFLICT (day, channel, slot_id) DO UPDATE
        SET booked = capacity_counter.booked + excluded.booked
        WHERE capacity_counter.booked + excluded.booked
              <= CASE WHEN capacity_counter.slot_id = '*' THEN :daily ELSE :per_slot END
    RETURNING slot_id
    """
).bindparams(bindparam("day", type_=Date))
_TAKE = db.DriverStatement(_TAKE_TEXT)

_RETURN = (
    update(_COUNTER)
    .where(
        _COUNTER.c.day == bindparam("r_day"),
        _COUNTER.c.channel == bindparam("r_channel"),
        _COUNTER.c.slot_id == bindparam("r_slot"),
    )
    .values(
        booked=case(
            (_COUNTER.c.booked >= bindparam("r_places"), _COUNTER.c.booked - bindparam("r_places")),
            else_=0,
        )
    )
)

_BETWEEN = (
    select(_COUNTER.c.day, _COUNTER.c.channel, _COUNTER.c.slot_id, _COUNTER.c.booked)
    .where(_COUNTER.c.day >= bindparam("start"), _COUNTER.c.day <= bindparam("end"))
    .order_by(_COUNTER.c.day, _COUNTER.c.channel, _COUNTER.c.slot_id)
)


def take(
    connection: Connection,
    *,
    day: date,
    channel: str,
    slot_id: str,
    places: int,
    daily_capacity: int,
    slot_capacity: int,
) -> None:
    """Take ``places`` or raise SoldOut; on SoldOut the caller's transaction rolls back."""
    refuse_beyond(places, daily_capacity, slot_capacity)
    parameters = {
        "day": day,
        "channel": channel,
        "slot_id": slot_id,
        "places": places,
        "daily": daily_capacity,
        "per_slot": slot_capacity,
    }
    taken = {row[0] for row in _TAKE.all(connection, parameters)}
    if WHOLE_DAY not in taken:
        counters.saw_sold_out(day, channel, WHOLE_DAY, places, daily_capacity)
        raise SoldOut({"scope": "day"})
    if slot_id not in taken:
        counters.saw_sold_out(day, channel, slot_id, places, slot_capacity)
        raise SoldOut({"scope": "slot"})


def refuse_beyond(places: int, daily_capacity: int, slot_capacity: int) -> None:
    """What no count of bookings could ever fit."""
    if places > daily_capacity:
        raise SoldOut({"scope": "day"})
    if places > slot_capacity:
        raise SoldOut({"scope": "slot"})


# --- places returned ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnedPlaces:
    day: date
    channel: str
    slot_id: str
    places: int


PlacesListener = Callable[[Connection, ReturnedPlaces], None]
_listeners: list[PlacesListener] = []


def on_places_returned(listener: PlacesListener) -> PlacesListener:
    """Call ``listener`` whenever places come back, inside the transaction that returns
    them (usable as a decorator)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def return_places(
    connection: Connection, *, day: date, channel: str, slot_id: str, places: int
) -> None:
    """Give ``places`` of ``day``'s ``slot_id`` back to ``channel``: the one way places
    return. Counters never go below zero."""
    if places <= 0:
        return
    for counter_slot in (WHOLE_DAY, slot_id):
        connection.execute(
            _RETURN,
            {"r_day": day, "r_channel": channel, "r_slot": counter_slot, "r_places": places},
        )
    returned = ReturnedPlaces(day, channel, slot_id, places)
    for listener in list(_listeners):
        listener(connection, returned)


def _offer_again_here(_connection: Connection, _returned: ReturnedPlaces) -> None:
    # This process reads the counters again before it refuses anybody: the places are
    # offered again here at once, in other processes within Counters.MAX_AGE.
    counters.forget()


on_places_returned(_offer_again_here)


def read_counts(connection: Connection, start: date, end: date) -> dict[tuple[date, str, str], int]:
    """Places taken per (day, channel, slot or ``*``), as committed now."""
    rows = connection.execute(_BETWEEN, {"start": start, "end": end})
    return {(row.day, row.channel, row.slot_id): row.booked for row in rows}


# --- the counters as a process last saw them ---------------------------------------------


@dataclass(frozen=True, slots=True)
class CountsSeen:
    """Counts of ``start``..``end`` as read at ``read_at`` (``clock.monotonic``)."""

    start: date
    end: date
    read_at: float
    booked: dict[tuple[date, str, str], int]

    def covers(self, start: date, end: date) -> bool:
        return self.start <= start and end <= self.end


class Counters:
    """The capacity counters of the coming days as this process last read them."""

    MAX_AGE = 1.0
    # A request that finds the counts older than this reads them again unless another
    # thread already does; past MAX_AGE every request waits for fresh counts.
    REFRESH_AFTER = 0.5
    # From today on: any visitor calendar, the team channel's window included.
    HORIZON_DAYS = 62

    def __init__(self) -> None:
        self._reading = threading.Lock()
        self._seen: CountsSeen | None = None

    def reset(self) -> None:
        """Forget everything (tests that point the process at another database)."""
        self._seen = None

    def forget(self) -> None:
        """Read the counts again before trusting them."""
        seen = self._seen
        if seen is not None:
            self._seen = dataclasses.replace(seen, read_at=-math.inf)

    def seen(self, connection: Connection) -> CountsSeen:
        """Counts no older than ``MAX_AGE``, from today to ``HORIZON_DAYS`` ahead."""
        today = clock.today()
        seen = self._seen
        if seen is not None and seen.start == today:
            age = clock.monotonic() - seen.read_at
            if age < self.REFRESH_AFTER:
                return seen
            if age < self.MAX_AGE:
                if not self._reading.acquire(blocking=False):
                    return seen  # another thread is reading them right now
                try:
                    return self._read(connection, today)
                finally:
                    self._reading.release()
        with self._reading:
            seen = self._seen
            if (
                seen is not None
                and seen.start == today
                and clock.monotonic() - seen.read_at < self.REFRESH_AFTER
            ):
                return seen  # read by another thread while this one waited
            return self._read(connection, today)

    def _read(self, connection: Connection, today: date) -> CountsSeen:
        read_at = clock.monotonic()
        end = today + timedelta(days=self.HORIZON_DAYS)
        fresh = CountsSeen(today, end, read_at, read_counts(connection, today, end))
        self._seen = fresh
        return fresh

    def full_scope(
        self,
        connection: Connection,
        key: tuple[date, str, str],
        places: int,
        daily_capacity: int,
        slot_capacity: int,
    ) -> str | None:
        """``"day"`` or ``"slot"`` when the counts say that ``places`` of ``key`` (day,
        channel, slot) cannot fit, and then they surely cannot; otherwise None."""
        day, channel, _slot = key
        seen = self.seen(connection)
        if not seen.covers(day, day):
            return None
        if seen.booked.get((day, channel, WHOLE_DAY), 0) + places > daily_capacity:
            return "day"
        if seen.booked.get(key, 0) + places > slot_capacity:
            return "slot"
        return None

    def saw_sold_out(
        self, day: date, channel: str, slot_id: str, places: int, capacity: int
    ) -> None:
        """The database refused ``places`` against ``capacity``: until the next read, refuse
        at least as much here."""
        seen = self._seen
        if seen is None or not seen.covers(day, day):
            return
        key = (day, channel, slot_id)
        at_least = capacity - places + 1
        if seen.booked.get(key, 0) < at_least:
            self._seen = dataclasses.replace(seen, booked={**seen.booked, key: at_least})


counters = Counters()

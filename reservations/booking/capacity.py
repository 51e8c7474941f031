"""Places per day and slot, taken and returned by the database in single statements.

Each take is one upsert whose update only happens while ``booked + n`` stays within the
capacity passed in: the row lock (PostgreSQL) or the write lock (SQLite) makes the check
and the increment one step, so two racing bookings can never both get the last place.
The day row is always touched before the slot row so concurrent bookings lock in the
same order and never deadlock.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, bindparam, case, text, update
from sqlmodel import Session, col, select

from reservations.booking.errors import SoldOut
from reservations.booking.models import WHOLE_DAY, CapacityCounter

# One statement takes the places of the day and of the slot: a two-row upsert whose update
# only applies while the new total stays within that row's capacity. The day row comes
# first in VALUES, so concurrent bookings lock rows in the same order and never deadlock.
_TAKE = text(
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


def take(
    session: Session,
    *,
    day: date,
    channel: str,
    slot_id: str,
    places: int,
    daily_capacity: int,
    slot_capacity: int,
) -> None:
    """Take ``places`` or raise SoldOut; on SoldOut the caller's transaction rolls back."""
    if places > daily_capacity:
        raise SoldOut({"scope": "day"})
    if places > slot_capacity:
        raise SoldOut({"scope": "slot"})
    taken = {
        row[0]
        for row in session.connection().execute(
            _TAKE,
            {
                "day": day,
                "channel": channel,
                "slot_id": slot_id,
                "places": places,
                "daily": daily_capacity,
                "per_slot": slot_capacity,
            },
        )
    }
    if WHOLE_DAY not in taken:
        raise SoldOut({"scope": "day"})
    if slot_id not in taken:
        raise SoldOut({"scope": "slot"})


def release(session: Session, *, day: date, channel: str, slot_id: str, places: int) -> None:
    for counter_slot in (WHOLE_DAY, slot_id):
        session.connection().execute(
            update(CapacityCounter)
            .where(
                col(CapacityCounter.day) == day,
                col(CapacityCounter.channel) == channel,
                col(CapacityCounter.slot_id) == counter_slot,
            )
            .values(
                booked=case(
                    (col(CapacityCounter.booked) >= places, col(CapacityCounter.booked) - places),
                    else_=0,
                )
            )
        )


def booked_between(session: Session, start: date, end: date) -> dict[tuple[date, str, str], int]:
    """Places taken per (day, channel, slot or ``*``)."""
    statement = select(CapacityCounter).where(
        col(CapacityCounter.day) >= start, col(CapacityCounter.day) <= end
    )
    return {
        (counter.day, counter.channel, counter.slot_id): counter.booked
        for counter in session.exec(statement)
    }

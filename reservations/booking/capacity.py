"""Places per day and slot, taken and returned by the database in single statements.

Each take is one upsert whose update only happens while ``booked + n`` stays within the
capacity passed in: the row lock (PostgreSQL) or the write lock (SQLite) makes the check
and the increment one step, so two racing bookings can never both get the last place.
The day row is always touched before the slot row so concurrent bookings lock in the
same order and never deadlock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from reservations.booking.errors import SoldOut
from reservations.booking.models import WHOLE_DAY, CapacityCounter


def _take_one(
    session: Session, day: date, channel: str, slot_id: str, places: int, capacity: int
) -> bool:
    if places > capacity:
        return False
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CapacityCounter.__table__  # type: ignore[attr-defined]
    statement: Any = insert(table).values(day=day, channel=channel, slot_id=slot_id, booked=places)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "channel", "slot_id"],
        set_={"booked": table.c.booked + places},
        where=(table.c.booked + places) <= capacity,
    ).returning(table.c.booked)
    # RETURNING rather than rowcount: drivers disagree on rowcount for upserts.
    return session.connection().execute(statement).first() is not None


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
    if not _take_one(session, day, channel, WHOLE_DAY, places, daily_capacity):
        raise SoldOut({"scope": "day"})
    if not _take_one(session, day, channel, slot_id, places, slot_capacity):
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

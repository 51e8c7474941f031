"""The statements that move a waiting entry from one state to the next.

Every change of state is one conditional UPDATE on the entry's row (``WHERE status = ...``):
whoever else acts on the same entry at the same moment (the visitor leaving, the job
expiring the offer, a worker offering places), exactly one of them changes it, and the
others see that they did not. An entry that ends lets go of its people's claims on the
day, and an offer that ends gives its places back through ``capacity.return_places``,
the one way places return (and the hook that offers them to the next person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.engine import Connection

from reservations.booking import capacity
from reservations.booking.models import INDIVIDUAL, Visitor
from reservations.waitlist.models import OPEN_STATUSES, WaitingEntry, WaitingStatus

# Purpose bound into the sealed manage token, kept only while the entry is open: the offer's
# message links to the entry's private page with it.
SEALED_LINK = "waiting-list-link"

ENTRY: Table = WaitingEntry.__table__  # type: ignore[attr-defined]
VISITOR: Table = Visitor.__table__  # type: ignore[attr-defined]

_FREE_CLAIMS = (
    update(VISITOR)
    .where(VISITOR.c.waiting_entry_id.in_(bindparam("entry_ids", expanding=True)))
    .values(claim_date=None)
)

# Entries still waiting that day, in the order they joined, up to and including this one.
POSITION = select(func.count()).where(
    ENTRY.c.day == bindparam("day"),
    ENTRY.c.status == WaitingStatus.WAITING,
    ENTRY.c.id <= bindparam("entry_id"),
)


@dataclass(frozen=True, slots=True)
class Ended:
    """An entry that just ended, and the places its offer held (none if it only waited)."""

    entry_id: int
    day: date
    offer_slot_id: str | None
    places: int


def free_claims(connection: Connection, entry_ids: list[int]) -> None:
    """The entries' people may book or wait for that day again."""
    if entry_ids:
        connection.execute(_FREE_CLAIMS, {"entry_ids": entry_ids})


def end(
    connection: Connection,
    entry_id: int,
    *,
    status: str,
    now: datetime,
    was: tuple[str, ...] = OPEN_STATUSES,
    offer_due_by: datetime | None = None,
) -> Ended | None:
    """End the entry as ``status`` if it is in one of the states ``was`` (and, with
    ``offer_due_by``, only an offer that ran out by then): its claims go, and an offer's
    places return. None when it was not in such a state any more."""
    assert status in (WaitingStatus.EXPIRED, WaitingStatus.LEFT)
    conditions = [ENTRY.c.id == entry_id, ENTRY.c.status.in_(was)]
    if offer_due_by is not None:
        conditions.append(ENTRY.c.offer_expires_at <= offer_due_by)
    row = connection.execute(
        update(ENTRY)
        .where(*conditions)
        .values(
            status=status,
            ended_at=now,
            updated_at=now,
            manage_token_enc=None,
        )
        .returning(ENTRY.c.day, ENTRY.c.offer_slot_id, ENTRY.c.party_size, ENTRY.c.offered_at)
    ).first()
    if row is None:
        return None
    free_claims(connection, [entry_id])
    # Only an offer has been offered: a waiting entry never was, and an offer only ends.
    held = row.offered_at is not None and row.offer_slot_id is not None
    ended = Ended(entry_id, row.day, row.offer_slot_id if held else None, row.party_size)
    if ended.offer_slot_id is not None:
        capacity.return_places(
            connection,
            day=ended.day,
            channel=INDIVIDUAL,
            slot_id=ended.offer_slot_id,
            places=ended.places,
        )
    return ended


def mark_booked(connection: Connection, entry_id: int, booking_id: int, now: datetime) -> bool:
    """The standing offer became ``booking_id``: False when it no longer stands."""
    row = connection.execute(
        update(ENTRY)
        .where(
            ENTRY.c.id == entry_id,
            ENTRY.c.status == WaitingStatus.OFFERED,
            ENTRY.c.offer_expires_at > now,
        )
        .values(
            status=WaitingStatus.BOOKED,
            booking_id=booking_id,
            ended_at=now,
            updated_at=now,
            manage_token_enc=None,
        )
        .returning(ENTRY.c.id)
    ).first()
    if row is None:
        return False
    free_claims(connection, [entry_id])
    return True


def mark_offered(connection: Connection, entry_id: int, values: dict[str, Any]) -> bool:
    """Claim a waiting entry for an offer: False when it is no longer waiting (another
    worker offered it, or the visitor left)."""
    row = connection.execute(
        update(ENTRY)
        .where(ENTRY.c.id == entry_id, ENTRY.c.status == WaitingStatus.WAITING)
        .values(status=WaitingStatus.OFFERED, **values)
        .returning(ENTRY.c.id)
    ).first()
    return row is not None

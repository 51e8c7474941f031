"""Waiting entries keep personal data only while they can still lead to a visit.

Once its day has passed an entry has no use left (one that became a booking lives on as
that booking, under the booking's own retention): the names, document numbers, phone
numbers, e-mail addresses and keyed hashes of the entry and its people are erased, leaving
an anonymous row (day, party size, times, outcome) for the admins' lists. The job
``process-waiting-list`` does it as soon as the day has passed; the purge job
(``purge-personal-data``) does the same for anything older than the retention period, so
nothing outlives it even where the waiting list's job did not run.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.engine import Connection

from reservations import clock
from reservations.privacy.erasure import ERASED_CONTACT, ERASED_PERSON
from reservations.waitlist import store

ENTRY = store.ENTRY
VISITOR = store.VISITOR


def due(before: date) -> Select[Any]:
    """Entries for days before ``before`` whose personal data is still there."""
    return select(ENTRY.c.id).where(ENTRY.c.day < before, ENTRY.c.personal_data_erased_at.is_(None))


def erase(connection: Connection, *, before: date) -> int:
    """Erase the personal data of entries for days before ``before``; how many entries."""
    entry_ids = list(connection.execute(due(before)).scalars())
    if not entry_ids:
        return 0
    connection.execute(
        update(VISITOR)
        .where(VISITOR.c.waiting_entry_id.in_(entry_ids))
        .values(**ERASED_PERSON, claim_date=None)
    )
    connection.execute(
        update(ENTRY)
        .where(ENTRY.c.id.in_(entry_ids))
        .values(
            manage_token_enc=None,
            link_base=None,
            **ERASED_CONTACT,
            personal_data_erased_at=clock.now(),
        )
    )
    return len(entry_ids)

"""Spent proof-of-work challenges: each solves one booking, on any process or machine.

With ``RESERVATIONS_REDIS_URL`` a spent challenge is a Redis key that expires with it (one
round trip); without Redis, or while Redis is unreachable, it is a row of the
``spent_challenge`` table in the service's database, which every process and machine
shares (the SQLite file included). Rows of expired challenges are deleted as claims go by.
"""

from __future__ import annotations

import threading
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, text

from reservations import clock, db
from reservations.dbtypes import UTCDateTime
from reservations.protection.store import RedisStore, get_store

# Expired rows are deleted at most this often per process.
PURGE_EVERY_SECONDS = 60.0

_INSERT = text(
    "INSERT INTO spent_challenge (nonce, request_mark, expires_at)"
    " VALUES (:nonce, :mark, :expires_at) ON CONFLICT (nonce) DO NOTHING"
).bindparams(bindparam("expires_at", type_=UTCDateTime()))
_HOLDER = text("SELECT request_mark FROM spent_challenge WHERE nonce = :nonce")
_PURGE = text("DELETE FROM spent_challenge WHERE expires_at < :now").bindparams(
    bindparam("now", type_=UTCDateTime())
)
_purge_lock = threading.Lock()
_next_purge = 0.0


def claim(nonce: str, expires_at: datetime, request_mark: str) -> str | None:
    """Spend the challenge ``nonce`` for this request: ``None`` if it was unspent, else the
    mark of the request that spent it."""
    in_database = partial(_claim_in_database, nonce, expires_at, request_mark)
    store = get_store()
    if isinstance(store, RedisStore):
        ttl = (expires_at - clock.now()).total_seconds() + 1
        return store.claim(f"pow:{nonce}", ttl, request_mark, fallback=in_database)
    return in_database()


def _claim_in_database(nonce: str, expires_at: datetime, request_mark: str) -> str | None:
    with db.transaction() as session:
        connection = session.connection()
        if _purge_due():
            connection.execute(_PURGE, {"now": clock.now()})
        inserted = connection.execute(
            _INSERT, {"nonce": nonce, "mark": request_mark, "expires_at": expires_at}
        )
        if inserted.rowcount == 1:
            return None
        holder = connection.execute(_HOLDER, {"nonce": nonce}).scalar()
        return str(holder) if holder is not None else None


def _purge_due() -> bool:
    global _next_purge
    with _purge_lock:
        now = clock.monotonic()
        if now < _next_purge:
            return False
        _next_purge = now + PURGE_EVERY_SECONDS
        return True


def purge_soon() -> None:
    """Delete expired rows with the next claim (tests; a process that just started)."""
    global _next_purge
    with _purge_lock:
        _next_purge = 0.0

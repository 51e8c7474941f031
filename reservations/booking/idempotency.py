"""``Idempotency-Key``: a retried request gets the first result and books nothing more.

The key is claimed with an insert that ignores conflicts, in the same short transaction as
the booking, together with the answer itself (prepared before the transaction). A
concurrent twin blocks on the claim until the first commits (PostgreSQL) or waits for the
write lock (SQLite), then finds the stored answer. A failed booking rolls its claim back,
so the client may retry it. The booking pages use the same records, keyed by their form.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlmodel import Session, col

from reservations import clock
from reservations.booking.errors import IdempotencyKeyReused
from reservations.booking.models import IdempotencyRecord
from reservations.errors import field_error
from reservations.privacy.vault import get_vault

_PURPOSE = "idempotent-response"
KEEP_FOR = timedelta(days=2)

_RECORD: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_FIND = select(_RECORD.c.request_hash, _RECORD.c.status_code, _RECORD.c.response_enc).where(
    _RECORD.c.scope == bindparam("scope"), _RECORD.c.key == bindparam("key")
)
_claims: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Record:
    fingerprint: str
    status_code: int
    body: bytes


def request_fingerprint(body: dict[str, Any]) -> str:
    # Keyed, because the body holds document numbers that a plain hash would not hide.
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return get_vault().blind_index(hashlib.sha256(canonical.encode()).hexdigest(), "request")


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise field_error("Idempotency-Key", "must be 1 to 200 printable characters")
    return key


def find(connection: Connection, scope: str, key: str) -> Record | None:
    """The answer stored under the key, if a request with it succeeded."""
    row = connection.execute(_FIND, {"scope": scope, "key": key}).first()
    if row is None:
        return None
    body = get_vault().decrypt(row.response_enc, _PURPOSE).encode()
    return Record(row.request_hash, row.status_code, body)


def replay(connection: Connection, scope: str, key: str, fingerprint: str) -> Record | None:
    """The first answer to this key, or None when the key is new (or its request failed);
    ``idempotency_key_reused`` when the key came with another request."""
    record = find(connection, scope, key)
    if record is not None and record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record


def record_columns(
    scope: str, key: str, fingerprint: str, status_code: int, body: bytes
) -> dict[str, Any]:
    """The record of a successful answer, sealed: it holds the booking's manage token."""
    return {
        "scope": scope,
        "key": key,
        "request_hash": fingerprint,
        "status_code": status_code,
        "response_enc": get_vault().encrypt(body.decode(), _PURPOSE),
        "created_at": clock.now(),
    }


def claim_statement(dialect: str) -> Any:
    """Insert a record unless the key is taken: RETURNING says whether it was inserted."""
    statement = _claims.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_RECORD)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(_RECORD.c.key)
        )
        _claims[dialect] = statement
    return statement


def purge_expired(session: Session) -> int:
    cutoff = clock.now() - KEEP_FOR
    result: CursorResult[Any] = session.connection().execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return result.rowcount

"""``Idempotency-Key``: a retried request gets the first result and books nothing more.

The key is claimed with an insert that ignores conflicts, in the same transaction as the
booking. A concurrent twin blocks on the claim until the first commits (PostgreSQL) or
waits for the write lock (SQLite), then finds the stored response. A failed booking rolls
its claim back, so the client may retry it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from reservations import clock
from reservations.booking.errors import IdempotencyKeyReused
from reservations.booking.models import IdempotencyRecord
from reservations.errors import field_error
from reservations.privacy.vault import get_vault

_PURPOSE = "idempotent-response"
KEEP_FOR = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def request_fingerprint(body: dict[str, Any]) -> str:
    # Keyed, because the body holds document numbers that a plain hash would not hide.
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return get_vault().blind_index(hashlib.sha256(canonical.encode()).hexdigest(), "request")


def claim(session: Session, scope: str, key: str, fingerprint: str) -> Replay | None:
    """Claim the key for this request, or return the response of the request that has it."""
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise field_error("Idempotency-Key", "must be 1 to 200 printable characters")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Any = (
        insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]
        .values(
            scope=scope,
            key=key,
            request_hash=fingerprint,
            status_code=0,
            response_enc="",
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyRecord.__table__.c.key)  # type: ignore[attr-defined]
    )
    if session.connection().execute(statement).first() is not None:
        return None
    record = session.get(IdempotencyRecord, (scope, key), populate_existing=True)
    assert record is not None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    body = json.loads(get_vault().decrypt(record.response_enc, _PURPOSE))
    return Replay(record.status_code, body)


def store(session: Session, scope: str, key: str, status_code: int, body: dict[str, Any]) -> None:
    record = session.get(IdempotencyRecord, (scope, key))
    assert record is not None
    record.status_code = status_code
    record.response_enc = get_vault().encrypt(json.dumps(body, ensure_ascii=False), _PURPOSE)
    session.add(record)
    session.flush()


def purge_expired(session: Session) -> int:
    cutoff = clock.now() - KEEP_FOR
    result: CursorResult[Any] = session.connection().execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return result.rowcount

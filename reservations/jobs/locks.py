"""One run of a job at a time, held by the database for the run's transaction.

PostgreSQL: a transaction-level advisory lock per job, so two runs started together on
different machines take turns. SQLite: every write transaction already holds the
database's write lock from its first statement (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlmodel import Session


def lock_key(name: str) -> int:
    digest = hashlib.sha256(f"reservations.jobs:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def serialize(session: Session, name: str) -> None:
    """Wait until no other transaction runs ``name``; released at commit or rollback."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)}
        )

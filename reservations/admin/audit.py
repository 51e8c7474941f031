"""The append-only audit trail of admin actions."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from reservations import clock
from reservations.admin.models import AuditEntry


def record(
    session: Session, *, actor: str, action: str, target: str, before: Any, after: Any
) -> AuditEntry:
    entry = AuditEntry(
        at=clock.now(), actor=actor, action=action, target=target, before=before, after=after
    )
    session.add(entry)
    session.flush()
    return entry


def recent(session: Session, limit: int = 100) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    return list(session.exec(statement))

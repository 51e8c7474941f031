"""The append-only audit trail of admin actions: who, when, what, before and after.

Entries are only ever inserted; the database itself refuses UPDATE, DELETE (and, on
PostgreSQL, TRUNCATE) on the table (migration 0001). No entry carries personal data or a
password: actions on visitors' data record what was done and to which day, not to whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from reservations import clock, db
from reservations.audit.models import AuditEntry

MAX_PAGE = 1000


def record(
    session: Session, *, actor: str, action: str, target: str, before: Any, after: Any
) -> AuditEntry:
    entry = AuditEntry(
        at=clock.now(), actor=actor, action=action, target=target, before=before, after=after
    )
    session.add(entry)
    session.flush()
    return entry


_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]


def record_on(
    connection: Connection, *, actor: str, action: str, target: str, before: Any, after: Any
) -> None:
    """Record an action inside a transaction of plain statements (a booking's short write)."""
    connection.execute(
        insert(_ENTRY).values(
            at=clock.now(), actor=actor, action=action, target=target, before=before, after=after
        )
    )


def record_on_its_own(*, actor: str, action: str, target: str, after: Any) -> None:
    """Record an action taken inside a reading request, in a transaction of its own.

    A download of visitors' data is a read, so its request reads from a snapshot; writing
    the entry there would have to upgrade that snapshot to a writer, which SQLite may
    refuse. The entry is committed before the data is handed out: no record, no export.
    """
    with db.transaction(write=True) as session:
        record(session, actor=actor, action=action, target=target, before=None, after=after)


def recent(
    session: Session,
    limit: int = 100,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The newest entries first; ``before_id`` pages towards older ones."""
    statement = select(AuditEntry)
    if actor:
        statement = statement.where(col(AuditEntry.actor) == actor)
    if action:
        # "day.override" also finds "day.override.delete": actions nest by dots.
        statement = statement.where(
            (col(AuditEntry.action) == action) | col(AuditEntry.action).startswith(f"{action}.")
        )
    if target:
        statement = statement.where(col(AuditEntry.target) == target)
    if before_id is not None:
        statement = statement.where(col(AuditEntry.id) < before_id)
    statement = statement.order_by(col(AuditEntry.id).desc()).limit(min(limit, MAX_PAGE))
    return list(session.exec(statement))


def actions(session: Session) -> list[str]:
    """Every action name recorded so far, for filtering."""
    return sorted(session.exec(select(AuditEntry.action).distinct()))


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


_MISSING = object()


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """What differs between two documents, path by path (``occupancy.instantaneous_limit``).

    Objects are compared key by key; lists of objects with an ``id`` (slots) item by item;
    any other difference is one change of the whole value. Nothing (None) against an object
    is compared as an empty object, so a created override lists each value it sets.
    """
    if before is None and isinstance(after, dict):
        before = {}
    if after is None and isinstance(before, dict):
        after = {}
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in [*before, *(key for key in after if key not in before)]:
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            if old != new:
                found.extend(changes(_absent(old), _absent(new), _join(path, str(key))))
        return found
    if _keyed_list(before) and _keyed_list(after):
        old_items = {item["id"]: item for item in before}
        new_items = {item["id"]: item for item in after}
        found = []
        for key in [*old_items, *(key for key in new_items if key not in old_items)]:
            old, new = old_items.get(key), new_items.get(key)
            if old is None or new is None:
                found.append(Change(_join(path, str(key)), old, new))  # added or removed whole
            elif old != new:
                found.extend(changes(old, new, _join(path, str(key))))
        return found
    if before == after:
        return []
    return [Change(path or "", before, after)]


def _absent(value: Any) -> Any:
    return None if value is _MISSING else value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _keyed_list(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    ids = [item.get("id") for item in value if isinstance(item, dict)]
    return len(ids) == len(value) and None not in ids and len(set(ids)) == len(ids)

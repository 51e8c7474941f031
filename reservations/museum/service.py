"""Notices to visitors: posted, changed and removed by admins (every change audited), shown
while they are current. The museum's address and directions are rules (``[museum]``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlmodel import Session, col, or_, select

from reservations import clock
from reservations.audit import service as audit
from reservations.errors import NotFound
from reservations.museum.models import Notice

# Printable text and line breaks: control characters (NUL above all) have no place in a notice.
_PRINTABLE = r"^[^\x00-\x09\x0b-\x1f\x7f]*$"
NoticeText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_PRINTABLE),
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=_PRINTABLE)
]


class NoticeIn(BaseModel):
    """A notice as an admin writes it: Chinese, optionally English, and when it shows."""

    model_config = ConfigDict(extra="forbid")

    text: NoticeText
    text_en: OptionalText = ""
    starts_on: date | None = Field(default=None, description="first day shown; empty: now")
    ends_on: date | None = Field(default=None, description="last day shown; empty: until removed")

    @model_validator(mode="after")
    def _in_order(self) -> NoticeIn:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


def document(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "text": notice.text,
        "text_en": notice.text_en,
        "starts_on": notice.starts_on.isoformat() if notice.starts_on else None,
        "ends_on": notice.ends_on.isoformat() if notice.ends_on else None,
    }


def current(session: Session, today: date | None = None) -> list[Notice]:
    """The notices visitors see today, the soonest-starting first."""
    today = today or clock.today()
    statement = (
        select(Notice)
        .where(or_(col(Notice.starts_on).is_(None), col(Notice.starts_on) <= today))
        .where(or_(col(Notice.ends_on).is_(None), col(Notice.ends_on) >= today))
        .order_by(col(Notice.starts_on).desc(), col(Notice.id).desc())
    )
    return list(session.exec(statement))


def all_notices(session: Session) -> list[Notice]:
    """Every notice, current, coming and past, the newest first (for admins)."""
    return list(session.exec(select(Notice).order_by(col(Notice.id).desc())))


def _audit(
    session: Session, actor: str, action: str, notice_id: int | None, before: Any, after: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"notice.{action}",
        target=f"notice:{notice_id}",
        before=before,
        after=after,
    )


def create(session: Session, change: NoticeIn, actor: str) -> Notice:
    notice = Notice(**change.model_dump(), updated_at=clock.now(), updated_by=actor)
    session.add(notice)
    session.flush()
    _audit(session, actor, "create", notice.id, None, document(notice))
    return notice


def _get(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None:
        raise NotFound()
    return notice


def update(session: Session, notice_id: int, change: NoticeIn, actor: str) -> Notice:
    notice = _get(session, notice_id)
    before = document(notice)
    for key, value in change.model_dump().items():
        setattr(notice, key, value)
    if document(notice) != before:
        notice.updated_at = clock.now()
        notice.updated_by = actor
        session.add(notice)
        session.flush()
        _audit(session, actor, "update", notice_id, before, document(notice))
    return notice


def delete(session: Session, notice_id: int, actor: str) -> None:
    notice = _get(session, notice_id)
    _audit(session, actor, "delete", notice_id, document(notice), None)
    session.delete(notice)
    session.flush()

"""``GET /museum`` (public): address, hours, directions and today's notices; admins post
notices under ``/admin/notices``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from reservations.auth.bearer import AdminUser
from reservations.http import DbSession
from reservations.museum import service
from reservations.museum.models import Notice
from reservations.museum.service import NoticeIn
from reservations.rules import service as rules_service

router = APIRouter(tags=["museum"])

# A notice's number, as the database can hold it.
NoticeId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NoticeOut(BaseModel):
    id: int
    text: str
    text_en: str
    starts_on: date | None
    ends_on: date | None

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        assert notice.id is not None
        return cls(
            id=notice.id,
            text=notice.text,
            text_en=notice.text_en,
            starts_on=notice.starts_on,
            ends_on=notice.ends_on,
        )


class HoursOut(BaseModel):
    opens: str
    closes: str
    last_entry: str
    closed_weekdays: list[str]


class MuseumOut(BaseModel):
    address: str
    address_en: str
    directions: str
    directions_en: str
    map_url: str
    phone: str
    hours: HoursOut
    notices: list[NoticeOut]


class NoticesOut(BaseModel):
    notices: list[NoticeOut]


@router.get("/museum", response_model=MuseumOut)
def museum(session: DbSession) -> MuseumOut:
    rules = rules_service.current(session)
    hours = rules.hours
    return MuseumOut(
        **rules.museum.model_dump(),
        hours=HoursOut(
            opens=hours.opens,
            closes=hours.closes,
            last_entry=hours.last_entry,
            closed_weekdays=list(hours.closed_weekdays),
        ),
        notices=[NoticeOut.of(notice) for notice in service.current(session)],
    )


@router.get("/admin/notices", response_model=NoticesOut)
def list_notices(session: DbSession, _: AdminUser) -> NoticesOut:
    return NoticesOut(notices=[NoticeOut.of(n) for n in service.all_notices(session)])


@router.post("/admin/notices", response_model=NoticeOut, status_code=201)
def post_notice(session: DbSession, principal: AdminUser, body: NoticeIn) -> NoticeOut:
    return NoticeOut.of(service.create(session, body, principal.username))


@router.put("/admin/notices/{notice_id}", response_model=NoticeOut)
def change_notice(
    session: DbSession, principal: AdminUser, notice_id: NoticeId, body: NoticeIn
) -> NoticeOut:
    return NoticeOut.of(service.update(session, notice_id, body, principal.username))


@router.delete("/admin/notices/{notice_id}", status_code=204)
def remove_notice(session: DbSession, principal: AdminUser, notice_id: NoticeId) -> Response:
    service.delete(session, notice_id, principal.username)
    return Response(status_code=204)

"""``/admin/waiting-list``: each day's waiting list (masked), its offers and outcomes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from reservations import clock
from reservations.auth.staff_session import AdminPage
from reservations.http import DbSession
from reservations.rules import service as rules_service
from reservations.waitlist import service
from reservations.waitlist.models import WaitingStatus
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

# The days listed: a week back (outcomes) to the furthest day a visitor can book.
DAYS_BACK = 7

STATUS_LABELS = {
    WaitingStatus.WAITING: "候补中",
    WaitingStatus.OFFERED: "已保留待确认",
    WaitingStatus.BOOKED: "已确认预约",
    WaitingStatus.EXPIRED: "已结束",
    WaitingStatus.LEFT: "已退出",
}
STATUS_TONES = {
    WaitingStatus.WAITING: "warn",
    WaitingStatus.OFFERED: "ok",
    WaitingStatus.BOOKED: "ok",
    WaitingStatus.EXPIRED: "bad",
    WaitingStatus.LEFT: "",
}


@router.get("/admin/waiting-list")
def waiting_list_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """The days with entries; with ``date``, that day's list."""
    rules = rules_service.current(session)
    today = clock.today()
    days = None
    if day is None:
        end = today + timedelta(days=rules.individual.max_days_ahead)
        days = service.days_with_entries(session, today - timedelta(days=DAYS_BACK), end)
    return render_page(
        request,
        "waitlist/admin.html",
        {
            "principal": principal,
            "rules": rules,
            "days": days,
            "today": today,
            "shown": service.day_list(session, day) if day is not None else None,
            "status_labels": STATUS_LABELS,
            "status_tones": STATUS_TONES,
        },
    )

"""Reports: bookings and arrivals per day, and the day's booking list for download."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from reservations import clock
from reservations.admin import charts, stats
from reservations.admin.pages.console import base_context, translator
from reservations.admin.router import export_response
from reservations.auth.staff_session import AdminPage
from reservations.errors import ValidationFailed
from reservations.gate import service as gate_service
from reservations.http import DbSession, language_of
from reservations.rules import channels
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/admin/stats")
def stats_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    translate = translator(request)
    today = clock.today()
    first = _parse_day(start) or today - timedelta(days=13)
    last = _parse_day(end) or today + timedelta(days=7)
    error = None
    if (start and _parse_day(start) is None) or (end and _parse_day(end) is None):
        error = translate("请按“年-月-日”填写日期。")
    try:
        stats.check_range(first, last)
    except ValidationFailed:
        error = translate("结束日期不能早于开始日期，且一次最多 %(n)s 天。", n=stats.MAX_DAYS)
    if error:
        first, last = today - timedelta(days=13), today + timedelta(days=7)
    days = stats.daily(session, first, last)
    words = charts.StatsLabels(
        title=translate("每日预约与入馆人数"),
        channels={channel.name: translate(channel.label) for channel in channels.CHANNELS},
        checked_in=translate("已入馆"),
        no_shows=translate("未到馆"),
    )
    return render_page(
        request,
        "admin/stats.html",
        base_context(
            principal,
            days=days,
            totals=stats.totals(days),
            chart=charts.stats_chart(days, words),
            start=first,
            end=last,
            error=error,
            occupancy=gate_service.current_occupancy(session),
            max_days=stats.MAX_DAYS,
        ),
        status_code=422 if error else 200,
    )


@router.get("/admin/stats/bookings.csv")
def bookings_csv_download(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: Annotated[date, Query(alias="date")],
) -> Response:
    return export_response(session, principal.username, day, language_of(request))

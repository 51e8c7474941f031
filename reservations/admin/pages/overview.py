"""The console's front page: today's occupancy, the week ahead, recent changes."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from reservations import clock
from reservations.admin import calendar
from reservations.admin.pages.console import base_context, projection_view, translator
from reservations.audit import service as audit
from reservations.auth.staff_session import AdminPage
from reservations.gate import service as gate_service
from reservations.http import DbSession
from reservations.ops import jobs as ops_jobs
from reservations.rules import service as rules_service
from reservations.rules.projection import project
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def overview(request: Request, session: DbSession, principal: AdminPage) -> Response:
    translate = translator(request)
    today = clock.today()
    rules = rules_service.current(session)
    week = calendar.days_between(session, today, today + timedelta(days=7))
    upcoming = rules_service.overrides_between(session, today, today + timedelta(days=61))
    return render_page(
        request,
        "admin/overview.html",
        base_context(
            principal,
            occupancy=gate_service.current_occupancy(session),
            week=week,
            overrides=[upcoming[day] for day in sorted(upcoming)],
            standard=projection_view(translate, project(rules), "standard-day"),
            warning_days=[day for day in week if day.projection.exceeds_limit],
            recount=ops_jobs.latest_check(session),
            recent=audit.recent(session, 8),
            rules=rules,
        ),
    )


@router.get("/admin/occupancy.json")
def occupancy_json(session: DbSession, _principal: AdminPage) -> JSONResponse:
    occupancy = gate_service.current_occupancy(session)
    return JSONResponse(
        {
            "inside": occupancy.inside,
            "limit": occupancy.limit,
            "entered_today": occupancy.entered_today,
            "exited_today": occupancy.exited_today,
        },
        headers={"Cache-Control": "no-store"},
    )

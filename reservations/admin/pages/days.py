"""The calendar and one day's page, where an admin sets or removes the day's override."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from reservations import clock
from reservations.accounts.service import Principal
from reservations.admin import calendar, rules_form, stats
from reservations.admin.pages.console import (
    CsrfField,
    base_context,
    notice_of,
    problem_messages,
    projection_view,
    redirect,
    translator,
)
from reservations.auth.staff_session import AdminPage
from reservations.errors import ValidationFailed, validation_details
from reservations.http import DbSession, undo_refused
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin/calendar")
def calendar_page(request: Request, session: DbSession, principal: AdminPage) -> Response:
    return render_page(
        request,
        "admin/calendar.html",
        base_context(principal, months=calendar.months(session), today=clock.today()),
    )


def _day_page(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    translate = translator(request)
    entry = calendar.one_day(session, day)
    override = entry.override
    if form is None:
        form = {
            "closed": "rules"
            if override is None or override.closed is None
            else ("closed" if override.closed else "open"),
            **{
                channel.quota_field: _text(override.quota(channel.name) if override else None)
                for channel in channels.CHANNELS
            },
            "note": (override.note or "") if override else "",
        }
    report = stats.daily(session, day, day)[0] if day <= clock.today() else None
    return render_page(
        request,
        "admin/day.html",
        base_context(
            principal,
            entry=entry,
            rules=rules_service.current(session),
            form=form,
            errors=errors or {},
            notice=notice,
            report=report,
            editable=rules_service.override_may_change(day),
            projection=projection_view(translate, entry.projection, "day"),
        ),
        status_code=status_code,
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


@router.get("/admin/calendar/{day}")
def day_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _day_page(request, session, principal, day, notice=notice_of(done))


async def _quota_fields(request: Request) -> dict[str, str]:
    """Each channel's quota field of the posted form (``<channel>_quota``)."""
    posted = await request.form()
    return {
        channel.quota_field: str(posted.get(channel.quota_field) or "").strip()[:40]
        for channel in channels.CHANNELS
    }


QuotaFields = Annotated[dict[str, str], Depends(_quota_fields)]


@router.post("/admin/calendar/{day}")
def save_day(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    quotas: QuotaFields,
    csrf_token: CsrfField = "",
    closed: Annotated[str, Form(max_length=10)] = "rules",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    translate = translator(request)
    form = {"closed": closed, **quotas, "note": note}
    problems: list[dict[str, Any]] = []
    values: dict[str, Any] = {
        "closed": {"closed": True, "open": False}.get(closed),
        "note": note.strip() or None,
    }
    for channel in channels.CHANNELS:
        name = channel.quota_field
        values[name] = rules_form.integer(form[name], name, problems) if form[name] else None
    if not problems:
        try:
            change = rules_service.DayOverrideChange.model_validate(values)
            rules_service.put_override(session, day, change, principal.username)
        except ValidationError as exc:
            problems = validation_details(exc.errors(include_url=False))["fields"]
        except ValidationFailed as exc:
            undo_refused(session, exc)
            problems = list(exc.details.get("fields", []))
    if problems:
        for item in problems:
            if item.get("field") == "date":
                item["type"] = "past_day"
        return _day_page(
            request,
            session,
            principal,
            day,
            form=form,
            errors=problem_messages(translate, {"fields": problems}),
            status_code=422,
        )
    return redirect(f"/admin/calendar/{day.isoformat()}", done="override_saved")


@router.post("/admin/calendar/{day}/clear")
def clear_day(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    rules_service.delete_override(session, day, principal.username)
    return redirect(f"/admin/calendar/{day.isoformat()}", done="override_removed")

"""The team channel's pages: the leader's request form and status page, and the admins'
review queue. They call the same services as the API."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from babel.dates import format_skeleton
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from reservations import clock, languages
from reservations.auth.staff_session import AdminPage
from reservations.booking import placement
from reservations.booking.models import BookingStatus
from reservations.errors import DomainError, NotFound
from reservations.http import DbSession, Language, undo_refused
from reservations.protection.guard import guard_booking, guard_lookup
from reservations.rules import service as rules_service
from reservations.teams import forms, leader_keys, service
from reservations.teams.forms import FormProblem, PostedTeamForm, TeamForm
from reservations.teams.schemas import TeamBookingRequest, TeamRequestOut
from reservations.tickets.models import TicketStatus
from reservations.visitor.text import DateText
from reservations.web import csrf
from reservations.web.i18n import gettext as _
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

PAGE_COOKIE = "zz_team"
_REFERENCE = re.compile(r"^[0-9A-Za-z]{4,16}$")
# Form posts replay through the idempotency records under this scope (a double tap on
# "submit" shows the first request instead of a duplicate_visitor error).
_PAGE_SCOPE = "team-page"


def day_label(day: date, language: str, with_year: bool = False) -> str:
    """``3月10日周二`` or ``Tue, Mar 10``."""
    locale = languages.language(language).locale
    return str(format_skeleton("yMMMEd" if with_year else "MMMEd", day, locale=locale))


# --- the leader's request form ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayChoice:
    label: str
    remaining: int
    # Each slot with the value the form posts for it.
    slots: list[tuple[str, service.OfferedSlot]]


def visit_choices(session: Session, language: str) -> list[DayChoice]:
    """The days and slots a team can request now (``service.offered_days``), as the form's
    choices."""
    return [
        DayChoice(
            day_label(offered.day, language),
            offered.remaining,
            [(f"{offered.day.isoformat()}|{slot.id}", slot) for slot in offered.slots],
        )
        for offered in service.offered_days(session)
    ]


def _form_page(
    request: Request,
    session: Session,
    language: str,
    form: TeamForm,
    *,
    error: str | None = None,
    error_field: str = "",
    field_message: str | None = None,
    status_code: int = 200,
) -> Response:
    rules = rules_service.current(session)
    opens_on = service.opens_later(rules)
    return render_page(
        request,
        "teams/request.html",
        {
            "form": form,
            "team": rules.team,
            "retention_days": rules.privacy.retention_days,
            "choices": visit_choices(session, language),
            "opens_on": DateText(opens_on, "long") if opens_on is not None else None,
            "request_key": secrets.token_urlsafe(18),
            "error": error,
            "error_field": error_field,
            "field_message": field_message,
        },
        status_code=status_code,
    )


@router.get("/teams")
def request_form(request: Request, session: DbSession, language: Language) -> Response:
    return _form_page(request, session, language, TeamForm())


@router.post("/teams", dependencies=[Depends(guard_booking)])
def submit_request(
    request: Request,
    session: DbSession,
    language: Language,
    posted: Annotated[PostedTeamForm, Form()],
) -> Response:
    csrf.check(request, posted.csrf_token)
    form = posted.as_typed()
    try:
        body = forms.to_request(form)
    except FormProblem as problem:
        message = _(problem.problem, **problem.variables)
        return _form_page(
            request,
            session,
            language,
            form,
            error=message,
            error_field=problem.field,
            field_message=message,
            status_code=422,
        )
    try:
        reference = _create_once(session, body, language, posted.request_key)
    except DomainError as exc:
        undo_refused(session, exc)
        position = forms.member_position(exc)
        field_message = _("第%(n)s位成员的信息有误", n=position) if position else None
        return _form_page(
            request,
            session,
            language,
            form,
            error=exc.message(language),
            error_field=forms.field_of(exc),
            field_message=field_message,
            status_code=exc.status,
        )
    response = RedirectResponse(f"/teams/requests/{reference}", status_code=303)
    _hand_page_key(response, session, reference)
    return response


def _create_once(
    session: Session, body: TeamBookingRequest, language: str, request_key: str
) -> str:
    """Create the request, or find the one this very form already created."""
    once = placement.Once.for_request(_PAGE_SCOPE, request_key, body) if request_key else None
    return service.create(session, body, language, once).reference


def _hand_page_key(response: Response, session: Session, reference: str) -> None:
    """A new key for the leader's browser (the previous one stops working)."""
    key = leader_keys.issue(session, reference)
    response.set_cookie(
        PAGE_COOKIE,
        key.value,
        max_age=key.seconds_left(),
        httponly=True,
        samesite="lax",
        path=f"/teams/requests/{reference}",  # Secure over HTTPS: reservations.web.headers
    )


# --- the leader's status page -------------------------------------------------------------


def _reference(raw: str) -> str:
    if not _REFERENCE.match(raw):
        raise NotFound()
    return raw.upper()


def _status_page(
    request: Request,
    session: Session,
    language: str,
    view: TeamRequestOut,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render_page(
        request,
        "teams/status.html",
        {
            "booking": view,
            "day_label": day_label(view.day, language, with_year=True),
            "ticket": next((t for t in view.tickets if t.status == TicketStatus.VALID), None),
            "error": error,
        },
        status_code=status_code,
    )


def _find_page(
    request: Request, reference: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render_page(
        request,
        "teams/find.html",
        {"reference": reference, "error": error},
        status_code=status_code,
    )


@router.get("/teams/requests/{reference}")
def status_page(
    request: Request, reference: str, session: DbSession, language: Language
) -> Response:
    reference = _reference(reference)
    try:
        booking = leader_keys.booking_for(session, reference, request.cookies.get(PAGE_COOKIE))
    except NotFound:
        return _find_page(request, reference)
    return _status_page(request, session, language, service.describe(session, [booking])[0])


@router.post("/teams/requests/{reference}/find", dependencies=[Depends(guard_lookup)])
def find_request(
    request: Request,
    reference: str,
    session: DbSession,
    language: Language,
    phone: Annotated[str, Form(max_length=32)] = "",
    id_type: Annotated[str, Form(max_length=24)] = "resident_id",
    id_number: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    reference = _reference(reference)
    try:
        booking = service.find_for_leader(session, reference, phone, id_type, id_number)
        response = RedirectResponse(f"/teams/requests/{booking.reference}", status_code=303)
        # Proving again renews the key: whatever browser held the previous one is out.
        _hand_page_key(response, session, booking.reference)
    except DomainError as exc:
        message = (
            _("未找到与该手机号和领队证件相符的团队预约。")
            if isinstance(exc, NotFound)
            else exc.message(language)
        )
        return _find_page(request, reference, error=message, status_code=exc.status)
    return response


@router.post("/teams/requests/{reference}/cancel")
def cancel_request(
    request: Request,
    reference: str,
    session: DbSession,
    language: Language,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    reference = _reference(reference)
    booking = leader_keys.booking_for(session, reference, request.cookies.get(PAGE_COOKIE))
    try:
        service.cancel_by_leader(session, booking)
    except DomainError as exc:
        undo_refused(session, exc)
        view = service.describe(session, [booking])[0]
        return _status_page(
            request,
            session,
            language,
            view,
            error=exc.message(language),
            status_code=exc.status,
        )
    return RedirectResponse(f"/teams/requests/{reference}", status_code=303)


# --- the admins' review queue --------------------------------------------------------------

QUEUE_TABS = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.REJECTED, "all")


def _queue_page(
    request: Request,
    session: Session,
    language: str,
    tab: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    if tab == BookingStatus.PENDING:
        # Overdue requests too, should the expiry job not have run yet.
        rows = service.requests(session, status=BookingStatus.PENDING)
    else:
        status = None if tab == "all" else BookingStatus(tab)
        rows = service.requests(session, status=status, start=today)
    now = clock.now()
    return render_page(
        request,
        "teams/queue.html",
        {
            "tab": tab,
            "tabs": QUEUE_TABS,
            "rows": rows,
            "labels": {row.reference: day_label(row.day, language) for row in rows},
            "overdue": {
                row.reference
                for row in rows
                if row.status == BookingStatus.PENDING and service.review_closed(row.day, now)
            },
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/admin/team-bookings")
def review_queue(
    request: Request,
    session: DbSession,
    language: Language,
    _principal: AdminPage,
    status: str = BookingStatus.PENDING,
    done: str | None = None,
    reference: str | None = None,
) -> Response:
    tab = status if status in QUEUE_TABS else BookingStatus.PENDING
    notice = None
    if reference and _REFERENCE.match(reference):
        if done == "approved":
            notice = _("已通过团队预约 %(reference)s，团队票已签发。", reference=reference.upper())
        elif done == "rejected":
            notice = _("已驳回团队预约 %(reference)s，名额已释放。", reference=reference.upper())
    return _queue_page(request, session, language, tab, notice=notice)


@router.post("/admin/team-bookings/{reference}/approve")
def approve_request(
    request: Request,
    reference: str,
    session: DbSession,
    language: Language,
    principal: AdminPage,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    reference = _reference(reference)
    try:
        service.approve(session, reference, principal.username)
    except DomainError as exc:
        undo_refused(session, exc)
        return _queue_page(
            request,
            session,
            language,
            BookingStatus.PENDING,
            error=f"{reference}: {exc.message(language)}",
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/admin/team-bookings?done=approved&reference={reference}", status_code=303
    )


@router.post("/admin/team-bookings/{reference}/reject")
def reject_request(
    request: Request,
    reference: str,
    session: DbSession,
    language: Language,
    principal: AdminPage,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    reference = _reference(reference)
    try:
        service.reject(session, reference, principal.username, reason)
    except DomainError as exc:
        undo_refused(session, exc)
        message = (
            _("请填写驳回原因，领队会看到它。")
            if exc.code == "validation_error"
            else exc.message(language)
        )
        return _queue_page(
            request,
            session,
            language,
            BookingStatus.PENDING,
            error=f"{reference}: {message}",
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/admin/team-bookings?done=rejected&reference={reference}", status_code=303
    )

"""The visitor's pages: the calendar, the booking form, the tickets and "my bookings".

They translate forms into calls of ``reservations.booking.service`` (the same calls the JSON
API makes) and the answers back into pages. They work without JavaScript; the scripts in
``templates/static/visitor/`` only make them quicker to use.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from reservations import clock
from reservations.booking import placement
from reservations.booking import service as booking_service
from reservations.booking.errors import CannotCancel
from reservations.booking.models import BookingStatus
from reservations.booking.schemas import BookingOut, BookingRequest
from reservations.errors import DomainError, NotFound
from reservations.gate import service as gate
from reservations.http import DbSession, language_of, undo_refused
from reservations.museum import service as museum
from reservations.protection.guard import guard_booking, guard_lookup
from reservations.rules import channels
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.visitor import calendar, form_page, forms, grants, ics
from reservations.visitor.booking_view import (
    just_booked,
    manage_path,
    private_headers,
    private_page,
    record_page,
    redirect,
    site_url,
    visit_context,
)
from reservations.visitor.form_page import FormPage
from reservations.visitor.forms import BookingForm, LookupForm, Problems
from reservations.visitor.text import (
    BOOKING_TONE,
    ID_TYPES,
    DateText,
    MomentText,
    Msg,
    booking_status,
)
from reservations.waitlist import pages as waitlist_pages
from reservations.web import csrf, i18n
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]


# --- the calendar ----------------------------------------------------------------------------


def museum_context(session: Session) -> dict[str, Any]:
    """Where the museum is, when it is open, how to get there and today's notices."""
    rules = rules_service.current(session)
    return {
        "museum": rules.museum,
        "hours": rules.hours,
        "closed_text": calendar.closed_weekdays(rules),
        "notices": museum.current(session),
    }


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    rules = rules_service.current(session)
    return render_page(
        request,
        "visitor/home.html",
        {"calendar": calendar.upcoming(session), "rules": rules, **museum_context(session)},
    )


# --- the booking form ------------------------------------------------------------------------


def _also_on_booking_page(
    session: Session, view: calendar.DayView, form: BookingForm, rules: Rules
) -> dict[str, Any]:
    if not form.slot_id:
        open_slots = [slot for slot in view.slots if slot.is_open]
        if len(open_slots) == 1:
            form.slot_id = open_slots[0].id
    other_days = [d for d in calendar.upcoming(session).days if d.bookable and d.day != view.day]
    return {"other_days": other_days}


BOOKING_FORM = FormPage(
    template="visitor/book.html",
    model=BookingRequest,
    fixable=form_page.FIXABLE | {"sold_out"},
    also_shows=_also_on_booking_page,
)


@router.get("/book/{day}")
def booking_form(request: Request, session: DbSession, day: date, slot: str = "") -> Response:
    form = BookingForm(slot_id=slot[:16], form_key=forms.new_form_key())
    return BOOKING_FORM.show(request, session, day, form)


@router.post("/book/{day}", dependencies=[Depends(guard_booking)])
def submit_booking(
    request: Request,
    session: DbSession,
    day: date,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
) -> Response:
    csrf.check(request, csrf_token)

    def book(booking_request: BookingRequest, language: str) -> Response:
        # Book once per form: a second tap on a slow connection gets the first booking back.
        once = placement.Once.for_form("booking-page", form.form_key, booking_request)
        placed = booking_service.create(session, booking_request, language, once)
        assert placed.manage_token is not None
        return just_booked(placed.reference, placed.manage_token, {"Cache-Control": "no-store"})

    return BOOKING_FORM.submit(request, session, day, form, book)


@router.post("/book/{day}/edit")
def edit_booking_form(
    request: Request,
    session: DbSession,
    day: date,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
    change: Text = "",
    move_to: Text = "",
) -> Response:
    """Without JavaScript: add or remove a companion row, or move the form to another day,
    keeping what the visitor typed."""
    csrf.check(request, csrf_token)
    if change == "move":
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(move_to)
        form.slot_id = ""
    return BOOKING_FORM.edit(request, session, day, form, change)


# --- the tickets: the private management link ---------------------------------------------


def _booking_context(session: Session, booking: BookingOut) -> dict[str, Any]:
    now = clock.now()
    deadline = booking.cancellable_until
    return {
        "booking": booking,
        **visit_context(rules_service.current(session), booking),
        "status_text": booking_status(booking.status),
        "status_tone": BOOKING_TONE.get(booking.status, "muted"),
        "date_text": DateText(booking.day, "long"),
        "cancellable": deadline is not None and now < deadline,
        "deadline_text": MomentText(deadline) if deadline is not None else None,
        "upcoming": booking.day >= now.date()
        and booking.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING),
        "is_team": channels.is_party(booking.channel),
    }


def _manage_page(
    request: Request,
    session: Session,
    booking: BookingOut,
    token: str,
    *,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Response:
    context = {**_booking_context(session, booking), **museum_context(session)}
    return record_page(
        request,
        "visitor/booking.html",
        context,
        link=("manage", manage_path(booking.reference, token)),
        done=("booked", "cancelled"),
        problems=problems,
        status_code=status_code,
    )


@router.get("/my/{reference}/{token}")
def manage_booking(request: Request, session: DbSession, reference: str, token: str) -> Response:
    booking = booking_service.read(session, reference, token)
    return _manage_page(request, session, booking, token)


@router.get("/my/{reference}/{token}/print")
def print_tickets(request: Request, session: DbSession, reference: str, token: str) -> Response:
    booking = booking_service.read(session, reference, token)
    context = _booking_context(session, booking)
    context.update(museum_context(session))
    context["manage_path"] = manage_path(booking.reference, token)
    return private_page(request, "visitor/print.html", context)


@router.get("/my/{reference}/{token}/calendar.ics")
def calendar_file(request: Request, session: DbSession, reference: str, token: str) -> Response:
    booking = booking_service.read(session, reference, token)
    rules = rules_service.current(session)
    opens, closes = gate.entry_window(rules, booking.day, booking.slot.start, booking.slot.end)
    with i18n.speaking(language_of(request)):
        museum = str(Msg("郑州网络安全科技馆"))
        description = str(
            Msg(
                "预约号：%(reference)s，%(count)s人。请于%(opens)s至%(closes)s之间入馆，"
                "每位参观者携带预约时登记的证件原件，并出示各自的入馆二维码。"
                "查看或取消预约：%(link)s",
                reference=booking.reference,
                count=booking.party_size,
                opens=f"{opens:%H:%M}",
                closes=f"{closes:%H:%M}",
                link=site_url(request, "/my"),
            )
        )
        body = ics.event(
            booking,
            summary=str(Msg("参观%(museum)s", museum=museum)),
            location=str(Msg("郑州网络安全科技馆（郑州高新区）")),
            description=description,
            reminder=str(Msg("明天参观郑州网络安全科技馆，请带好证件原件。")),
            host=request.url.hostname or "localhost",
        )
    headers = private_headers()
    headers["Content-Disposition"] = f'attachment; filename="visit-{booking.reference}.ics"'
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.post("/my/{reference}/{token}/cancel")
def cancel_with_link(
    request: Request,
    session: DbSession,
    reference: str,
    token: str,
    csrf_token: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        booking = booking_service.cancel(session, reference, token)
    except CannotCancel as error:
        undo_refused(session, error)
        current = booking_service.read(session, reference, token)
        return _manage_page(
            request,
            session,
            current,
            token,
            problems={"cancel": CANNOT_CANCEL},
            status_code=409,
        )
    return redirect(manage_path(booking.reference, token) + "?cancelled=1", private_headers())


CANNOT_CANCEL = Msg("这笔预约已不能取消：可能已经取消，或已过取消截止时间。")


# --- my bookings -----------------------------------------------------------------------------


def _lookup_page(
    request: Request,
    form: LookupForm,
    problems: Problems | None = None,
    *,
    status_code: int = 200,
    results: list[dict[str, Any]] | None = None,
    cancelled: dict[str, Any] | None = None,
    waiting: list[dict[str, Any]] | None = None,
) -> Response:
    return render_page(
        request,
        "visitor/my.html",
        {
            "form": form,
            "problems": problems or {},
            "problem_keys": forms.first_problem_keys(
                problems or {}, ["form", "phone", "id_type", "id_number"]
            ),
            "id_types": ID_TYPES,
            "results": results,
            "cancelled": cancelled,
            "waiting": waiting or [],
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/my")
def my_bookings(request: Request) -> Response:
    return _lookup_page(request, LookupForm())


@router.post("/my", dependencies=[Depends(guard_lookup)])
def find_my_bookings(
    request: Request,
    session: DbSession,
    csrf_token: Text = "",
    phone: Text = "",
    id_type: Text = "resident_id",
    id_number: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    form = LookupForm(phone=phone, id_type=id_type, id_number=id_number)
    try:
        lookup = forms.build_lookup(form)
        found = booking_service.lookup(session, lookup)
    except DomainError as error:
        if error.code not in ("validation_error", "invalid_phone", "invalid_id_number"):
            raise
        return _lookup_page(
            request, form, forms.lookup_problems(error, form), status_code=error.status
        )
    browser = request.cookies.get(csrf.COOKIE, "")
    now = clock.now()
    results = []
    for booking in found:
        context = _booking_context(session, booking)
        if context["cancellable"] and not context["is_team"]:
            context["grant"] = grants.issue(booking.reference, browser, now)
        results.append(context)
    waiting = waitlist_pages.found_entries(session, lookup, browser, now)
    # What was typed is not shown again: the results stand in for the form.
    return _lookup_page(request, LookupForm(id_type=form.id_type), results=results, waiting=waiting)


@router.post("/my/cancel")
def cancel_found_booking(
    request: Request,
    session: DbSession,
    csrf_token: Text = "",
    reference: Text = "",
    grant: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    browser = request.cookies.get(csrf.COOKIE)
    if not grants.verify(grant, reference, browser, clock.now()):
        return _lookup_page(
            request,
            LookupForm(),
            {"form": Msg("为保护您的信息，查询结果只在15分钟内有效。请重新查询后再取消。")},
            status_code=403,
        )
    try:
        booking = booking_service.cancel_proven(session, reference)
    except (CannotCancel, NotFound) as error:
        undo_refused(session, error)
        return _lookup_page(request, LookupForm(), {"form": CANNOT_CANCEL}, status_code=409)
    return _lookup_page(request, LookupForm(), cancelled=_booking_context(session, booking))

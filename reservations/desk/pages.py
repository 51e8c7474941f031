"""The desk's pages for staff (``/desk``): booking for a visitor without a smartphone, the
booking with its print links, a document's bookings and ban; the tickets' print page (a
signed link, for a receipt printer or A4); the console's list of bans.

They call the same services as ``/api/v1/desk/...`` and decide no rule of their own. The
document number is only ever posted (never in a URL), and shown again only masked.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from reservations import clock, languages
from reservations.accounts.models import ADMIN
from reservations.accounts.service import Principal
from reservations.admin import labels
from reservations.auth.staff_session import AdminPage, StaffPage
from reservations.booking import placement
from reservations.booking import service as booking_service
from reservations.booking.schemas import DayAvailability
from reservations.desk import service
from reservations.desk.schemas import DeskBookingRequest, IdentityOut, IdentityRequest
from reservations.errors import DomainError, NotFound, ValidationFailed
from reservations.gate import service as gate
from reservations.http import DbSession, language_of, undo_refused
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.tickets.models import TicketStatus
from reservations.visitor import forms
from reservations.visitor.booking_view import private_headers
from reservations.visitor.forms import BookingForm, Problems
from reservations.visitor.text import (
    BOOKING_TONE,
    ID_TYPES,
    DateText,
    ErrorText,
    Msg,
    booking_status,
    ticket_status,
)
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

PAGE = "/desk"
Text = Annotated[str, Form(max_length=200)]
PAPERS = ("receipt", "a4")


# --- booking ------------------------------------------------------------------------------


def _offered_days(session: Session, rules: Rules, today: date) -> list[dict[str, Any]]:
    """Today (walk-in places) and the later days visitors can book online now."""
    last = today + timedelta(days=rules.individual.max_days_ahead)
    found = []
    for day in booking_service.availability(session, today, last).days:
        channel = service.channel_for(day.day, today)
        bookable, reason = day.state_of(channel)
        if day.day == today or bookable:
            found.append(
                {
                    "day": day.day,
                    "text": DateText(day.day, "short"),
                    "today": day.day == today,
                    "remaining": day.of(channel).remaining,
                    "bookable": bookable,
                    "reason": reason,
                }
            )
    return found


def _slots(day: DayAvailability, channel: str) -> list[dict[str, Any]]:
    return [
        {
            "id": slot.id,
            "start": slot.start,
            "end": slot.end,
            "remaining": slot.remaining_of(channel),
        }
        for slot in day.slots
    ]


def _current_slot(rules: Rules, slots: list[dict[str, Any]]) -> str:
    """The slot a walk-in enters now, or the next one with places."""
    open_slots = [slot for slot in slots if slot["remaining"] > 0]
    return str(open_slots[0]["id"]) if open_slots else ""


def _booking_page(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    form: BookingForm,
    problems: Problems | None = None,
    *,
    ticket_language: str | None = None,
    status_code: int = 200,
) -> Response:
    rules = rules_service.current(session)
    today = clock.today()
    channel = service.channel_for(day, today)
    availability = booking_service.availability(session, day, day).days[0]
    slots = _slots(availability, channel)
    if not form.slot_id and day == today:
        form.slot_id = _current_slot(rules, slots)
    bookable, reason = availability.state_of(channel)
    values = forms.page_values(form, problems or {}, rules)
    return render_page(
        request,
        "desk/book.html",
        {
            **values,
            "reason_labels": labels.REASONS,
            "principal": principal,
            "day": day,
            "day_text": DateText(day, "long"),
            "is_today": day == today,
            "walk_in": availability.of(channel) if day == today else None,
            "bookable": bookable,
            "reason": reason,
            "days": _offered_days(session, rules, today),
            "slots": slots,
            "museum": rules.museum,
            "hours": rules.hours,
            "languages": languages.LANGUAGES,
            "ticket_language": ticket_language or language_of(request),
            "field_order": forms.field_order(form),
        },
        status_code=status_code,
    )


def _day_of(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else clock.today()
    except ValueError:
        return clock.today()


@router.get(PAGE)
def desk_page(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    day: Annotated[str | None, Query(alias="date", max_length=10)] = None,
) -> Response:
    form = BookingForm(form_key=forms.new_form_key())
    return _booking_page(request, session, principal, _day_of(day), form)


@router.post(PAGE)
def desk_booking(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
    visit_date: Text = "",
    ticket_language: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    day = _day_of(visit_date)
    language = languages.known(ticket_language or language_of(request))
    rules = rules_service.current(session)
    today = clock.today()
    try:
        built = forms.build_request(
            form,
            day,
            language,
            today,
            rules.individual.max_visitors_per_booking,
            model=DeskBookingRequest,
        )
        assert isinstance(built, DeskBookingRequest)
        once = placement.Once.for_form("desk-page", form.form_key, built)
        placed = service.book(session, built, principal.username, language, once)
    except DomainError as error:
        if error.status >= 500:
            raise
        undo_refused(session, error)
        problems = forms.problems_for(error, form, rules, day)
        return _booking_page(
            request,
            session,
            principal,
            day,
            form,
            problems,
            ticket_language=language,
            status_code=error.status,
        )
    return RedirectResponse(f"{PAGE}/bookings/{placed.reference}?done=booked", status_code=303)


# --- one booking, and its print page ----------------------------------------------------------


def _tickets(booking: Any) -> list[dict[str, Any]]:
    return [
        {
            "ticket": ticket,
            "usable": ticket.status == TicketStatus.VALID,
            "status": ticket_status(ticket.status, ticket.used),
        }
        for ticket in booking.tickets
    ]


def _view_context(session: Session, booking: Any) -> dict[str, Any]:
    rules = rules_service.current(session)
    opens, closes = gate.entry_window(rules, booking.day, booking.slot.start, booking.slot.end)
    return {
        "booking": booking,
        "tickets": _tickets(booking),
        "date_text": DateText(booking.day, "long"),
        "status_text": booking_status(booking.status),
        "status_tone": BOOKING_TONE.get(booking.status, "muted"),
        "entry_opens": f"{opens:%H:%M}",
        "entry_closes": f"{closes:%H:%M}",
        "museum": rules.museum,
        "channel": booking.channel,
    }


@router.get(PAGE + "/bookings/{reference}")
def desk_booking_page(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    reference: str,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    booking = service.read(session, reference)
    return render_page(
        request,
        "desk/booking.html",
        {
            **_view_context(session, booking),
            "principal": principal,
            "done": done,
            "cancellable": service.cancellable_at_desk(booking),
            "print_links": {paper: service.print_url(booking.reference, paper) for paper in PAPERS},
        },
    )


@router.post(PAGE + "/bookings/{reference}/cancel")
def desk_cancel(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    reference: str,
    csrf_token: Text = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    service.cancel(session, reference, principal.username, reason.strip() or None)
    return RedirectResponse(f"{PAGE}/bookings/{reference.strip().upper()}?done=cancelled", 303)


@router.get(PAGE + "/bookings/{reference}/print")
def print_page(
    request: Request,
    session: DbSession,
    reference: str,
    sig: Annotated[str | None, Query(max_length=64)] = None,
    paper: Annotated[str, Query(max_length=10)] = "receipt",
) -> Response:
    """The tickets for the printer: one slip per visitor on an 80 mm receipt printer, or
    large on A4; in the booking's language. The signed link is its authorisation."""
    if not service.is_print_signed(reference, sig):
        raise NotFound()
    booking = service.read(session, reference)
    stored = service.find(session, reference)
    language = languages.known(stored.language)
    context = {
        **_view_context(session, booking),
        "paper": paper if paper in PAPERS else PAPERS[0],
        "other_papers": {other: service.print_url(booking.reference, other) for other in PAPERS},
    }
    return render_page(
        request,
        "desk/print.html",
        context,
        headers=private_headers(),
        language=language,
    )


# --- a document's bookings and ban ------------------------------------------------------------


def _identity_page(
    request: Request,
    principal: Principal,
    *,
    id_type: str = "resident_id",
    found: IdentityOut | None = None,
    subject: str | None = None,
    masked: str | None = None,
    problems: Problems | None = None,
    notice: Msg | None = None,
    status_code: int = 200,
) -> Response:
    return render_page(
        request,
        "desk/identity.html",
        {
            "principal": principal,
            "is_admin": principal.role == ADMIN,
            "id_types": ID_TYPES,
            "id_type": id_type,
            "found": found,
            # What the page's own forms (cancel, lift) post back instead of the number.
            "subject": service.subject_token(subject) if subject else "",
            "masked": masked or "",
            "views": [_found_view(booking) for booking in (found.bookings if found else [])],
            "problems": problems or {},
            "notice": notice,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _found_view(booking: Any) -> dict[str, Any]:
    return {
        "booking": booking,
        "date_text": DateText(booking.day, "long"),
        "status_text": booking_status(booking.status),
        "status_tone": BOOKING_TONE.get(booking.status, "muted"),
        "cancellable": service.cancellable_at_desk(booking),
    }


@router.get(PAGE + "/identity")
def identity_page(request: Request, principal: StaffPage) -> Response:
    return _identity_page(request, principal)


@router.post(PAGE + "/identity")
def identity_lookup(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    csrf_token: Text = "",
    id_type: Text = "resident_id",
    id_number: Text = "",
) -> Response:
    """The bookings and standing under the document that was read or typed."""
    csrf.check(request, csrf_token)
    try:
        wanted = IdentityRequest.model_validate({"id_type": id_type, "id_number": id_number})
        subject = service.identity_hash(wanted)
        found = service.identity_of(session, subject)
    except (DomainError, ValueError) as raised:
        error = raised if isinstance(raised, DomainError) else ValidationFailed()
        return _identity_page(
            request,
            principal,
            id_type=id_type,
            problems={"id_number": _identity_problem(error)},
            status_code=error.status,
        )
    return _identity_page(
        request,
        principal,
        id_type=id_type,
        found=found,
        subject=subject,
        masked=service.masked_document(wanted),
    )


def _acting_on(subject_token: str) -> str:
    subject = service.subject_of(subject_token)
    if subject is None:
        raise ValidationFailed({"problem": "expired"})
    return subject


@router.post(PAGE + "/identity/cancel")
def identity_cancel(
    request: Request,
    session: DbSession,
    principal: StaffPage,
    csrf_token: Text = "",
    subject: Text = "",
    masked: Text = "",
    reference: Text = "",
) -> Response:
    """Cancel one of the bookings found: the visitor did not make it."""
    csrf.check(request, csrf_token)
    try:
        found_under = _acting_on(subject)
        service.cancel(session, reference, principal.username, NOT_THEIRS)
    except DomainError as error:
        undo_refused(session, error)
        return _identity_page(
            request,
            principal,
            problems={"form": _identity_problem(error)},
            status_code=error.status,
        )
    notice = Msg("预约 %(reference)s 已取消，名额已退回。", reference=reference.strip().upper())
    found = service.identity_of(session, found_under)
    return _identity_page(
        request, principal, found=found, subject=found_under, masked=masked, notice=notice
    )


# What the audit trail says of a cancellation made from a document's lookup.
NOT_THEIRS = "not_made_by_the_visitor"


@router.post(PAGE + "/identity/lift-ban")
def identity_lift_ban(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    csrf_token: Text = "",
    subject: Text = "",
    masked: Text = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        found_under = _acting_on(subject)
        if not reason.strip():
            raise ValidationFailed({"fields": [{"field": "reason", "problem": "missing"}]})
        found = service.lift_ban_of(
            session, found_under, masked or None, reason.strip(), principal.username
        )
    except DomainError as error:
        undo_refused(session, error)
        return _identity_page(
            request,
            principal,
            problems={"form": _identity_problem(error)},
            status_code=error.status,
        )
    return _identity_page(
        request,
        principal,
        found=found,
        subject=found_under,
        masked=masked,
        notice=Msg("已解除暂停预约，相关爽约记录不再计入。"),
    )


def _refused(request: Request, principal: Principal, error: DomainError) -> Response:
    problems: Problems = {"form": _identity_problem(error)}
    return _identity_page(request, principal, problems=problems, status_code=error.status)


def _identity_problem(error: DomainError) -> Msg | ErrorText:
    if error.code == "invalid_id_number":
        return Msg("证件号码无效，请核对证件类型和号码。")
    if error.code == "validation_error":
        if error.details.get("problem") == "expired":
            return Msg("查询结果已过期，请重新读取证件。")
        if error.details.get("fields"):
            return Msg("请填写解除原因。")
        return Msg("请填写证件号码。")
    if error.code == "not_found":
        return Msg("没有找到可以处理的记录，请重新查询。")
    return ErrorText(error)


# --- the console: bans ---------------------------------------------------------------------------


@router.get("/admin/bans")
def bans_page(request: Request, session: DbSession, principal: AdminPage) -> Response:
    return render_page(
        request,
        "desk/bans.html",
        {"principal": principal, **service.console_bans(session), "today": clock.today()},
    )

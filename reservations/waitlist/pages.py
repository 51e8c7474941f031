"""The waiting list's pages: joining a sold-out day (``/waitlist/<date>``), the entry's
private page (``/waitlist/entry/<reference>/<token>``: position, offer and deadline,
confirm or leave), and its part of "my bookings".

They call ``reservations.waitlist.service``, as the JSON API does, and work without
JavaScript; the join form is the booking form's (``visitor/_macros.html``) with its script.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import placement
from reservations.booking.schemas import BookingOut, LookupRequest
from reservations.errors import DomainError, NotFound
from reservations.gate import service as gate
from reservations.http import DbSession, language_of, undo_refused
from reservations.protection.guard import guard_booking
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.visitor import calendar, forms, grants
from reservations.visitor.forms import BookingForm, Problems
from reservations.visitor.text import DateText, MomentText, Msg, ticket_status
from reservations.waitlist import service
from reservations.waitlist.errors import NoOffer, NotWaiting
from reservations.waitlist.models import WaitingEntry
from reservations.waitlist.router import link_base
from reservations.waitlist.schemas import WaitingEntryOut, WaitingListRequest
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
# Grants of "my bookings" for waiting entries are kept apart from those of bookings.
_GRANT_PREFIX = "waiting:"

# What the join form answers with the form again, its problems next to the fields.
_FIXABLE = frozenset(
    {
        "validation_error",
        "invalid_id_number",
        "invalid_phone",
        "consent_required",
        "too_many_visitors",
        "minor_without_guardian",
        "booking_window",
        "duplicate_visitor",
        "visitor_banned",
        "places_available",
        "waiting_list_closed",
    }
)

STATUS_TEXT = {
    "waiting": Msg("候补中"),
    "offered": Msg("名额已保留，待确认"),
    "booked": Msg("已确认预约"),
    "expired": Msg("已结束"),
    "left": Msg("已退出"),
}
STATUS_TONE = {
    "waiting": "warn",
    "offered": "ok",
    "booked": "ok",
    "expired": "bad",
    "left": "muted",
}

# --- joining -------------------------------------------------------------------------------

JOINABLE = "joinable"
CLOSED = "closed"
BOOKABLE = "bookable"
UNAVAILABLE = "unavailable"


def join_state(day: calendar.DayView, rules: Rules) -> str:
    """Whether the day's waiting list can be joined, or why not."""
    if not rules.waiting_list.enabled:
        return CLOSED
    if day.reason not in (None, rules_service.SOLD_OUT):
        return UNAVAILABLE
    if any(not slot.is_open for slot in day.slots):
        return JOINABLE
    return BOOKABLE


def _join_page(
    request: Request,
    session: Session,
    day: date,
    form: BookingForm,
    problems: Problems | None = None,
    *,
    status_code: int = 200,
) -> Response:
    rules = rules_service.current(session)
    view = calendar.one_day(session, day)
    problems = problems or {}
    return render_page(
        request,
        "waitlist/join.html",
        {
            "day": view,
            "state": join_state(view, rules),
            **forms.page_values(form, problems, rules),
            "visit_date": day.isoformat(),
        },
        status_code=status_code,
    )


@router.get("/waitlist/{day}")
def join_form(request: Request, session: DbSession, day: date, slot: str = "") -> Response:
    form = BookingForm(slot_id=slot[:16], form_key=forms.new_form_key())
    return _join_page(request, session, day, form)


@router.post("/waitlist/{day}", dependencies=[Depends(guard_booking)])
def submit_join(
    request: Request,
    session: DbSession,
    day: date,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    language = language_of(request)
    max_visitors = rules_service.recent().individual.max_visitors_per_booking
    try:
        built = forms.build_request(
            form, day, language, clock.today(), max_visitors, model=WaitingListRequest
        )
        assert isinstance(built, WaitingListRequest)
        # A second tap on a slow connection gets the first entry back.
        once = placement.Once.for_form("waiting-list-page", form.form_key, built)
        joined = service.join(session, built, language, link_base=link_base(request), once=once)
    except DomainError as error:
        if error.code not in _FIXABLE:
            raise
        undo_refused(session, error)
        rules = rules_service.current(session)
        problems = forms.problems_for(error, form, rules, day)
        return _join_page(request, session, day, form, problems, status_code=error.status)
    assert joined.manage_token is not None
    return RedirectResponse(
        entry_path(joined.reference, joined.manage_token) + "?joined=1",
        status_code=303,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/waitlist/{day}/edit")
def edit_join_form(
    request: Request,
    session: DbSession,
    day: date,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
    change: Text = "",
) -> Response:
    """Without JavaScript: add or remove a companion row, keeping what was typed."""
    csrf.check(request, csrf_token)
    rules = rules_service.current(session)
    forms.change_rows(form, change, rules.individual.max_visitors_per_booking)
    return _join_page(request, session, day, form)


# --- the entry's private page ----------------------------------------------------------------


def entry_path(reference: str, token: str) -> str:
    return f"/waitlist/entry/{quote(reference)}/{quote(token)}"


def entry_context(session: Session, entry: WaitingEntryOut) -> dict[str, Any]:
    """What the pages show of an entry, in words."""
    rules = rules_service.current(session)
    now = clock.now()
    context: dict[str, Any] = {
        "entry": entry,
        "status_text": STATUS_TEXT.get(entry.status, Msg("未知状态")),
        "status_tone": STATUS_TONE.get(entry.status, "muted"),
        "date_text": DateText(entry.day, "long"),
        "slot_text": _slot_text(rules, entry.slot_id),
        "open": entry.status in ("waiting", "offered"),
        "offer_standing": entry.offer is not None
        and entry.status == "offered"
        and entry.offer.expires_at > now,
        "deadline_text": MomentText(entry.offer.expires_at) if entry.offer else None,
        "offer_minutes": rules.waiting_list.offer_minutes,
    }
    if entry.booking is not None:
        context.update(_booking_context(rules, entry.booking))
    return context


def _slot_text(rules: Rules, slot_id: str | None) -> Msg | str:
    slot = rules.slot(slot_id) if slot_id else None
    if slot is None:
        return Msg("任意时段")
    return f"{slot.start}–{slot.end}"


def _booking_context(rules: Rules, booking: BookingOut) -> dict[str, Any]:
    opens, closes = gate.entry_window(rules, booking.day, booking.slot.start, booking.slot.end)
    return {
        "tickets": [
            {
                "ticket": ticket,
                "number": number,
                "status": ticket_status(ticket.status, ticket.used),
                "usable": ticket.status == "valid" and not ticket.used,
                "filename": f"ticket-{booking.reference}-{number}.png",
            }
            for number, ticket in enumerate(booking.tickets, start=1)
        ],
        "entry_opens": f"{opens:%H:%M}",
        "entry_closes": f"{closes:%H:%M}",
    }


def _entry_page(
    request: Request,
    session: Session,
    entry: WaitingEntryOut,
    token: str,
    *,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Response:
    path = entry_path(entry.reference, token)
    context = entry_context(session, entry)
    context.update(
        {
            "entry_path": path,
            "entry_url": str(request.base_url).rstrip("/") + path,
            "just_joined": request.query_params.get("joined") == "1",
            "just_left": request.query_params.get("left") == "1",
            "problems": problems or {},
        }
    )
    return render_page(
        request,
        "waitlist/entry.html",
        context,
        status_code=status_code,
        headers=dict(_PRIVATE_HEADERS),
    )


@router.get("/waitlist/entry/{reference}/{token}")
def entry_page(request: Request, session: DbSession, reference: str, token: str) -> Response:
    return _entry_page(request, session, service.read(session, reference, token), token)


@router.post("/waitlist/entry/{reference}/{token}/accept")
def accept_offer(
    request: Request, session: DbSession, reference: str, token: str, csrf_token: Text = ""
) -> Response:
    csrf.check(request, csrf_token)
    try:
        placed = service.accept(session, reference, token)
    except NoOffer as error:
        undo_refused(session, error)
        current = service.read(session, reference, token)
        return _entry_page(
            request, session, current, token, problems={"accept": NO_OFFER}, status_code=409
        )
    return _booking_link(placed)


@router.post("/waitlist/entry/{reference}/{token}/leave")
def leave_list(
    request: Request, session: DbSession, reference: str, token: str, csrf_token: Text = ""
) -> Response:
    csrf.check(request, csrf_token)
    try:
        entry = service.leave(session, reference, token)
    except NotWaiting as error:
        undo_refused(session, error)
        current = service.read(session, reference, token)
        return _entry_page(
            request, session, current, token, problems={"leave": NOT_WAITING}, status_code=409
        )
    return RedirectResponse(
        entry_path(entry.reference, token) + "?left=1",
        status_code=303,
        headers=dict(_PRIVATE_HEADERS),
    )


def _booking_link(placed: placement.Placed) -> Response:
    """The new booking's own private page: its tickets (its token is shown this once)."""
    assert placed.manage_token is not None
    return RedirectResponse(
        f"/my/{quote(placed.reference)}/{quote(placed.manage_token)}?booked=1",
        status_code=303,
        headers=dict(_PRIVATE_HEADERS),
    )


NO_OFFER = Msg("没有可确认的名额：保留时间可能已过，名额已让给下一位候补者。")
NOT_WAITING = Msg("这个候补已经结束，无需退出。")


# --- my bookings ---------------------------------------------------------------------------


def found_entries(
    session: Session, lookup: LookupRequest, browser: str, now: datetime
) -> list[dict[str, Any]]:
    """The visitor's waiting list entries for "my bookings", each open one with a grant to
    confirm or leave it from there."""
    found = []
    for entry, shown in service.lookup(session, lookup):
        context = entry_context(session, shown)
        if context["open"]:
            context["grant"] = grants.issue(_GRANT_PREFIX + entry.reference, browser, now)
        found.append(context)
    return found


def _proven(request: Request, session: Session, reference: str, grant: str) -> WaitingEntry | None:
    """The entry, if this browser has just found it by phone and document (None if not)."""
    browser = request.cookies.get(csrf.COOKIE)
    if not grants.verify(grant, _GRANT_PREFIX + reference.strip().upper(), browser, clock.now()):
        return None
    db.begin_read(session)  # the change that follows is one short write of its own
    return service.find_proven(session, reference)


GRANT_EXPIRED = Msg("为保护您的信息，查询结果只在15分钟内有效。请重新查询后再操作。")


@router.post("/my/waiting/accept")
def accept_found(
    request: Request,
    session: DbSession,
    csrf_token: Text = "",
    reference: Text = "",
    grant: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    entry = _proven(request, session, reference, grant)
    if entry is None:
        return _found_page(request, session, None, {"form": GRANT_EXPIRED}, status_code=403)
    try:
        placed = service.accept_entry(session, entry)
    except (NoOffer, NotFound) as error:
        undo_refused(session, error)
        return _found_page(request, session, None, {"form": NO_OFFER}, status_code=409)
    return _booking_link(placed)


@router.post("/my/waiting/leave")
def leave_found(
    request: Request,
    session: DbSession,
    csrf_token: Text = "",
    reference: Text = "",
    grant: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    entry = _proven(request, session, reference, grant)
    if entry is None:
        return _found_page(request, session, None, {"form": GRANT_EXPIRED}, status_code=403)
    try:
        left = service.leave_entry(session, entry)
    except NotWaiting as error:
        undo_refused(session, error)
        return _found_page(request, session, None, {"form": NOT_WAITING}, status_code=409)
    return _found_page(request, session, left)


def _found_page(
    request: Request,
    session: Session,
    left: WaitingEntryOut | None,
    problems: Problems | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """After acting from "my bookings": what was done, or why not (without the entry's
    private link, which that page never had)."""
    return render_page(
        request,
        "waitlist/done.html",
        {"left": entry_context(session, left) if left else None, "problems": problems or {}},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )

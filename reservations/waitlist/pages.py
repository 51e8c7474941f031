"""The waiting list's pages: joining a sold-out day (``/waitlist/<date>``), the entry's
private page (``/waitlist/entry/<reference>/<token>``: position, offer and deadline,
confirm or leave), and its part of "my bookings".

They call ``reservations.waitlist.service``, as the JSON API does, and work without
JavaScript; the join form is the booking form's (``visitor/_macros.html``) with its script.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from reservations import clock, db
from reservations.booking import placement
from reservations.booking.schemas import BookingRequest, LookupRequest
from reservations.errors import DomainError, NotFound
from reservations.http import DbSession, undo_refused
from reservations.protection.guard import guard_booking
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.visitor import calendar, form_page, forms, grants
from reservations.visitor.booking_view import (
    just_booked,
    private_headers,
    record_page,
    redirect,
    visit_context,
)
from reservations.visitor.form_page import FormPage
from reservations.visitor.forms import BookingForm, Problems
from reservations.visitor.text import DateText, MomentText, Msg
from reservations.waitlist import service
from reservations.waitlist.errors import NoOffer, NotWaiting
from reservations.waitlist.models import OPEN_STATUSES, WaitingEntry, WaitingStatus
from reservations.waitlist.router import link_base
from reservations.waitlist.schemas import WaitingEntryOut, WaitingListRequest
from reservations.web import csrf
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
# Grants of "my bookings" for waiting entries are kept apart from those of bookings.
_GRANT_PREFIX = "waiting:"

STATUS_TEXT: dict[str, Msg] = {
    WaitingStatus.WAITING: Msg("候补中"),
    WaitingStatus.OFFERED: Msg("名额已保留，待确认"),
    WaitingStatus.BOOKED: Msg("已确认预约"),
    WaitingStatus.EXPIRED: Msg("已结束"),
    WaitingStatus.LEFT: Msg("已退出"),
}
STATUS_TONE: dict[str, str] = {
    WaitingStatus.WAITING: "warn",
    WaitingStatus.OFFERED: "ok",
    WaitingStatus.BOOKED: "ok",
    WaitingStatus.EXPIRED: "bad",
    WaitingStatus.LEFT: "muted",
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


def _also_on_join_page(
    session: Session, view: calendar.DayView, form: BookingForm, rules: Rules
) -> dict[str, Any]:
    return {"state": join_state(view, rules)}


JOIN_FORM = FormPage(
    template="waitlist/join.html",
    model=WaitingListRequest,
    fixable=form_page.FIXABLE | {"places_available", "waiting_list_closed"},
    also_shows=_also_on_join_page,
)


@router.get("/waitlist/{day}")
def join_form(request: Request, session: DbSession, day: date, slot: str = "") -> Response:
    form = BookingForm(slot_id=slot[:16], form_key=forms.new_form_key())
    return JOIN_FORM.show(request, session, day, form)


@router.post("/waitlist/{day}", dependencies=[Depends(guard_booking)])
def submit_join(
    request: Request,
    session: DbSession,
    day: date,
    form: forms.PostedBookingForm,
    csrf_token: Text = "",
) -> Response:
    csrf.check(request, csrf_token)

    def join(built: BookingRequest, language: str) -> Response:
        assert isinstance(built, WaitingListRequest)
        # A second tap on a slow connection gets the first entry back.
        once = placement.Once.for_form("waiting-list-page", form.form_key, built)
        joined = service.join(session, built, language, link_base=link_base(request), once=once)
        assert joined.manage_token is not None
        return redirect(
            entry_path(joined.reference, joined.manage_token) + "?joined=1",
            {"Cache-Control": "no-store"},
        )

    return JOIN_FORM.submit(request, session, day, form, join)


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
    return JOIN_FORM.edit(request, session, day, form, change)


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
        "open": entry.status in OPEN_STATUSES,
        "offer_standing": entry.offer is not None
        and entry.status == WaitingStatus.OFFERED.value
        and entry.offer.expires_at > now,
        "deadline_text": MomentText(entry.offer.expires_at) if entry.offer else None,
        "offer_minutes": rules.waiting_list.offer_minutes,
    }
    if entry.booking is not None:
        context.update(visit_context(rules, entry.booking))
    return context


def _slot_text(rules: Rules, slot_id: str | None) -> Msg | str:
    slot = rules.slot(slot_id) if slot_id else None
    if slot is None:
        return Msg("任意时段")
    return f"{slot.start}–{slot.end}"


def _entry_page(
    request: Request,
    session: Session,
    entry: WaitingEntryOut,
    token: str,
    *,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Response:
    return record_page(
        request,
        "waitlist/entry.html",
        entry_context(session, entry),
        link=("entry", entry_path(entry.reference, token)),
        done=("joined", "left"),
        problems=problems,
        status_code=status_code,
    )


@router.get("/waitlist/entry/{reference}/{token}")
def entry_page(request: Request, session: DbSession, reference: str, token: str) -> Response:
    return _entry_page(request, session, service.read(session, reference, token), token)


@router.post("/waitlist/entry/{reference}/{token}/accept")
def accept_offer(
    request: Request, session: DbSession, reference: str, token: str, csrf_token: Text = ""
) -> Response:
    csrf.check(request, csrf_token)
    return _on_entry_page(
        request,
        session,
        reference,
        token,
        lambda: _booking_link(service.accept(session, reference, token)),
        refused=NoOffer,
        problems={"accept": NO_OFFER},
    )


@router.post("/waitlist/entry/{reference}/{token}/leave")
def leave_list(
    request: Request, session: DbSession, reference: str, token: str, csrf_token: Text = ""
) -> Response:
    csrf.check(request, csrf_token)

    def leave() -> Response:
        entry = service.leave(session, reference, token)
        return redirect(entry_path(entry.reference, token) + "?left=1", private_headers())

    return _on_entry_page(
        request,
        session,
        reference,
        token,
        leave,
        refused=NotWaiting,
        problems={"leave": NOT_WAITING},
    )


def _on_entry_page(
    request: Request,
    session: Session,
    reference: str,
    token: str,
    act: Callable[[], Response],
    *,
    refused: type[DomainError],
    problems: Problems,
) -> Response:
    """Acts on the entry from its private page; a refusal answers with the page again."""
    try:
        return act()
    except refused as error:
        undo_refused(session, error)
        current = service.read(session, reference, token)
        return _entry_page(request, session, current, token, problems=problems, status_code=409)


def _booking_link(placed: placement.Placed) -> Response:
    """The new booking's own private page."""
    assert placed.manage_token is not None
    return just_booked(placed.reference, placed.manage_token, private_headers())


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
    return _on_found_entry(
        request,
        session,
        reference,
        grant,
        lambda entry: _booking_link(service.accept_entry(session, entry)),
        refused=(NoOffer, NotFound),
        refusal=NO_OFFER,
    )


@router.post("/my/waiting/leave")
def leave_found(
    request: Request,
    session: DbSession,
    csrf_token: Text = "",
    reference: Text = "",
    grant: Text = "",
) -> Response:
    csrf.check(request, csrf_token)
    return _on_found_entry(
        request,
        session,
        reference,
        grant,
        lambda entry: _found_page(request, session, service.leave_entry(session, entry)),
        refused=(NotWaiting,),
        refusal=NOT_WAITING,
    )


def _on_found_entry(
    request: Request,
    session: Session,
    reference: str,
    grant: str,
    act: Callable[[WaitingEntry], Response],
    *,
    refused: tuple[type[DomainError], ...],
    refusal: Msg,
) -> Response:
    """Acts on an entry found in "my bookings", if this browser has just proven it is the
    visitor's; a refusal answers with why."""
    entry = _proven(request, session, reference, grant)
    if entry is None:
        return _found_page(request, session, None, {"form": GRANT_EXPIRED}, status_code=403)
    try:
        return act(entry)
    except refused as error:
        undo_refused(session, error)
        return _found_page(request, session, None, {"form": refusal}, status_code=409)


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

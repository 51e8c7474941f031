"""The waiting list's API: join a sold-out day, read the entry, confirm an offer, leave;
and each day's list for admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from reservations.auth.bearer import AdminUser
from reservations.booking.router import (
    BookingToken,
    IdempotencyKey,
    created_response,
    creates,
    once_for,
)
from reservations.booking.schemas import BookingOut
from reservations.http import DbSession, Language, view_response
from reservations.waitlist import service
from reservations.waitlist.schemas import AdminDayOut, WaitingEntryOut, WaitingListRequest

router = APIRouter(tags=["waiting list"])
admin = APIRouter(prefix="/admin/waiting-list", tags=["admin: waiting list"])

# Scheme, host and port: where the offer's link sends the visitor back to.
_LINK_BASE_MAX = 200


def link_base(request: Request) -> str | None:
    """The site's address as the visitor reached it (through a trusted proxy's scheme)."""
    base = str(request.base_url).rstrip("/")
    return base if len(base) <= _LINK_BASE_MAX else None


@creates(router, "/waiting-list", WaitingEntryOut)
def join(
    body: WaitingListRequest,
    request: Request,
    session: DbSession,
    language: Language,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Join a sold-out day's waiting list (``slot_id`` null or left out: any slot).

    The same checks as a booking; ``409 places_available`` while the day (or the slot) can
    be booked. The answer says the position in line and how an offer will be told, and
    carries the entry's ``manage_token`` (shown once)."""
    once = once_for(service.JOIN_SCOPE, idempotency_key, body)
    return created_response(
        service.join(session, body, language, link_base=link_base(request), once=once)
    )


@router.get("/waiting-list/{reference}", response_model=WaitingEntryOut)
def read(reference: str, session: DbSession, token: BookingToken = None) -> Any:
    """The entry: ``waiting`` (with its position), ``offered`` (with ``offer.expires_at``),
    ``booked`` (with the booking), ``expired`` or ``left``."""
    return view_response(service.read(session, reference, token))


@router.post("/waiting-list/{reference}/accept", status_code=201, response_model=BookingOut)
def accept(reference: str, session: DbSession, token: BookingToken = None) -> Any:
    """Confirm the offer: the booking with its tickets (shape of ``POST /bookings``), while
    the offer stands; otherwise ``409 no_offer``. Sent again after it succeeded, the same
    answer comes back."""
    return created_response(service.accept(session, reference, token))


@router.post("/waiting-list/{reference}/leave", response_model=WaitingEntryOut)
def leave(reference: str, session: DbSession, token: BookingToken = None) -> Any:
    """Leave the list (``left``); a standing offer's places go to the next person."""
    return view_response(service.leave(session, reference, token))


@admin.get("", response_model=AdminDayOut)
def day_list(session: DbSession, _: AdminUser, day: Annotated[date, Query(alias="date")]) -> Any:
    """A day's waiting list in the order of joining (masked), with offers and outcomes."""
    return view_response(service.day_list(session, day))


router.include_router(admin)

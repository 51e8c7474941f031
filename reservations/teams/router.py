"""The team channel's API: leaders request visits, admins review them."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from reservations.auth.bearer import AdminUser
from reservations.booking.models import BookingStatus
from reservations.booking.router import IdempotencyKey, created_response, creates, once_for
from reservations.booking.schemas import BookingOut
from reservations.http import DbSession, Language
from reservations.teams import service
from reservations.teams.schemas import (
    RejectRequest,
    TeamBookingRequest,
    TeamRequestList,
)

router = APIRouter(tags=["teams"])
admin = APIRouter(prefix="/admin/team-bookings", tags=["admin: team bookings"])


@creates(router, "/team-bookings", BookingOut)
def create_team_booking(
    body: TeamBookingRequest,
    session: DbSession,
    language: Language,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    once = once_for("team-booking", idempotency_key, body)
    return created_response(service.create(session, body, language, once))


@admin.get("", response_model=TeamRequestList)
def list_team_bookings(
    session: DbSession,
    _: AdminUser,
    status: BookingStatus | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TeamRequestList:
    return TeamRequestList(
        bookings=service.requests(session, status=status, start=start, end=end, limit=limit)
    )


@admin.post("/{reference}/approve", response_model=BookingOut)
def approve(reference: str, session: DbSession, principal: AdminUser) -> BookingOut:
    return service.approve(session, reference, principal.username)


@admin.post("/{reference}/reject", response_model=BookingOut)
def reject(
    reference: str, body: RejectRequest, session: DbSession, principal: AdminUser
) -> BookingOut:
    return service.reject(session, reference, principal.username, body.reason)


router.include_router(admin)

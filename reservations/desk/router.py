"""``/api/v1/desk``: booking at the desk or on the phone, and a visitor's document's bookings
and ban (staff; lifting a ban: admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from reservations.auth.bearer import AdminUser, StaffUser
from reservations.booking.router import IdempotencyKey, created_response, once_for
from reservations.desk import service
from reservations.desk.schemas import (
    CancelRequest,
    DeskBookingOut,
    DeskBookingRequest,
    DeskBookingView,
    IdentityOut,
    IdentityRequest,
    LiftBanRequest,
)
from reservations.http import DbSession, Language, view_response

router = APIRouter(prefix="/desk", tags=["staff: the desk"])


@router.post(
    "/bookings",
    status_code=201,
    response_model=DeskBookingOut,
    summary="Book for a visitor: today from the walk-in places, a later day as online",
)
def create_desk_booking(
    body: DeskBookingRequest,
    session: DbSession,
    staff: StaffUser,
    language: Language,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """``consent: true`` records that the staff member read the privacy notice to the
    visitor and the visitor agreed; it is audited with the staff user."""
    once = once_for("desk", idempotency_key, body)
    return created_response(service.book(session, body, staff.username, language, once))


@router.post(
    "/identity",
    response_model=IdentityOut,
    summary="The bookings held under a document, and its ban and strikes",
)
def identity(body: IdentityRequest, session: DbSession, _: StaffUser) -> Any:
    return view_response(service.identity(session, body))


@router.post(
    "/bookings/{reference}/cancel",
    response_model=DeskBookingView,
    summary="Cancel a booking at the desk (the visitor did not make it); audited",
)
def cancel_desk_booking(
    reference: str,
    session: DbSession,
    staff: StaffUser,
    body: Annotated[CancelRequest | None, Body()] = None,
) -> Any:
    reason = body.reason if body is not None else None
    return view_response(service.cancel(session, reference, staff.username, reason))


@router.post(
    "/identity/lift-ban",
    response_model=IdentityOut,
    summary="Lift a document's ban; the strikes that led to it no longer count; audited",
)
def lift_ban(body: LiftBanRequest, session: DbSession, admin: AdminUser) -> Any:
    return view_response(service.lift_ban(session, body, admin.username))
